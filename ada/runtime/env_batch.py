"""A batch of environments stepped together, with automatic reset.

Actors act on B envs at once so the network runs one batched forward per step. `EnvBatch` is
the protocol an actor needs; `SerialEnvBatch` wraps any list of `dm_env.Environment`s (the 3D
world), and cheap families provide their own vectorised batch (`worlds.bandit_vec`).

Auto-reset convention: `step(actions)` returns the reward and discount of the transition and the
*next* observation to act on. When an episode ends, the reward and discount (0 at termination)
are those of its last transition, and the observation is already the first one of the next
episode, marked `first=True`. The final observation of the ended episode is not acted on, so it
is not returned (V-trace does not bootstrap through a termination).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import dm_env
import numpy as np
from dm_env import specs


@dataclass
class BatchStep:
    obs: dict[str, np.ndarray]  # (B, ...) observations to act on next
    reward: np.ndarray  # (B,) float32
    discount: np.ndarray  # (B,) float32, 0 where the episode terminated
    first: np.ndarray  # (B,) bool, True where obs starts a new episode
    episodes: list[dict[str, Any]] = field(default_factory=list)  # stats of ended episodes


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

    def _episode_stats(self, i: int, env: dm_env.Environment) -> dict[str, Any]:
        stats: dict[str, Any] = {"return": float(self._returns[i]),
                                 "length": int(self._lengths[i]), "env": i}
        trial_returns = getattr(env, "trial_returns", None)
        if trial_returns is not None:
            stats["trial_returns"] = [float(r) for r in trial_returns]
        physics_warnings = getattr(env, "physics_warnings", None)
        if physics_warnings is not None:
            stats["physics_warnings"] = int(physics_warnings)
        task = getattr(env, "task", None)
        if task is not None and hasattr(task, "task_id"):
            stats["task_id"] = task.task_id
            stats["max_return"] = float(task.episode.trials * task.episode.trial_steps)
        return stats

    def current_task_ids(self) -> list[str]:
        """The task each env is playing now (envs that expose a `task`)."""
        return [env.task.task_id for env in self.envs]  # type: ignore[attr-defined]

    def close(self) -> None:
        for env in self.envs:
            close = getattr(env, "close", None)
            if close is not None:
                close()


__all__ = ["BatchStep", "EnvBatch", "SerialEnvBatch", "stack_obs"]
