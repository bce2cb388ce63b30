"""Curriculum configs (Hydra group `curriculum/`), validated with field names in every error.

Defaults follow the literature: PLR (Jiang et al. 2021) rank prioritisation with temperature
0.3, staleness coefficient 0.3, replay probability 0.5, a buffer of 4000 tasks that must be half
full before replay starts; AdA's no-op filter thresholds are expressed on the normalised score
(return / maximum return, for the world: the fraction of steps the goal held):

- `noop_max_score` 0.2: a task where doing nothing already scores more is trivial (rejected
  before the agent spends a frame on it);
- `min_margin` 0.05: the agent must beat the no-op policy by this much on its evaluation
  episode (rejects impossible tasks and tasks the agent cannot yet tell from doing nothing);
- `agent_max_score` 0.9: a task the agent already nearly maximises teaches nothing.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from curriculum.plr import PRIORITIZATIONS
from curriculum.scoring import SCORERS

KINDS = ("uniform", "noop", "plr", "noop_plr")


def _unit(name: str, value: Any, open_low: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (0.0 < value <= 1.0 if open_low else 0.0 <= value <= 1.0):
        interval = "(0, 1]" if open_low else "[0, 1]"
        raise ValueError(f"{name}: {value!r} is not allowed; allowed are numbers in {interval}")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: {value!r} is not allowed; allowed are integers >= 1")


@dataclass(frozen=True)
class NoopFilterConfig:
    """AdA's admission gate (see module docstring for the meaning of each threshold)."""

    noop_max_score: float = 0.2
    min_margin: float = 0.05
    agent_max_score: float = 0.9
    max_candidates: int = 200  # fresh draws per sample() before giving up with an error

    def __post_init__(self) -> None:
        for name in ("noop_max_score", "min_margin", "agent_max_score"):
            _unit(name, getattr(self, name))
        _positive_int("max_candidates", self.max_candidates)


@dataclass(frozen=True)
class PLRConfig:
    """The replay buffer. `prioritization` uniform with `staleness_coef` 0 replays admitted
    tasks uniformly (the `noop` curriculum); `no_grad_new` is robust PLR's evaluation-only
    first episode on a new task."""

    scorer: str = "positive_value_loss"
    prioritization: str = "rank"
    temperature: float = 0.3
    staleness_coef: float = 0.3
    replay_prob: float = 0.5
    capacity: int = 4000
    min_fill: float = 0.5
    no_grad_new: bool = False
    gamma: float = 0.99
    gae_lambda: float = 0.95

    def __post_init__(self) -> None:
        if self.scorer not in SCORERS:
            raise ValueError(f"scorer: {self.scorer!r} is not allowed; allowed are "
                             f"{list(SCORERS)}")
        if self.prioritization not in PRIORITIZATIONS:
            raise ValueError(f"prioritization: {self.prioritization!r} is not allowed; allowed "
                             f"are {list(PRIORITIZATIONS)}")
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) \
                or t <= 0:
            raise ValueError(f"temperature: {t!r} is not allowed; allowed are numbers > 0")
        for name in ("staleness_coef", "replay_prob", "min_fill", "gamma", "gae_lambda"):
            _unit(name, getattr(self, name))
        _positive_int("capacity", self.capacity)
        if not isinstance(self.no_grad_new, bool):
            raise ValueError(f"no_grad_new: {self.no_grad_new!r} is not allowed; allowed are "
                             "true or false")


@dataclass(frozen=True)
class CurriculumConfig:
    """`kind` picks the curriculum; `plr` configures the buffer of plr/noop/noop_plr and `noop`
    the gate of noop/noop_plr."""

    kind: str = "uniform"
    plr: PLRConfig = field(default_factory=PLRConfig)
    noop: NoopFilterConfig = field(default_factory=NoopFilterConfig)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: {self.kind!r} is not allowed; allowed are {list(KINDS)}")

    @staticmethod
    def from_dict(values: dict[str, Any] | None) -> CurriculumConfig:
        """Nested dict -> config; unknown keys are errors naming `section.key`."""
        values = dict(values or {})
        allowed = {f.name for f in dataclasses.fields(CurriculumConfig)}
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; allowed are {sorted(allowed)}")
        parts: dict[str, Any] = {}
        for name, cls in (("plr", PLRConfig), ("noop", NoopFilterConfig)):
            sub = dict(values.pop(name, None) or {})
            names = {f.name for f in dataclasses.fields(cls)}
            bad = sorted(set(sub) - names)
            if bad:
                raise ValueError(f"{name}: unknown field(s) {bad}; allowed are {sorted(names)}")
            try:
                parts[name] = cls(**sub)
            except ValueError as err:
                raise ValueError(f"{name}.{err}") from None
        return CurriculumConfig(**values, **parts)


__all__ = ["KINDS", "CurriculumConfig", "NoopFilterConfig", "PLRConfig"]
