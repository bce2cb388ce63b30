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
from dataclasses import dataclass, field
from typing import Any

from ada.validation import boolean, build, choice, integer, known_fields, number
from curriculum.plr import PRIORITIZATIONS
from curriculum.scoring import SCORERS

KINDS = ("uniform", "noop", "plr", "noop_plr")


@dataclass(frozen=True)
class NoopFilterConfig:
    """AdA's admission gate (see module docstring for the meaning of each threshold)."""

    noop_max_score: float = 0.2
    min_margin: float = 0.05
    agent_max_score: float = 0.9
    max_candidates: int = 200  # fresh draws per sample() before giving up with an error

    def __post_init__(self) -> None:
        for name in ("noop_max_score", "min_margin", "agent_max_score"):
            number(name, getattr(self, name), 0.0, 1.0)
        integer("max_candidates", self.max_candidates, lo=1)


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
        choice("scorer", self.scorer, SCORERS)
        choice("prioritization", self.prioritization, PRIORITIZATIONS)
        number("temperature", self.temperature, lo=0.0, lo_open=True)
        for name in ("staleness_coef", "replay_prob", "min_fill", "gamma", "gae_lambda"):
            number(name, getattr(self, name), 0.0, 1.0)
        integer("capacity", self.capacity, lo=1)
        boolean("no_grad_new", self.no_grad_new)


@dataclass(frozen=True)
class CurriculumConfig:
    """`kind` picks the curriculum; `plr` configures the buffer of plr/noop/noop_plr and `noop`
    the gate of noop/noop_plr."""

    kind: str = "uniform"
    plr: PLRConfig = field(default_factory=PLRConfig)
    noop: NoopFilterConfig = field(default_factory=NoopFilterConfig)

    def __post_init__(self) -> None:
        choice("kind", self.kind, KINDS)

    @staticmethod
    def from_dict(values: dict[str, Any] | None) -> CurriculumConfig:
        """Nested dict -> config; unknown keys are errors naming `section.key`."""
        values = dict(values or {})
        known_fields("curriculum", values, [f.name for f in dataclasses.fields(CurriculumConfig)])
        parts = {name: build(cls, values.pop(name, None), name)
                 for name, cls in (("plr", PLRConfig), ("noop", NoopFilterConfig))}
        return CurriculumConfig(**values, **parts)


__all__ = ["KINDS", "CurriculumConfig", "NoopFilterConfig", "PLRConfig"]
