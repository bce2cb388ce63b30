"""`env.kind=bandit`: Bernoulli bandits whose episodes draw arm probabilities from a prior.

The Bayes-optimality check's env (`python -m ada.bayes_check`). There are no tasks to choose:
every episode samples its arms from the family's prior, so only the uniform curriculum fits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ada.envs.registry import NO_TASKS, EnvKind, TaskSource, register_env_kind, specs_of_batch
from ada.validation import ConfigError, fail, integer, is_number
from worlds.env_batch import EnvBatch


@dataclass(frozen=True)
class BanditEnvConfig:
    """arms: list of {beta: [a, b]} (unknown arm) or {p: x} (known arm); horizon: pulls per
    episode. known_p_start / warmup_frames: a training curriculum moving the known arms' p from
    known_p_start to their configured p over the first warmup_frames frames of each actor's
    env batch (see ada.bayes.bandit_vec); evaluation always uses the configured arms."""

    kind: str = "bandit"
    arms: tuple[Any, ...] = ({"beta": [1.0, 1.0]}, {"beta": [1.0, 1.0]})
    horizon: int = 20
    known_p_start: float | None = None
    warmup_frames: int = 0

    def __post_init__(self) -> None:
        family = self.family()  # validates arms and horizon
        if self.known_p_start is not None:
            if not family.known_arms:
                raise ConfigError(f"known_p_start: {self.known_p_start!r} is not allowed "
                                  "without a known arm ({p: x}); allowed is null")
            if not is_number(self.known_p_start) or not 0.0 <= self.known_p_start <= 1.0:
                fail("known_p_start", self.known_p_start, "null or numbers in [0, 1]")
        integer("warmup_frames", self.warmup_frames, lo=0)

    def family(self) -> Any:
        from ada.bayes.bandit import BanditFamily, BetaArm, KnownArm

        if not isinstance(self.arms, (list, tuple)) or not self.arms:
            fail("arms", self.arms, "non-empty lists of {beta: [a, b]} or {p: x}")
        arms = []
        for i, arm in enumerate(self.arms):
            arm = dict(arm) if isinstance(arm, Mapping) else arm
            if isinstance(arm, dict) and set(arm) == {"beta"} and len(arm["beta"]) == 2:
                arms.append(BetaArm(float(arm["beta"][0]), float(arm["beta"][1])))
            elif isinstance(arm, dict) and set(arm) == {"p"}:
                arms.append(KnownArm(float(arm["p"])))
            else:
                fail(f"arms[{i}]", arm, "{beta: [a, b]} or {p: x}")
        try:
            return BanditFamily(tuple(arms), self.horizon)
        except ValueError as err:
            raise ValueError(f"horizon: {err}") from None


def _env_batch(cfg: BanditEnvConfig, num_envs: int, seed: int,
               task_source: TaskSource | None) -> EnvBatch:
    from ada.bayes.bandit_vec import VectorBandit

    return VectorBandit(cfg.family(), num_envs, seed=seed, known_p_start=cfg.known_p_start,
                        warmup_frames=cfg.warmup_frames)


BANDIT = register_env_kind(EnvKind(
    name="bandit", config=BanditEnvConfig, task_space=lambda cfg: None, env_batch=_env_batch,
    specs=lambda cfg: specs_of_batch(lambda: _env_batch(cfg, 1, 0, None)),
    min_episode_length=NO_TASKS, evaluator="ada.eval.bandit:post_training_report"))

__all__ = ["BANDIT", "BanditEnvConfig"]
