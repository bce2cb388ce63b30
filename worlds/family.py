"""Task families: the knobs of the task generator, validated, loadable from Hydra/YAML configs.

A family is a distribution over tasks (arena size, terrain roughness, goal and rule-chain
complexity, distractors, hidden rules, physics, episode shape). It is a frozen dataclass so it
can be hashed, logged and compared; every field is checked at construction and errors name the
field and its allowed values, because a typo in a config must fail at start-up, not as a silent
drift of the training distribution hours later.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ada.paths import config_dir
from ada.validation import (
    ConfigError,
    boolean,
    fail,
    integer,
    integer_pair,
    number,
    number_pair,
    show,
    text,
)
from worlds.task import (
    DYNAMICS_RANGES,
    EPISODE_FIELDS,
    MAX_ARENA_TILES,
    MAX_CONJUNCTS,
    MAX_DISJUNCTS,
    MAX_LEVEL,
    MAX_OBJECTS_PER_SHAPE,
    MAX_RULES,
    MIN_ARENA_TILES,
    PREDICATES,
    SHAPES,
    EpisodeSpec,
    integral,
)

# configs/world/ in a checkout, the package ada.configs inside an installed distribution
FAMILY_DIR = config_dir() / "world"
MAX_INITIAL_OBJECTS = len(SHAPES) * MAX_OBJECTS_PER_SHAPE
# Metres. Objects (and the avatar) on neighbouring tiles then start >= TILE_SIZE - 2 * 0.2 =
# 1.1 m apart, beyond worlds.predicates.NEAR_DISTANCE (1.0 m): no pair starts near by accident.
MAX_JITTER = 0.2


# [min, max] bounds of every range-of-integers knob
_INT_PAIRS: dict[str, tuple[int, int]] = {
    "arena_tiles": (MIN_ARENA_TILES, MAX_ARENA_TILES),
    "n_plateaus": (0, 16),
    "plateau_tiles": (1, MAX_ARENA_TILES),
    "n_walls": (0, MAX_ARENA_TILES**2),
    "n_extra_ramps": (0, 16),
    "n_objects": (1, MAX_INITIAL_OBJECTS),
    "rule_depth": (0, MAX_RULES),
    "n_distractor_rules": (0, MAX_RULES),
    "goal_disjuncts": (1, MAX_DISJUNCTS),
    "goal_conjuncts": (1, MAX_CONJUNCTS),
}


def _predicates(name: str, value: Any, allow_empty: bool) -> None:
    """Distinct predicates from PREDICATES (YAML's bare `on` is True, which is none of them)."""
    ok = isinstance(value, tuple) and all(p in PREDICATES for p in value)
    if not ok or len(set(value)) != len(value) or (not value and not allow_empty):
        fail(f"FamilyConfig.{name}", value, f"{'' if allow_empty else 'non-empty '}lists of "
             f"distinct predicates from {list(PREDICATES)}")


@dataclass(frozen=True)
class DynamicsRanges:
    """A [lo, hi] range per `Dynamics` field; each task draws uniformly within it."""

    gravity_scale: tuple[float, float] = (1.0, 1.0)
    friction: tuple[float, float] = (1.0, 1.0)
    object_mass: tuple[float, float] = (1.0, 1.0)
    avatar_speed: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        for name, (lo, hi) in DYNAMICS_RANGES.items():
            value = getattr(self, name)
            number_pair(f"FamilyConfig.dynamics.{name}", value, lo, hi)
            object.__setattr__(self, name, tuple(value))  # a list would make it unhashable


@dataclass(frozen=True)
class FamilyConfig:
    """The knobs of one task family (AdA appendix A.2 / XLand-MiniGrid style)."""

    name: str = "custom"
    # ---- arena and terrain
    arena_tiles: tuple[int, int] = (4, 6)       # side length of the square arena, in tiles
    max_level: int = 0                          # highest plateau level (0 = flat)
    n_plateaus: tuple[int, int] = (0, 0)        # raised rectangles stamped onto the grid
    plateau_tiles: tuple[int, int] = (1, 3)     # side length range of one plateau rectangle
    n_walls: tuple[int, int] = (0, 0)           # impassable wall tiles (before repairs)
    n_extra_ramps: tuple[int, int] = (0, 0)     # ramps beyond those connectivity needs
    # ---- objects
    n_objects: tuple[int, int] = (1, 3)         # initial objects: chain inputs + distractors
    position_jitter: float = 0.15               # metres around the tile centre
    # ---- game
    rule_depth: tuple[int, int] = (0, 1)        # length of the longest production chain
    n_distractor_rules: tuple[int, int] = (0, 0)
    dead_end_prob: float = 0.0                  # chance a distractor rule is a dead end
    hidden_prob: float = 0.0                    # chance any rule is hidden from the agent
    goal_disjuncts: tuple[int, int] = (1, 1)
    goal_conjuncts: tuple[int, int] = (1, 1)
    negation_prob: float = 0.0                  # chance a (non-first) goal literal is negated
    goal_predicates: tuple[str, ...] = ("hold", "near")
    near_agent_prob: float = 0.5                # chance a near() goal literal is near(agent, o)
    lookalike_distractors: bool = False         # distractors share the chain input's shape
    rule_predicates: tuple[str, ...] = ("hold", "near")
    rule_pair_conditions: bool = True           # rule conditions may relate two objects
    # ---- physics and episode
    dynamics: DynamicsRanges = field(default_factory=DynamicsRanges)
    episode: EpisodeSpec = field(default_factory=EpisodeSpec)

    def __post_init__(self) -> None:
        # the task schema's rule for integers: an integral float (2.0) is the int 2
        if isinstance(self.max_level, float) and integral(self.max_level) is not None:
            object.__setattr__(self, "max_level", integral(self.max_level))
        for name in _INT_PAIRS:
            value = getattr(self, name)
            if isinstance(value, tuple):
                object.__setattr__(self, name, tuple(
                    integral(v) if isinstance(v, float) and integral(v) is not None else v
                    for v in value))
        text("FamilyConfig.name", self.name)
        integer("FamilyConfig.max_level", self.max_level, 0, MAX_LEVEL)
        for name, (lo, hi) in _INT_PAIRS.items():
            object.__setattr__(self, name, integer_pair(f"FamilyConfig.{name}",
                                                        getattr(self, name), lo, hi))
        if self.n_plateaus[1] > 0 and self.max_level == 0:
            raise ConfigError(f"FamilyConfig.n_plateaus: {self.n_plateaus!r} needs max_level "
                              ">= 1; allowed with max_level 0: [0, 0]")
        free = self.arena_tiles[0] ** 2 - self.n_walls[1]
        if self.n_objects[1] + 1 > free:
            raise ConfigError(f"FamilyConfig.n_objects: {self.n_objects!r} does not fit: the "
                              f"smallest arena has only {free} non-wall tiles for the objects "
                              f"and the avatar; allowed max: {free - 1}")
        number("FamilyConfig.position_jitter", self.position_jitter, 0.0, MAX_JITTER)
        for name in ("dead_end_prob", "hidden_prob", "negation_prob", "near_agent_prob"):
            number(f"FamilyConfig.{name}", getattr(self, name), 0.0, 1.0)
        _predicates("goal_predicates", self.goal_predicates, allow_empty=False)
        needs_rules = self.rule_depth[1] > 0 or self.n_distractor_rules[1] > 0
        _predicates("rule_predicates", self.rule_predicates, allow_empty=not needs_rules)
        if self.goal_predicates == ("on",) and self.n_objects[0] < 2:
            raise ConfigError(f"FamilyConfig.n_objects: {self.n_objects!r}: goals made only of "
                              "on() need at least 2 objects; allowed min >= 2")
        for name in ("lookalike_distractors", "rule_pair_conditions"):
            boolean(f"FamilyConfig.{name}", getattr(self, name))
        if self.lookalike_distractors and self.n_objects[1] > MAX_OBJECTS_PER_SHAPE:
            raise ConfigError(f"FamilyConfig.n_objects: {self.n_objects!r} does not fit "
                              f"lookalike_distractors: one shape has {MAX_OBJECTS_PER_SHAPE} "
                              f"slots; allowed max: {MAX_OBJECTS_PER_SHAPE}")
        if not isinstance(self.dynamics, DynamicsRanges):
            fail("FamilyConfig.dynamics", self.dynamics, "DynamicsRanges")
        if not isinstance(self.episode, EpisodeSpec):
            fail("FamilyConfig.episode", self.episode, "EpisodeSpecs")

    # ---- conversion ---------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, d: Any) -> FamilyConfig:
        """Builds a family from a plain mapping (YAML, or a Hydra DictConfig, converted here).

        Lists become tuples; unknown keys are errors naming the key and the allowed keys, since
        a misspelt knob would otherwise silently keep its default."""
        from omegaconf import DictConfig, OmegaConf

        if isinstance(d, DictConfig):  # a Mapping too, but holding ListConfigs: convert first
            d = OmegaConf.to_container(d, resolve=True)
        if not isinstance(d, Mapping):
            raise ConfigError(f"FamilyConfig: expected a mapping of fields, got {show(d)}")
        allowed = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(allowed))
        if unknown:
            raise ConfigError(f"FamilyConfig: unknown key(s) {unknown}; allowed keys are "
                              f"{allowed}")
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            if key == "dynamics":
                kwargs[key] = _dynamics_from(value)
            elif key == "episode":
                kwargs[key] = _episode_from(value)
            else:
                kwargs[key] = _tupled(value)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain (JSON/YAML-ready) form; `from_mapping(to_dict())` gives back an equal config."""
        return _listed(dataclasses.asdict(self))


def _tupled(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_tupled(v) for v in value)
    return value


def _listed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listed(v) for v in value]
    return value


def _dynamics_from(value: Any) -> DynamicsRanges:
    if isinstance(value, DynamicsRanges):
        return value
    allowed = list(DYNAMICS_RANGES)
    if not isinstance(value, Mapping) or set(value) - set(allowed):
        fail("FamilyConfig.dynamics", value, f"mappings with keys from {allowed} to [lo, hi] "
             "pairs")
    return DynamicsRanges(**{k: _tupled(v) for k, v in value.items()})


def _episode_from(value: Any) -> EpisodeSpec:
    if isinstance(value, EpisodeSpec):
        return value
    allowed = list(EPISODE_FIELDS)
    if not isinstance(value, Mapping) or set(value) - set(allowed):
        fail("FamilyConfig.episode", value, f"mappings with keys from {allowed}")
    try:
        return EpisodeSpec(**value)
    except ConfigError as e:
        raise ConfigError(f"FamilyConfig.episode.{e}") from None


def family_names() -> list[str]:
    """The families shipped under configs/world/."""
    return sorted(p.stem for p in FAMILY_DIR.glob("*.yaml"))


def load_family(name_or_path: str | Path) -> FamilyConfig:
    """Reads configs/world/<name>.yaml, or a YAML file given by path."""
    from omegaconf import OmegaConf

    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = FAMILY_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise ConfigError(f"family {str(name_or_path)!r}: no file {path}; known families are "
                          f"{family_names()}")
    return FamilyConfig.from_mapping(OmegaConf.to_container(OmegaConf.load(path), resolve=True))
