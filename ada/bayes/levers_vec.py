"""Lever episodes stepped as arrays (`ada.bayes.levers`): the lever family's env batch.

Follows `ada.bayes.bandit_vec.VectorBandit` (observation spec of `BanditEnv`, auto-reset,
episode statistics, `state_dict`), but takes every episode's task from a callable, which is
where a curriculum plugs in.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
from dm_env import specs

from ada.bayes.bandit import BanditEnv, BanditFamily, KnownArm
from ada.bayes.levers import MAX_LEVERS, LeverTask
from ada.validation import integer
from worlds.env_batch import BatchStep, EpisodeRecord

TaskSource = Callable[[np.random.Generator], LeverTask]


class VectorLevers:
    """`num_envs` lever episodes stepped as arrays, each env drawing its next task from
    `task_source` when it starts an episode.

    Same observation spec, dynamics and auto-reset convention as `VectorBandit` (when an episode
    ends the returned observation is the first of the next episode and `first` marks it), but
    the task is not drawn from a fixed prior: `task_source(self.rng)` is called exactly once
    per episode start, so a curriculum decides what every episode plays. The source must return
    tasks with this batch's `n_levers` and `horizon` (the observation shape depends on them).

    `state_dict` holds everything of the batch (tasks, clocks, RNG), so a reloaded batch
    continues bit for bit given the same source; the source's own state (a curriculum's
    buffers) is its owner's to checkpoint.
    """

    def __init__(self, task_source: TaskSource, num_envs: int, n_levers: int, horizon: int,
                 seed: int | None = None) -> None:
        self.num_envs = integer("num_envs", num_envs, lo=1)
        self.n_levers = integer("VectorLevers.n_levers", n_levers, 1, MAX_LEVERS)
        self.horizon = integer("VectorLevers.horizon", horizon, 1)
        self.task_source = task_source
        self.rng = np.random.default_rng(seed)
        n = self.n_levers + 1
        # Only for the specs: BanditEnv with n known arms has exactly the spec we must match.
        self._spec_env = BanditEnv(BanditFamily(tuple(KnownArm(0.0) for _ in range(n)),
                                                self.horizon), seed=0)
        self.current_tasks: list[LeverTask | None] = [None] * self.num_envs
        self.probs = np.zeros((self.num_envs, n))
        self.t = np.zeros(self.num_envs, dtype=np.int64)
        self._prev_action = np.full(self.num_envs, -1, dtype=np.int64)
        self._prev_reward = np.zeros(self.num_envs, np.float32)
        self._returns = np.zeros(self.num_envs)
        self._started = False

    def observation_spec(self) -> dict[str, specs.BoundedArray]:
        return self._spec_env.observation_spec()

    def action_spec(self) -> specs.DiscreteArray:
        return self._spec_env.action_spec()

    def _check_task(self, task: LeverTask) -> None:
        if not isinstance(task, LeverTask):
            raise ValueError(f"task_source returned {task!r}, not a LeverTask")
        if task.n_levers != self.n_levers or task.horizon != self.horizon:
            raise ValueError(f"task {task.task_id} has n_levers={task.n_levers}, "
                             f"horizon={task.horizon}; this batch needs n_levers="
                             f"{self.n_levers}, horizon={self.horizon}")

    def _load(self, i: int, task: LeverTask) -> None:
        self._check_task(task)
        self.current_tasks[i] = task
        self.probs[i] = task.probs
        self.t[i] = 0
        self._prev_action[i] = -1
        self._prev_reward[i] = 0.0
        self._returns[i] = 0.0

    def _new_episodes(self, idx: np.ndarray) -> None:
        for i in idx:
            self._load(int(i), self.task_source(self.rng))

    def _observation(self) -> dict[str, np.ndarray]:
        n, h = self.n_levers + 1, self.horizon
        one_hot = np.zeros((self.num_envs, n), np.float32)
        has_prev = self._prev_action >= 0
        one_hot[np.flatnonzero(has_prev), self._prev_action[has_prev]] = 1.0
        trial = np.zeros((self.num_envs, 3), np.float32)
        trial[:, 1] = 1.0
        trial[:, 2] = (h - self.t) / h
        return {"prev_action": one_hot, "prev_reward": self._prev_reward[:, None].copy(),
                "trial": trial}

    def current_task_ids(self) -> list[str]:
        """The task each env is playing now (a curriculum's gradient mask needs them)."""
        return ["" if t is None else t.task_id for t in self.current_tasks]

    def reset(self) -> dict[str, np.ndarray]:
        """Starts a new episode in every env (one `task_source` call each, in env order)."""
        self._new_episodes(np.arange(self.num_envs))
        self._started = True
        return self._observation()

    def step(self, actions: np.ndarray) -> BatchStep:
        if not self._started:
            raise RuntimeError("VectorLevers.step before reset(): no tasks are loaded yet")
        actions = np.asarray(actions, dtype=np.int64)
        n = self.n_levers + 1
        if actions.shape != (self.num_envs,) or actions.min() < 0 or actions.max() >= n:
            raise ValueError(f"actions must be ({self.num_envs},) action indices in [0, {n})")
        p = self.probs[np.arange(self.num_envs), actions]
        reward = (self.rng.random(self.num_envs) < p).astype(np.float32)
        self.t += 1
        self._returns += reward
        self._prev_action[:] = actions
        self._prev_reward[:] = reward
        done = self.t >= self.horizon
        idx = np.flatnonzero(done)
        episodes = []
        for i in idx:
            task = self.current_tasks[i]
            assert task is not None
            ret = float(self._returns[i])
            episodes.append(EpisodeRecord(
                episode_return=ret, length=int(self.t[i]), env=int(i), task_id=task.task_id,
                max_return=task.max_return, trial_returns=(ret,), kind=task.kind))
        self._new_episodes(idx)
        discount = np.where(done, 0.0, 1.0).astype(np.float32)
        return BatchStep(self._observation(), reward, discount, done.copy(), episodes)

    def state_dict(self) -> dict[str, Any]:
        return {"tasks": [None if t is None else t.to_json() for t in self.current_tasks],
                "t": self.t.copy(), "prev_action": self._prev_action.copy(),
                "prev_reward": self._prev_reward.copy(), "returns": self._returns.copy(),
                "started": self._started,
                "rng": copy.deepcopy(self.rng.bit_generator.state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        tasks = state["tasks"]
        if len(tasks) != self.num_envs:
            raise ValueError(f"state has {len(tasks)} envs; this batch has {self.num_envs}")
        loaded = [None if s is None else LeverTask.from_json(s) for s in tasks]
        for i, task in enumerate(loaded):
            if task is None:
                self.current_tasks[i] = None
                self.probs[i] = 0.0
            else:
                self._load(i, task)
        self.t[:] = state["t"]
        self._prev_action[:] = state["prev_action"]
        self._prev_reward[:] = state["prev_reward"]
        self._returns[:] = state["returns"]
        self._started = bool(state["started"])
        self.rng.bit_generator.state = copy.deepcopy(state["rng"])

    def close(self) -> None:
        pass


__all__ = ["TaskSource", "VectorLevers"]
