"""What runs inside one Ray actor process: the inline `Actor`, fed tasks and weights by the driver.

`ActorHost` is a plain class (the runtime wraps it with `ray.remote`, so it is also testable
without Ray). It builds its own env batch and network copy from the run's `TrainConfig` and
hosts exactly the `ada.runtime.actor.Actor` the inline backend uses; `unroll(...)` is the only
call the driver makes per batch.

Two things reach the actor with every unroll request instead of being polled:

- weights: the driver `ray.put`s the learner's state once per publish and passes
  `(version, [ref])`. The ref is wrapped in a list on purpose: Ray resolves top-level ObjectRef
  arguments before the call, but leaves nested ones alone, so the actor fetches the state only
  when `version` is newer than the weights it already has (`RemoteWeights`).
- tasks: the curriculum lives with the learner, so remote envs must never draw tasks on their
  own. The driver sends its queue of tasks it sampled for this actor (`TaskQueue`); the env
  batch's `task_source` pops from it and raises if it runs dry. The reply says how many tasks
  were consumed, and the driver drops exactly those from its copy of the queue.

Robust PLR's `grad_allowed` is the curriculum's and runs on the driver: every queued task comes
with the flag the driver computed for it when sending the request, and the actor's callback
looks the flag up by task id (FIFO per id, so two queued copies of one id keep their own
flags). The inline backend asks at the episode's first step; here the answer is at most one
unroll older, which only matters if a task is evicted from the buffer in between.
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ada.runtime.trajectory import Trajectory


class TaskQueueEmptyError(RuntimeError):
    """The driver sent fewer tasks than the actor's envs started episodes (a sizing bug)."""


class TaskQueue:
    """The actor-side copy of the driver's task queue, used as the env batch's `task_source`.

    `load(items)` replaces the queue with what the driver sent (the driver's queue is the truth:
    its copy is ours minus what we reported consumed); each `__call__` pops one task. The RNG
    argument of a task source is ignored on purpose: the driver's curriculum already chose.
    """

    def __init__(self, actor_id: int, record_flags: bool) -> None:
        self.actor_id = actor_id
        self.record_flags = record_flags
        self._items: deque[tuple[Any, bool]] = deque()
        self._flags: dict[str, deque[bool]] = defaultdict(deque)
        self._last_flag: dict[str, bool] = {}
        self.consumed = 0

    def load(self, items: Sequence[tuple[Any, bool]]) -> None:
        self._items = deque(items)
        self.consumed = 0

    def __call__(self, rng: np.random.Generator | None = None) -> Any:
        if not self._items:
            raise TaskQueueEmptyError(
                f"actor {self.actor_id}: the task queue from the driver ran dry after "
                f"{self.consumed} task(s) in this unroll; remote envs never sample tasks "
                "themselves (the curriculum is the driver's), so the driver's queue target "
                "(ada.runtime.ray_actor.queue_target) is too small for this env")
        task, flag = self._items.popleft()
        self.consumed += 1
        if self.record_flags:
            self._flags[task.task_id].append(bool(flag))
        return task

    def grad_allowed(self, task_id: str) -> bool:
        """The driver's flag for the episode that just started on `task_id`."""
        pending = self._flags.get(task_id)
        if pending:
            flag = pending.popleft()
            if not pending:
                del self._flags[task_id]
            self._last_flag[task_id] = flag
            return flag
        if task_id in self._last_flag:  # asked twice for one episode start: same answer
            return self._last_flag[task_id]
        raise RuntimeError(f"actor {self.actor_id}: no grad flag for task {task_id}; every "
                           "task comes from the driver with its flag")


class RemoteWeights:
    """`WeightSource` inside the actor: the newest (version, ObjectRef) the driver announced.

    Only `latest()` touches the object store, and `Actor.sync_weights` calls it only when the
    announced version is newer than the actor's (or the actor has none yet)."""

    def __init__(self) -> None:
        self._version = -1
        self._ref: Any = None

    def announce(self, version: int, ref: Any) -> None:
        if version >= self._version:
            self._version, self._ref = version, ref

    def publish(self, version: int, state: dict[str, torch.Tensor]) -> None:
        raise RuntimeError("actors do not publish weights; the learner does")

    def version(self) -> int:
        return self._version

    def latest(self) -> tuple[int, dict[str, torch.Tensor]]:
        import ray

        if self._ref is None:
            raise RuntimeError("no weights have been announced to this actor yet")
        return self._version, ray.get(self._ref)


def min_episode_length(env_cfg: Any) -> int | None:
    """The shortest episode a task of this env can have (None: the env takes no tasks)."""
    kind = getattr(env_cfg, "kind", None)
    if kind == "levers":
        return int(env_cfg.horizon)
    if kind == "world":
        from worlds.family import load_family

        episode = load_family(env_cfg.family).episode
        return int(episode.trials * episode.trial_steps)
    return None


def queue_target(num_envs: int, unroll_length: int, min_len: int) -> int:
    """Tasks the driver keeps queued per actor before each request: enough that the envs can
    never run dry in one unroll. Each env starts at most ceil(T / min_len) episodes in T steps,
    plus one each when the batch resets (first unroll, or a fresh replacement actor)."""
    return num_envs * (math.ceil(unroll_length / min_len) + 1)


class ActorHost:
    """One actor process: env batch + network copy + `Actor`, driven by `unroll` requests."""

    def __init__(self, cfg: Any, actor_id: int, incarnation: int = 0,
                 use_tasks: bool = False, use_grad_flags: bool = False,
                 mujoco_gl: str | None = None) -> None:
        if mujoco_gl and "MUJOCO_GL" not in os.environ:  # before anything imports mujoco
            os.environ["MUJOCO_GL"] = mujoco_gl
        from ada.runtime.actor import Actor
        from ada.trainer import make_env_batch
        from agents.agent import Agent

        rt = cfg.runtime
        torch.set_num_threads(rt.torch_threads)
        self.actor_id = actor_id
        self.queue = TaskQueue(actor_id, record_flags=use_grad_flags) if use_tasks else None
        # incarnation 0 seeds like the inline actor with this id; a replacement gets new seeds
        shift = 1_000_003 * incarnation
        env = make_env_batch(cfg.env, rt.envs_per_actor, seed=cfg.seed * 7919 + actor_id + shift,
                             task_source=self.queue)
        agent = Agent(env.observation_spec(), env.action_spec(), cfg.agent)
        self.weights = RemoteWeights()
        grad = self.queue.grad_allowed if (self.queue is not None and use_grad_flags) else None
        self.actor = Actor(env, agent.cpu(), self.weights, rt.unroll_length,
                           seed=cfg.seed * 104729 + actor_id + shift, actor_id=actor_id,
                           grad_allowed=grad)

    def unroll(self, version: int, weights: list[Any],
               tasks: Sequence[tuple[Any, bool]] | None = None
               ) -> tuple[Trajectory, int, dict[str, float]]:
        """(trajectory, tasks consumed from `tasks`, this unroll's timing in seconds)."""
        t0 = time.perf_counter()
        self.weights.announce(version, weights[0])
        if self.queue is not None:
            self.queue.load(tasks or ())
        before = dict(self.actor.timing)
        traj = self.actor.unroll()
        timing = {k: v - before[k] for k, v in self.actor.timing.items()}
        timing["unroll_s"] = time.perf_counter() - t0
        consumed = 0 if self.queue is None else self.queue.consumed
        return traj, consumed, timing

    def version(self) -> int:
        """The weight version the actor last acted with (-1 before its first unroll)."""
        return self.actor.version

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self.actor.env.close()


__all__ = ["ActorHost", "RemoteWeights", "TaskQueue", "TaskQueueEmptyError", "min_episode_length",
           "queue_target"]
