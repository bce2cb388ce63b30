"""`env.kind=world`: the procedural 3D MuJoCo world, tasks from a family file.

Tasks come from `configs/world/<family>.yaml` (`worlds.family`), minus the held-out split
(salt and fraction define it); every episode plays the task the driver's curriculum chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ada.envs.registry import EnvKind, TaskSource, no_task, register_env_kind
from ada.validation import integer, number
from worlds.env_batch import EnvBatch


@dataclass(frozen=True)
class WorldEnvConfig:
    """family: a family file name; image_size: first-person camera pixels per side;
    heldout_fraction / split_salt: the held-out split, never trained on."""

    kind: str = "world"
    family: str = "tiny"
    image_size: int = 64
    heldout_fraction: float = 0.1
    split_salt: str = "ada-heldout-v1"

    def __post_init__(self) -> None:
        from worlds.family import load_family

        integer("image_size", self.image_size, lo=8)
        number("heldout_fraction", self.heldout_fraction, 0.0, 1.0, hi_open=True)
        try:
            load_family(self.family)
        except ValueError as err:
            raise ValueError(f"family: {err}") from None


def _task_space(cfg: WorldEnvConfig) -> Any:
    from curriculum.spaces import WorldTaskSpace
    from worlds.family import load_family
    from worlds.generator import TaskGenerator
    from worlds.split import Split

    split = Split(heldout_fraction=cfg.heldout_fraction, salt=cfg.split_salt)
    return WorldTaskSpace(TaskGenerator(load_family(cfg.family), split=split))


def _env_batch(cfg: WorldEnvConfig, num_envs: int, seed: int,
               task_source: TaskSource | None) -> EnvBatch:
    from worlds.env import WorldEnv
    from worlds.env_batch import SerialEnvBatch

    source = task_source or no_task
    return SerialEnvBatch([WorldEnv(task_source=source, seed=seed * 1009 + i,
                                    image_size=cfg.image_size) for i in range(num_envs)])


def _specs(cfg: WorldEnvConfig) -> tuple[Mapping[str, Any], Any]:
    from worlds.env import WorldEnv

    env = WorldEnv(task_source=no_task, image_size=cfg.image_size, render=False)
    try:
        return env.observation_spec(), env.action_spec()
    finally:
        env.close()


def _min_episode_length(cfg: WorldEnvConfig) -> int:
    from worlds.family import load_family

    episode = load_family(cfg.family).episode
    return int(episode.trials * episode.trial_steps)


WORLD = register_env_kind(EnvKind(
    name="world", config=WorldEnvConfig, task_space=_task_space, env_batch=_env_batch,
    specs=_specs, min_episode_length=_min_episode_length,
    evaluator="ada.evaluate:post_training_report"))

__all__ = ["WORLD", "WorldEnvConfig"]
