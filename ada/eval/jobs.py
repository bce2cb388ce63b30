"""Evaluation episodes as jobs: fixed (task, episode, seed) triples played in a batch of envs.

Each job is one episode with one seed that fixes both the env's and the policy's random stream,
so the agent and the baselines face identical episodes, the numbers do not depend on the batch
size or on the order policies run in, and `ada.render.render_episode(task, policy,
seed=job_seed)` replays an evaluated episode. `JobBatch` is an env batch (the protocol of
`worlds.env_batch`) over up to `batch_size` 3D worlds: an env whose episode ends takes the next
job (new task, reseeded env and policy RNG, `first=True` so the policy clears its state); an env
with no job left idles and its actions are ignored. `run_jobs` plays it with the one acting
loop, `ada.acting.Rollout`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dm_env
import numpy as np

from ada.acting import Policy, Rollout
from worlds.env import WorldEnv
from worlds.env_batch import BatchStep, stack_obs
from worlds.task import Task


@dataclass(frozen=True)
class Job:
    """One episode to play: task `task` (an index), its `episode`-th repetition, and the seed
    of both the env and the policy's RNG."""

    task: int
    episode: int
    seed: int


@dataclass(frozen=True)
class StepInfo:
    """What `run_jobs` reports per env step to `on_step` (right after the policy acted, so a
    policy's `last_*` attributes hold this step's outputs at row `slot`)."""

    job: int
    slot: int
    trial: int
    t_in_trial: int
    first: bool
    observation: dict[str, np.ndarray]
    action: int


def job_seed(seed: int, task: int, episode: int) -> int:
    """The seed of one (task, episode): a hash of all three, so jobs get unrelated streams."""
    return int(np.random.SeedSequence([seed, task, episode]).generate_state(1)[0])


AfterStep = Callable[[int, WorldEnv, dm_env.TimeStep, "int | None"], None]


class JobBatch:
    """Up to `batch_size` worlds playing `jobs` in order (see the module docstring).

    `rngs[i]` is the policy RNG of slot i, replaced when the slot takes a job (the rollout
    holds this same list). `returns[j]` holds job j's returns per trial once it has ended.
    `on_step` sees every env step before it is taken; `after_step(slot, env, timestep,
    action)` after (and after each reset, with action None), which is where a video is drawn.
    """

    def __init__(self, tasks: Sequence[Task], jobs: Sequence[Job], *, image_size: int,
                 batch_size: int = 8, on_step: Callable[[StepInfo], None] | None = None,
                 after_step: AfterStep | None = None, **env_kwargs: Any) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size: {batch_size!r} must be >= 1")
        if not jobs:
            raise ValueError("jobs: no jobs to play")
        self.tasks, self.jobs = list(tasks), list(jobs)
        self.num_envs = min(batch_size, len(self.jobs))
        self.on_step, self.after_step = on_step, after_step
        self.envs: list[WorldEnv] = []
        try:
            for i in range(self.num_envs):
                job = self.jobs[i]
                self.envs.append(WorldEnv(self.tasks[job.task], seed=job.seed,
                                          image_size=image_size, **env_kwargs))
        except BaseException:
            self.close()
            raise
        self._spec = self.envs[0].observation_spec()
        self.slot_job = list(range(self.num_envs))
        self.next_job = self.num_envs
        self.rngs = [np.random.default_rng(self.jobs[j].seed) for j in self.slot_job]
        self.active = np.ones(self.num_envs, dtype=bool)
        self.returns: list[list[float]] = [[] for _ in self.jobs]
        # each job's reward at every step of its episode, once it has ended
        self.step_rewards: list[np.ndarray] = [np.zeros(0, np.float32) for _ in self.jobs]
        self._ep_rewards: list[list[float]] = [[] for _ in range(self.num_envs)]
        self._obs: list[Mapping[str, np.ndarray]] = []
        self._first = np.ones(self.num_envs, dtype=bool)

    def observation_spec(self) -> Mapping[str, Any]:
        return self._spec

    def action_spec(self) -> Any:
        return self.envs[0].action_spec()

    def reset(self) -> dict[str, np.ndarray]:
        self._obs = []
        for i, env in enumerate(self.envs):
            ts = env.reset()
            self._obs.append(ts.observation)
            if self.after_step is not None:
                self.after_step(i, env, ts, None)
        self._first[:] = True
        return stack_obs(self._obs, self._spec)

    def step(self, actions: np.ndarray) -> BatchStep:
        reward = np.zeros(self.num_envs, np.float32)
        discount = np.ones(self.num_envs, np.float32)
        for i in np.flatnonzero(self.active):
            env, action = self.envs[i], int(actions[i])
            if self.on_step is not None:
                self.on_step(StepInfo(self.slot_job[i], int(i), env.trial, env.t_in_trial,
                                      bool(self._first[i]), dict(self._obs[i]), action))
            self._first[i] = False
            ts = env.step(action)
            reward[i] = float(ts.reward or 0.0)
            self._ep_rewards[i].append(float(reward[i]))
            if self.after_step is not None:
                self.after_step(int(i), env, ts, action)
            if not ts.last():
                self._obs[i] = ts.observation
                continue
            discount[i] = float(ts.discount)
            self.returns[self.slot_job[i]] = [float(r) for r in env.trial_returns]
            self.step_rewards[self.slot_job[i]] = np.asarray(self._ep_rewards[i], np.float32)
            self._ep_rewards[i] = []
            self._next_job(int(i))
        return BatchStep(stack_obs(self._obs, self._spec), reward, discount,
                         self._first.copy())

    def _next_job(self, i: int) -> None:
        if self.next_job == len(self.jobs):
            self.active[i] = False
            return
        job = self.jobs[self.next_job]
        self.slot_job[i], self.next_job = self.next_job, self.next_job + 1
        env = self.envs[i]
        env.set_task(self.tasks[job.task])
        env.rng = np.random.default_rng(job.seed)  # as WorldEnv(seed=job.seed) would be
        self._obs[i] = env.reset().observation
        self.rngs[i] = np.random.default_rng(job.seed)
        self._first[i] = True

    def close(self) -> None:
        for env in self.envs:
            env.close()


def run_jobs(tasks: Sequence[Task], jobs: Sequence[Job], policy: Policy, *, image_size: int,
             batch_size: int = 8, on_step: Callable[[StepInfo], None] | None = None,
             after_step: AfterStep | None = None, step_rewards: list[np.ndarray] | None = None,
             **env_kwargs: Any) -> list[list[float]]:
    """Plays every job with `policy` (one batched call per step); returns each job's returns
    per trial. A `step_rewards` list is filled with each job's reward per step (for the
    time to first success, `ada.eval.timescale`)."""
    if not jobs:
        return []
    batch = JobBatch(tasks, jobs, image_size=image_size, batch_size=batch_size,
                     on_step=on_step, after_step=after_step, **env_kwargs)
    try:
        rollout = Rollout(batch, policy, batch.rngs)
        while batch.active.any():
            rollout.step()
    finally:
        batch.close()
    if step_rewards is not None:
        step_rewards[:] = batch.step_rewards
    return batch.returns


__all__ = ["Job", "JobBatch", "StepInfo", "job_seed", "run_jobs"]
