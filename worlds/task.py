"""The task: a world, a game played in it, and the episode it is played for.

A `Task` is immutable and fully describes one point of the task space, so that it can be saved,
shared, hashed into a stable `task_id`, split into train/held-out sets by that id, and rebuilt
bit-for-bit by any env worker. Every constructor validates its input and raises
`ada.validation.ConfigError` (the one error type for bad input, which the CLIs report in one
line) naming the offending field (as a dotted path, spelt as in the task file) and the allowed
values, so a malformed task file fails loudly at load time rather than as a physics glitch
later. Values quoted in errors are shortened (`ada.validation.show`), so that a 400-digit number
or a huge nested list still gives one readable line.

Integer fields (episode settings, terrain levels, wall and ramp tiles) follow one rule wherever a
task comes from (JSON, a family config, Python): an int, or a float with an integral value such
as `2.0` (what YAML and JSON writers often emit), which is stored as the int `2`; anything else
(`2.5`, `inf`, `"2"`, `true`) is rejected. Because the stored value is the int, the spelling of a
number never changes a task's canonical JSON or its `task_id`.

Geometry conventions (shared by terrain, scene, avatar and generator):
- the arena is a square of `size` x `size` tiles of `TILE_SIZE` metres; tile (row, col) covers
  x in [col, col + 1) * TILE_SIZE and y in [row, row + 1) * TILE_SIZE, so the arena spans
  [0, size * TILE_SIZE] on both axes, and row 0 is the southern edge (north = +y);
- tile levels are 0..2, each `LEVEL_HEIGHT` metres; wall tiles are impassable and tall;
- yaw is in radians, counter-clockwise from +x.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ada.validation import ConfigError, choice, fail, is_integer, is_number, show

# Vocabulary of the task space. Changing these changes task ids and token encodings.
SHAPES: tuple[str, ...] = ("cube", "sphere", "pyramid")
COLOURS: tuple[str, ...] = ("red", "green", "blue", "yellow", "purple", "cyan", "orange", "white")
PREDICATES: tuple[str, ...] = ("hold", "near", "see", "on")
DIRECTIONS: tuple[str, ...] = ("north", "east", "south", "west")
AGENT = "agent"

TILE_SIZE = 1.5
LEVEL_HEIGHT = 0.6
MAX_LEVEL = 2
MIN_ARENA_TILES = 2
MAX_ARENA_TILES = 10
MAX_OBJECTS_PER_SHAPE = 6  # pooled slots per shape in the superset scene
MAX_RULES = 8
MAX_DISJUNCTS = 2
MAX_CONJUNCTS = 3
MAX_TRIALS = 13
CONTROL_HZ_ALLOWED: tuple[int, ...] = (5, 10, 20)

DYNAMICS_RANGES: dict[str, tuple[float, float]] = {
    "gravity_scale": (0.25, 2.0),
    "friction": (0.1, 2.0),
    "object_mass": (0.1, 5.0),
    "avatar_speed": (0.25, 3.0),
}


def _outside(path: str, value: Any, lo: float, hi: float) -> ConfigError:
    """The error for a number of the right kind beyond [lo, hi]. Task-file errors say "outside
    the allowed range" here rather than "is not allowed", so that a value that is merely too
    large or too small reads differently from one of the wrong kind."""
    return ConfigError(f"{path}: {show(value)} is outside the allowed range [{lo}, {hi}]")


def _check_range(path: str, value: Any, lo: float, hi: float) -> None:
    """A finite number in [lo, hi]. Not `validation.number`: ints are compared exactly, without
    a float conversion, so a 400-digit integer is out of range (see `_outside`), not refused as
    a non-number."""
    if not is_number(value) or (not is_integer(value) and not math.isfinite(value)):
        fail(path, value, f"numbers in [{lo}, {hi}]")
    if not lo <= value <= hi:
        raise _outside(path, value, lo, hi)


def integral(value: Any) -> int | None:
    """`value` as an int if it is one or an integral float (2.0 -> 2); None otherwise. Booleans
    are not integers here, although Python's bool is an int subclass."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _as_int(path: str, value: Any, lo: int, hi: int) -> int:
    """The validated int of an integer field (see the module docstring for the rule)."""
    n = integral(value)
    if n is None:
        fail(path, value, f"integers in [{lo}, {hi}]")
    if not lo <= n <= hi:
        raise _outside(path, value, lo, hi)
    return n


def _as_int_choice(path: str, value: Any, allowed: Sequence[int]) -> int:
    """The validated int of an integer field restricted to `allowed` (10.0 counts as 10)."""
    n = integral(value)
    if n is None or n not in allowed:
        fail(path, value, str(list(allowed)))
    return n


# --------------------------------------------------------------------------------------------
# Game: object types, literals, goals, production rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ObjectType:
    """What an object is (shape x colour). Predicates and rules refer to types, not instances:
    `near(red cube, blue sphere)` holds when any red cube is near any blue sphere."""

    shape: str
    colour: str

    def __post_init__(self) -> None:
        choice("shape", self.shape, SHAPES)
        choice("colour", self.colour, COLOURS)

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


Entity = str | ObjectType  # AGENT or an object type


@dataclass(frozen=True)
class Literal:
    """`[not] predicate(a, b)`. Allowed argument kinds: hold(agent, o), see(agent, o),
    near(agent|o, o), on(o, o)."""

    predicate: str
    a: Entity
    b: ObjectType
    negated: bool = False

    def __post_init__(self) -> None:
        choice("predicate", self.predicate, PREDICATES)
        if not isinstance(self.b, ObjectType):
            raise ConfigError(f"b: {show(self.b)} must be an object type (the agent is only "
                              "allowed as a)")
        if self.predicate in ("hold", "see") and self.a != AGENT:
            raise ConfigError(f"a: {self.predicate}() takes 'agent' as first argument, got "
                              f"{show(self.a)}")
        if self.predicate == "on" and not isinstance(self.a, ObjectType):
            raise ConfigError("a: on() takes an object type as first argument, got "
                              f"{show(self.a)}")
        if self.predicate == "near" and self.a != AGENT and not isinstance(self.a, ObjectType):
            raise ConfigError(f"a: near() takes 'agent' or an object type, got {show(self.a)}")
        if self.a == self.b:
            raise ConfigError(f"b: {self.predicate}() needs two different arguments, got "
                              f"{show(self.b)} twice")
        if not isinstance(self.negated, bool):
            fail("negated", self.negated, "[False, True]")

    @property
    def objects(self) -> tuple[ObjectType, ...]:
        """The object types this literal mentions (the agent excluded)."""
        return tuple(x for x in (self.a, self.b) if isinstance(x, ObjectType))

    def __str__(self) -> str:
        a = self.a.name if isinstance(self.a, ObjectType) else AGENT
        s = f"{self.predicate}({a}, {self.b.name})"
        return f"not {s}" if self.negated else s


@dataclass(frozen=True)
class Goal:
    """A disjunction of conjunctions of literals (disjunctive normal form).

    Errors name the field `goal` (and `goal[i]` for one conjunction), as a task file spells it:
    the file holds the goal as a list of lists of literals, with no `disjuncts` key."""

    disjuncts: tuple[tuple[Literal, ...], ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.disjuncts) <= MAX_DISJUNCTS:
            raise ConfigError(f"goal: needs 1..{MAX_DISJUNCTS} alternatives (lists of "
                              f"literals), got {len(self.disjuncts)}")
        for i, conj in enumerate(self.disjuncts):
            if not 1 <= len(conj) <= MAX_CONJUNCTS:
                raise ConfigError(f"goal[{i}]: needs 1..{MAX_CONJUNCTS} literals, got "
                                  f"{len(conj)}")

    @property
    def literals(self) -> tuple[Literal, ...]:
        return tuple(lit for conj in self.disjuncts for lit in conj)

    @property
    def objects(self) -> tuple[ObjectType, ...]:
        return tuple(dict.fromkeys(o for lit in self.literals for o in lit.objects))

    def __str__(self) -> str:
        return " or ".join("(" + " and ".join(map(str, c)) + ")" for c in self.disjuncts)


@dataclass(frozen=True)
class Rule:
    """A production rule: when `condition` holds, the objects it mentions are consumed and, if
    `product` is set, one `product` object appears where the (last mentioned) consumed object
    was. Hidden rules are masked in the agent's observation and must be found by experiment."""

    condition: Literal
    product: ObjectType | None
    hidden: bool = False

    def __post_init__(self) -> None:
        if self.condition.negated:
            raise ConfigError("condition.negated: rule conditions must be positive: allowed "
                              "[False]")
        if not isinstance(self.hidden, bool):
            fail("hidden", self.hidden, "[False, True]")

    @property
    def consumed(self) -> tuple[ObjectType, ...]:
        return self.condition.objects

    def __str__(self) -> str:
        out = self.product.name if self.product else "nothing"
        return f"{'[hidden] ' if self.hidden else ''}{self.condition} -> {out}"


@dataclass(frozen=True)
class Game:
    goal: Goal
    rules: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        if len(self.rules) > MAX_RULES:
            raise ConfigError(f"rules: at most {MAX_RULES} rules are allowed, got "
                              f"{len(self.rules)}")


# --------------------------------------------------------------------------------------------
# World: terrain, objects, avatar, dynamics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ramp:
    """Tile (row, col) slopes from its own level up to level + 1 towards `direction`. The
    terrain checks (and stores as ints) `row` and `col`, since only it knows the arena size."""

    row: int
    col: int
    direction: str

    def __post_init__(self) -> None:
        choice("direction", self.direction, DIRECTIONS)


DIRECTION_OFFSETS: dict[str, tuple[int, int]] = {
    "north": (1, 0),
    "south": (-1, 0),
    "east": (0, 1),
    "west": (0, -1),
}


@dataclass(frozen=True)
class Terrain:
    """A square tile grid: `levels[row][col]` in 0..MAX_LEVEL, ramps and impassable walls."""

    levels: tuple[tuple[int, ...], ...]
    ramps: tuple[Ramp, ...] = ()
    walls: tuple[tuple[int, int], ...] = ()

    @property
    def size(self) -> int:
        return len(self.levels)

    @staticmethod
    def flat(size: int) -> Terrain:
        return Terrain(levels=tuple(tuple(0 for _ in range(size)) for _ in range(size)))

    def __post_init__(self) -> None:
        n = len(self.levels)
        if not MIN_ARENA_TILES <= n <= MAX_ARENA_TILES:
            raise ConfigError(f"levels: {n} rows: the arena must be "
                              f"{MIN_ARENA_TILES}..{MAX_ARENA_TILES} tiles a side")
        for r, row in enumerate(self.levels):
            if len(row) != n:
                raise ConfigError(f"levels[{r}]: the grid must be square: {len(row)} columns, "
                                  f"need {n}")
        # Integer fields are stored as ints (2.0 -> 2), so the canonical JSON and the task id
        # do not depend on how a file spelt them.
        object.__setattr__(self, "levels", tuple(
            tuple(_as_int(f"levels[{r}][{c}]", v, 0, MAX_LEVEL) for c, v in enumerate(row))
            for r, row in enumerate(self.levels)))
        object.__setattr__(self, "walls", tuple(
            (_as_int(f"walls[{i}][0]", r, 0, n - 1), _as_int(f"walls[{i}][1]", c, 0, n - 1))
            for i, (r, c) in enumerate(self.walls)))
        object.__setattr__(self, "ramps", tuple(
            Ramp(_as_int(f"ramps[{i}].row", ramp.row, 0, n - 1),
                 _as_int(f"ramps[{i}].col", ramp.col, 0, n - 1), ramp.direction)
            for i, ramp in enumerate(self.ramps)))
        wall_set = set(self.walls)
        for i, ramp in enumerate(self.ramps):
            p = f"ramps[{i}]"
            dr, dc = DIRECTION_OFFSETS[ramp.direction]
            r2, c2 = ramp.row + dr, ramp.col + dc
            if not (0 <= r2 < n and 0 <= c2 < n):
                raise ConfigError(f"{p}.direction: {show(ramp.direction)} leads out of the "
                                  "arena")
            if (ramp.row, ramp.col) in wall_set or (r2, c2) in wall_set:
                raise ConfigError(f"{p}: a ramp cannot be on or lead onto a wall tile")
            if self.levels[r2][c2] != self.levels[ramp.row][ramp.col] + 1:
                raise ConfigError(f"{p}.direction: the tile it leads to must be exactly one "
                                  "level higher")

    def is_wall(self, row: int, col: int) -> bool:
        return (row, col) in set(self.walls)

    def tile_of(self, x: float, y: float) -> tuple[int, int]:
        """The (row, col) tile containing world point (x, y); the far edge belongs to the last
        tile, so points on the arena's boundary are inside it."""
        n = self.size
        return min(int(y // TILE_SIZE), n - 1), min(int(x // TILE_SIZE), n - 1)


@dataclass(frozen=True)
class ObjectSpec:
    """An object instance at the start of every trial, placed on the terrain at (x, y)."""

    type: ObjectType
    x: float
    y: float
    yaw: float = 0.0


@dataclass(frozen=True)
class AvatarSpec:
    x: float
    y: float
    yaw: float = 0.0


@dataclass(frozen=True)
class Dynamics:
    """Per-task physics, sampled so that agents must adapt their motor behaviour too."""

    gravity_scale: float = 1.0
    friction: float = 1.0
    object_mass: float = 1.0
    avatar_speed: float = 1.0

    def __post_init__(self) -> None:
        for name, (lo, hi) in DYNAMICS_RANGES.items():
            _check_range(name, getattr(self, name), lo, hi)


@dataclass(frozen=True)
class World:
    terrain: Terrain
    objects: tuple[ObjectSpec, ...]
    avatar: AvatarSpec
    dynamics: Dynamics = field(default_factory=Dynamics)

    @property
    def size(self) -> int:
        return self.terrain.size

    def __post_init__(self) -> None:
        extent = self.terrain.size * TILE_SIZE
        counts: dict[str, int] = {}
        for i, o in enumerate(self.objects):
            for axis in ("x", "y"):
                _check_range(f"objects[{i}].{axis}", getattr(o, axis), 0.0, extent)
            _check_range(f"objects[{i}].yaw", o.yaw, -2 * math.pi, 2 * math.pi)
            self._check_not_in_wall(f"objects[{i}]", o.x, o.y)
            counts[o.type.shape] = counts.get(o.type.shape, 0) + 1
        for shape, n in counts.items():
            if n > MAX_OBJECTS_PER_SHAPE:
                raise ConfigError(f"objects: {n} objects of shape {show(shape)}: at most "
                                  f"{MAX_OBJECTS_PER_SHAPE} per shape are allowed")
        _check_range("avatar.x", self.avatar.x, 0.0, extent)
        _check_range("avatar.y", self.avatar.y, 0.0, extent)
        _check_range("avatar.yaw", self.avatar.yaw, -2 * math.pi, 2 * math.pi)
        self._check_not_in_wall("avatar", self.avatar.x, self.avatar.y)

    def _check_not_in_wall(self, path: str, x: float, y: float) -> None:
        r, c = self.terrain.tile_of(x, y)
        if self.terrain.is_wall(r, c):
            raise ConfigError(f"{path}: ({x}, {y}) lies inside wall tile ({r}, {c})")


# --------------------------------------------------------------------------------------------
# Episode and Task
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeSpec:
    """k trials of `trial_steps` control steps each, at `control_hz` control steps per second.

    `sticky_grab`: a picked-up object cannot be put down again until the trial ends. It makes a
    wrong pick cost the rest of the trial, so that remembering which object was right (the
    adaptation test of configs/world/lookalike.yaml) is worth most of the score. Serialised only
    when true, so the ids of every task written before it existed stay the same."""

    trials: int = 1
    trial_steps: int = 100
    control_hz: int = 10
    sticky_grab: bool = False

    def __post_init__(self) -> None:
        # Stored as ints whatever the spelling (2.0 -> 2): see the module docstring.
        object.__setattr__(self, "trials", _as_int("trials", self.trials, 1, MAX_TRIALS))
        object.__setattr__(self, "trial_steps",
                           _as_int("trial_steps", self.trial_steps, 1, 100_000))
        object.__setattr__(self, "control_hz",
                           _as_int_choice("control_hz", self.control_hz, CONTROL_HZ_ALLOWED))
        if not isinstance(self.sticky_grab, bool):
            fail("sticky_grab", self.sticky_grab, "[False, True]")


# Every field a task file or family config may set under `episode`, derived from the dataclass
# so that a field added to EpisodeSpec is accepted everywhere at once.
EPISODE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(EpisodeSpec))


@dataclass(frozen=True)
class Task:
    world: World
    game: Game
    episode: EpisodeSpec = field(default_factory=EpisodeSpec)
    description: str = ""  # human note; not part of the task's identity

    def __post_init__(self) -> None:
        produced = {r.product for r in self.game.rules if r.product is not None}
        known = {o.type for o in self.world.objects} | produced
        for i, conj in enumerate(self.game.goal.disjuncts):
            for j, lit in enumerate(conj):
                for o in lit.objects:
                    if o not in known:
                        raise ConfigError(f"game.goal[{i}][{j}]: {show(o.name)} is neither an "
                                          "initial object nor the product of a rule")
        for shape in SHAPES:
            initial = sum(o.type.shape == shape for o in self.world.objects)
            products = sum(r.product is not None and r.product.shape == shape
                           for r in self.game.rules)
            if initial + products > MAX_OBJECTS_PER_SHAPE:
                raise ConfigError(f"game.rules: shape {show(shape)} needs {initial + products} "
                                  f"slots (initial + products); at most {MAX_OBJECTS_PER_SHAPE} "
                                  "are allowed")

    # ---- identity and serialisation ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return task_to_dict(self)

    def to_json(self, *, indent: int | None = None) -> str:
        """Canonical JSON (sorted keys, rounded floats) unless `indent` asks for a pretty one."""
        if indent is None:
            return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent)

    @property
    def task_id(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical JSON without the description."""
        d = self.to_dict()
        d.pop("description", None)
        canon = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    @property
    def split_key(self) -> str:
        """Hash of the world and game only. Held-out splits use it rather than `task_id`, so
        that running a task with another number of trials or steps (as evaluation does) cannot
        move it across the split."""
        d = self.to_dict()
        canon = json.dumps({"world": d["world"], "game": d["game"]}, sort_keys=True,
                           separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Task:
        return task_from_dict(d)

    @staticmethod
    def from_json(text: str) -> Task:
        """Parses and validates one task. Every way the text can be bad ends in a one-line
        `ConfigError`: broken syntax, an integer longer than Python converts (its
        ValueError), nesting deep enough to exhaust the parser's recursion (RecursionError)."""
        return task_from_dict(parse_task_json(text, "task"))


# --------------------------------------------------------------------------------------------
# Dict (JSON) conversion with field-path error messages
# --------------------------------------------------------------------------------------------

_FLOAT_DIGITS = 6


def parse_task_json(text: str, where: str) -> Any:
    """`json.loads(text)`, with any failure turned into one `ConfigError` line that starts with
    `where` (a file name, "file:line" or "task")."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ConfigError(f"{where}: JSON nested too deeply to read (a task is nested at most 6 "
                          "levels)") from None
    except ValueError as e:  # JSONDecodeError, or an integer past Python's digit limit
        raise ConfigError(f"{where}: not valid JSON ({e})") from None


def _f(x: float) -> float:
    return round(float(x), _FLOAT_DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _entity_to(e: Entity) -> Any:
    return AGENT if e == AGENT else {"shape": e.shape, "colour": e.colour}


def _literal_to(lit: Literal) -> dict[str, Any]:
    return {"predicate": lit.predicate, "a": _entity_to(lit.a), "b": _entity_to(lit.b),
            "negated": lit.negated}


def task_to_dict(t: Task) -> dict[str, Any]:
    w = t.world
    return {
        "world": {
            "terrain": {
                "levels": [list(r) for r in w.terrain.levels],
                "ramps": [{"row": r.row, "col": r.col, "direction": r.direction}
                          for r in w.terrain.ramps],
                "walls": [[r, c] for r, c in w.terrain.walls],
            },
            "objects": [{"shape": o.type.shape, "colour": o.type.colour, "x": _f(o.x),
                         "y": _f(o.y), "yaw": _f(o.yaw)} for o in w.objects],
            "avatar": {"x": _f(w.avatar.x), "y": _f(w.avatar.y), "yaw": _f(w.avatar.yaw)},
            "dynamics": {k: _f(getattr(w.dynamics, k)) for k in DYNAMICS_RANGES},
        },
        "game": {
            "goal": [[_literal_to(lit) for lit in conj] for conj in t.game.goal.disjuncts],
            "rules": [{"condition": _literal_to(r.condition),
                       "product": None if r.product is None else _entity_to(r.product),
                       "hidden": r.hidden} for r in t.game.rules],
        },
        "episode": {"trials": t.episode.trials, "trial_steps": t.episode.trial_steps,
                    "control_hz": t.episode.control_hz,
                    **({"sticky_grab": True} if t.episode.sticky_grab else {})},
        "description": t.description,
    }


class _Reader:
    """Reads a JSON-like mapping, prefixing every error with the dotted path of the field."""

    def __init__(self, path: str) -> None:
        self.path = path

    def at(self, key: str | int) -> _Reader:
        sep = f"[{key}]" if isinstance(key, int) else f".{key}"
        return _Reader(f"{self.path}{sep}")

    def mapping(self, d: Any, required: Sequence[str], optional: Sequence[str] = ()) -> None:
        if not isinstance(d, Mapping):
            raise ConfigError(f"{self.path}: expected an object with fields {list(required)}, "
                              f"got {show(d)}")
        missing = [k for k in required if k not in d]
        if missing:
            raise ConfigError(f"{self.path}: missing field(s) {missing}; required fields are "
                              f"{list(required)}")
        extra = sorted(set(d) - set(required) - set(optional), key=str)
        if extra:
            raise ConfigError(f"{self.path}: unknown field(s) {extra}; allowed fields are "
                              f"{list(required) + list(optional)}")

    def seq(self, d: Any) -> Sequence[Any]:
        if not isinstance(d, (list, tuple)):
            raise ConfigError(f"{self.path}: expected a list, got {show(d)}")
        return d

    def wrap(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Calls a validating constructor and prefixes its error with this path."""
        try:
            return fn(*args, **kwargs)
        except ConfigError as e:
            raise ConfigError(f"{self.path}.{e}") from None
        except TypeError as e:
            raise ConfigError(f"{self.path}: {e}") from None


def _object_type_from(r: _Reader, d: Any) -> ObjectType:
    r.mapping(d, ("shape", "colour"))
    return r.wrap(ObjectType, d["shape"], d["colour"])


def _entity_from(r: _Reader, d: Any) -> Entity:
    return AGENT if d == AGENT else _object_type_from(r, d)


def _literal_from(r: _Reader, d: Any) -> Literal:
    r.mapping(d, ("predicate", "a", "b"), ("negated",))
    return r.wrap(Literal, d["predicate"], _entity_from(r.at("a"), d["a"]),
                  _entity_from(r.at("b"), d["b"]), d.get("negated", False))


def task_from_dict(d: Mapping[str, Any]) -> Task:
    """Builds and validates a Task from its JSON form; errors name the dotted field path."""
    r = _Reader("task")
    r.mapping(d, ("world", "game"), ("episode", "description"))
    rw, rg = r.at("world"), r.at("game")
    w, g = d["world"], d["game"]
    rw.mapping(w, ("terrain", "objects", "avatar"), ("dynamics",))
    rt = rw.at("terrain")
    t = w["terrain"]
    rt.mapping(t, ("levels",), ("ramps", "walls"))
    rl = rt.at("levels")
    levels = tuple(tuple(rl.at(i).seq(row)) for i, row in enumerate(rl.seq(t["levels"])))
    ramps = []
    for i, rd in enumerate(rt.at("ramps").seq(t.get("ramps", []))):
        rr = rt.at("ramps").at(i)
        rr.mapping(rd, ("row", "col", "direction"))
        ramps.append(rr.wrap(Ramp, rd["row"], rd["col"], rd["direction"]))
    walls = []
    for i, wd in enumerate(rt.at("walls").seq(t.get("walls", []))):
        if not (isinstance(wd, (list, tuple)) and len(wd) == 2):
            raise ConfigError(f"{rt.path}.walls[{i}]: expected [row, col], got {show(wd)}")
        walls.append((wd[0], wd[1]))
    terrain = rt.wrap(Terrain, levels, tuple(ramps), tuple(walls))
    objects = []
    for i, od in enumerate(rw.at("objects").seq(w["objects"])):
        ro = rw.at("objects").at(i)
        ro.mapping(od, ("shape", "colour", "x", "y"), ("yaw",))
        otype = ro.wrap(ObjectType, od["shape"], od["colour"])
        objects.append(ObjectSpec(otype, od["x"], od["y"], od.get("yaw", 0.0)))
    ra = rw.at("avatar")
    ra.mapping(w["avatar"], ("x", "y"), ("yaw",))
    avatar = AvatarSpec(w["avatar"]["x"], w["avatar"]["y"], w["avatar"].get("yaw", 0.0))
    rd_ = rw.at("dynamics")
    dyn_d = w.get("dynamics", {})
    rd_.mapping(dyn_d, (), tuple(DYNAMICS_RANGES))
    dynamics = rd_.wrap(Dynamics, **dyn_d)
    world = rw.wrap(World, terrain, tuple(objects), avatar, dynamics)

    rg.mapping(g, ("goal",), ("rules",))
    disjuncts = []
    for i, conj in enumerate(rg.at("goal").seq(g["goal"])):
        rc = rg.at("goal").at(i)
        disjuncts.append(tuple(_literal_from(rc.at(j), ld) for j, ld in enumerate(rc.seq(conj))))
    goal = rg.wrap(Goal, tuple(disjuncts))
    rules = []
    for i, rule_d in enumerate(rg.at("rules").seq(g.get("rules", []))):
        rr = rg.at("rules").at(i)
        rr.mapping(rule_d, ("condition", "product"), ("hidden",))
        cond = _literal_from(rr.at("condition"), rule_d["condition"])
        prod = rule_d["product"]
        product = None if prod is None else _object_type_from(rr.at("product"), prod)
        rules.append(rr.wrap(Rule, cond, product, rule_d.get("hidden", False)))
    game = rg.wrap(Game, goal, tuple(rules))

    re_ = r.at("episode")
    ep_d = d.get("episode", {})
    re_.mapping(ep_d, (), EPISODE_FIELDS)
    episode = re_.wrap(EpisodeSpec, **ep_d)
    desc = d.get("description", "")
    if not isinstance(desc, str):
        raise ConfigError(f"task.description: expected a string, got {show(desc)}")
    return r.wrap(Task, world, game, episode, desc)


def with_episode(task: Task, trials: int | None, trial_steps: int | None) -> Task:
    """`task` with its number of trials and/or steps per trial replaced (None keeps them).

    Every other episode field (control rate, sticky grabs) is kept: evaluating a task under
    different rules than it was trained under would score the wrong game."""
    if trials is None and trial_steps is None:
        return task
    ep = task.episode
    episode = dataclasses.replace(ep, trials=ep.trials if trials is None else trials,
                                  trial_steps=ep.trial_steps if trial_steps is None
                                  else trial_steps)
    return dataclasses.replace(task, episode=episode)
