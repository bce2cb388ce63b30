"""A batch of environments stepped together, with automatic reset.

Actors act on B envs at once so the network runs one batched forward per step. `EnvBatch` is
the protocol an actor needs; `SerialEnvBatch` wraps any list of `dm_env.Environment`s (the 3D
world), and cheap families provide their own vectorised batch (`ada.bayes.bandit_vec`,
`ada.bayes.levers_vec`). It lives at the bottom layer, beside the world, so that every env
kind implements the same protocol and reports finished episodes as the same typed
`EpisodeRecord`, which actors extend, Ray pickles, curricula score and logs average.

Auto-reset convention: `step(actions)` returns the reward and discount of the transition and the
*next* observation to act on. When an episode ends, the reward and discount (0 at termination)
are those of its last transition, and the observation is already the first one of the next
episode, marked `first=True`. The final observation of the ended episode is not acted on, so it
is not returned (V-trace does not bootstrap through a termination).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import dm_env
import numpy as np
from dm_env import specs


@dataclass
class EpisodeRecord:
    """One finished episode, as every env batch reports it and the actor completes it.

    The env batch fills the first group: return, length, the env's slot in the batch and,
    for task-based kinds, the task and what it allows (`max_return`, per-trial returns,
    `kind` for families that label their tasks, MuJoCo `physics_warnings` for the world).
    The actor fills the second: who acted (`actor`, `policy_version`), whether the learner
    may take gradients from it (`learn`), the per-step values and rewards a curriculum
    scores it by, and `demo_steps`, the leading steps a demonstrator played (a prompted
    episode's first trial: the agent's own play starts after them). `without_steps()` drops
    the arrays once the curriculum has seen them.
    """

    episode_return: float
    length: int
    env: int
    task_id: str | None = None
    max_return: float | None = None
    trial_returns: tuple[float, ...] = ()
    kind: str | None = None
    physics_warnings: int | None = None
    actor: int | None = None
    policy_version: int | None = None
    learn: bool = True
    values: np.ndarray | None = None
    rewards: np.ndarray | None = None
    demo_steps: int = 0

    def with_actor(self, actor: int, policy_version: int, learn: bool,
                   values: np.ndarray | None, rewards: np.ndarray | None,
                   demo_steps: int = 0) -> EpisodeRecord:
        """This record completed by the actor that played it."""
        return dataclasses.replace(self, actor=actor, policy_version=policy_version,
                                   learn=learn, values=values, rewards=rewards,
                                   demo_steps=demo_steps)

    def without_steps(self) -> EpisodeRecord:
        """This record without its per-step arrays (what the logs keep)."""
        return dataclasses.replace(self, values=None, rewards=None)


@dataclass
class BatchStep:
    obs: dict[str, np.ndarray]  # (B, ...) observations to act on next
    reward: np.ndarray  # (B,) float32
    discount: np.ndarray  # (B,) float32, 0 where the episode terminated
    first: np.ndarray  # (B,) bool, True where obs starts a new episode
    episodes: list[EpisodeRecord] = field(default_factory=list)  # ended in this step


class EnvBatch(Protocol):
    num_envs: int

    def observation_spec(self) -> Mapping[str, specs.Array]: ...

    def action_spec(self) -> specs.DiscreteArray: ...

    def reset(self) -> dict[str, np.ndarray]: ...

    def step(self, actions: np.ndarray) -> BatchStep: ...

    def close(self) -> None: ...


def stack_obs(observations: Sequence[Mapping[str, np.ndarray]],
              spec: Mapping[str, specs.Array]) -> dict[str, np.ndarray]:
    """List of per-env observation dicts -> dict of (B, ...) arrays in the spec's dtypes."""
    return {k: np.stack([np.asarray(o[k], dtype=s.dtype) for o in observations])
            for k, s in spec.items()}


class SerialEnvBatch:
    """B `dm_env` environments stepped one after another in this process.

    Episode statistics: return and length, plus `trial_returns` and `task_id` when the env
    exposes them (the 3D world does), so curricula and logs can use per-trial scores.
    """

    def __init__(self, envs: Sequence[dm_env.Environment]) -> None:
        if not envs:
            raise ValueError("SerialEnvBatch needs at least one env")
        self.envs = list(envs)
        self.num_envs = len(self.envs)
        self._spec = self.envs[0].observation_spec()
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)

    def observation_spec(self) -> Mapping[str, specs.Array]:
        return self._spec

    def action_spec(self) -> specs.DiscreteArray:
        return self.envs[0].action_spec()

    def reset(self) -> dict[str, np.ndarray]:
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return stack_obs([env.reset().observation for env in self.envs], self._spec)

    def step(self, actions: np.ndarray) -> BatchStep:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions have shape {actions.shape}, expected ({self.num_envs},)")
        observations, episodes = [], []
        reward = np.zeros(self.num_envs, np.float32)
        discount = np.ones(self.num_envs, np.float32)
        first = np.zeros(self.num_envs, bool)
        for i, env in enumerate(self.envs):
            ts = env.step(actions[i])
            reward[i] = float(ts.reward or 0.0)
            self._returns[i] += reward[i]
            self._lengths[i] += 1
            if ts.last():
                discount[i] = float(ts.discount)
                episodes.append(self._episode_stats(i, env))
                self._returns[i], self._lengths[i] = 0.0, 0
                ts = env.reset()
                first[i] = True
            observations.append(ts.observation)
        return BatchStep(stack_obs(observations, self._spec), reward, discount, first, episodes)

    def _episode_stats(self, i: int, env: dm_env.Environment) -> EpisodeRecord:
        trial_returns = getattr(env, "trial_returns", None)
        physics_warnings = getattr(env, "physics_warnings", None)
        task = getattr(env, "task", None)
        has_task = task is not None and hasattr(task, "task_id")
        return EpisodeRecord(
            episode_return=float(self._returns[i]), length=int(self._lengths[i]), env=i,
            task_id=task.task_id if has_task else None,
            max_return=float(task.episode.trials * task.episode.trial_steps) if has_task
            else None,
            trial_returns=() if trial_returns is None else tuple(float(r) for r in trial_returns),
            physics_warnings=None if physics_warnings is None else int(physics_warnings))

    def current_task_ids(self) -> list[str]:
        """The task each env is playing now (envs that expose a `task`)."""
        return [env.task.task_id for env in self.envs]  # type: ignore[attr-defined]

    def close(self) -> None:
        for env in self.envs:
            close = getattr(env, "close", None)
            if close is not None:
                close()


__all__ = ["BatchStep", "EnvBatch", "EpisodeRecord", "SerialEnvBatch", "stack_obs"]
