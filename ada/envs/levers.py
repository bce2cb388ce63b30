"""`env.kind=levers`: the lever family (`ada.bayes.levers`), built to show what a curriculum buys.

Trivial, impossible and learnable tasks mixed by `weights`, with a held-out split as for the
3D world; every episode plays the task the driver's curriculum chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ada.envs.registry import EnvKind, TaskSource, no_task, register_env_kind, specs_of_batch
from ada.validation import number
from worlds.env_batch import EnvBatch


@dataclass(frozen=True)
class LeversEnvConfig:
    """n_levers levers (plus the no-op) paying for `horizon` steps; the family's kinds mixed
    by `weights`, their probabilities drawn from the given ranges; held-out split by salt and
    fraction."""

    kind: str = "levers"
    n_levers: int = 4
    horizon: int = 20
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    good_p: tuple[float, float] = (0.7, 1.0)
    bad_p: tuple[float, float] = (0.0, 0.1)
    trivial_p: tuple[float, float] = (0.9, 1.0)
    heldout_fraction: float = 0.2
    split_salt: str = "ada-levers-v1"

    def __post_init__(self) -> None:
        for name in ("weights", "good_p", "bad_p", "trivial_p"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        number("heldout_fraction", self.heldout_fraction, 0.0, 1.0, lo_open=True, hi_open=True)
        try:
            self.family()
        except ValueError as err:
            raise ValueError(str(err).removeprefix("LeverFamily.")) from None

    def family(self) -> Any:
        from ada.bayes.levers import LeverFamily

        return LeverFamily(self.n_levers, self.horizon, self.weights, self.good_p, self.bad_p,
                           self.trivial_p)

    def split(self) -> Any:
        from worlds.split import Split

        return Split(name="levers", heldout_fraction=float(self.heldout_fraction),
                     salt=self.split_salt)


def _task_space(cfg: LeversEnvConfig) -> Any:
    from ada.bayes.levers import LeverTaskGenerator, LeverTaskSpace

    return LeverTaskSpace(LeverTaskGenerator(cfg.family(), cfg.split()))


def _env_batch(cfg: LeversEnvConfig, num_envs: int, seed: int,
               task_source: TaskSource | None) -> EnvBatch:
    from ada.bayes.levers_vec import VectorLevers

    return VectorLevers(task_source or no_task, num_envs, cfg.n_levers, cfg.horizon, seed=seed)


LEVERS = register_env_kind(EnvKind(
    name="levers", config=LeversEnvConfig, task_space=_task_space, env_batch=_env_batch,
    specs=lambda cfg: specs_of_batch(lambda: _env_batch(cfg, 1, 0, no_task)),
    min_episode_length=lambda cfg: int(cfg.horizon)))

__all__ = ["LEVERS", "LeversEnvConfig"]
