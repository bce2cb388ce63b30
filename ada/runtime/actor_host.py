"""One actor as the driver sees it: env batch + network copy + `Actor`, driven by `unroll` requests.

`ActorHost` is a plain class. The inline runtime keeps its hosts in the learner's process; the
Ray runtime wraps the same class with `ray.remote` and runs one per actor process. It builds
its env batch (through the env-kind registry) and its network copy from the run's
`TrainConfig`, and hosts the `ada.runtime.actor.Actor` that steps them; `unroll(...)` is the
only call the driver makes per batch.

Two things reach the actor with every unroll request instead of being polled:

- weights: `(version, [handle])`. For Ray the handle is the ObjectRef of the state the driver
  `ray.put` once per publish; wrapped in a list on purpose, because Ray resolves top-level
  ObjectRef arguments before the call but leaves nested ones alone, so the actor fetches the
  state only when `version` is newer than what it has (`AnnouncedWeights`). Inline, the handle
  is the state itself.
- tasks: the queue the driver's `TaskFeed` sampled for this actor (`ada.runtime.task_feed`);
  the env batch's `task_source` pops from it. The reply says how many tasks were consumed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ada.runtime.task_feed import TaskQueue
from ada.runtime.trajectory import Trajectory


def _identity(handle: Any) -> Any:
    return handle


class AnnouncedWeights:
    """`WeightSource` inside the actor: the newest (version, handle) the driver announced.

    Only `latest()` resolves the handle (`resolve`: `ray.get` for Ray, identity inline), and
    `Actor.sync_weights` calls it only when the announced version is newer than the actor's
    (or the actor has none yet)."""

    def __init__(self, resolve: Callable[[Any], dict[str, torch.Tensor]] = _identity) -> None:
        self._version = -1
        self._handle: Any = None
        self._resolve = resolve

    def announce(self, version: int, handle: Any) -> None:
        if version >= self._version:
            self._version, self._handle = version, handle

    def publish(self, version: int, state: dict[str, torch.Tensor]) -> None:
        raise RuntimeError("actors do not publish weights; the learner does")

    def version(self) -> int:
        return self._version

    def latest(self) -> tuple[int, dict[str, torch.Tensor]]:
        if self._handle is None:
            raise RuntimeError("no weights have been announced to this actor yet")
        return self._version, self._resolve(self._handle)


def _ray_get(ref: Any) -> Any:
    import ray

    return ray.get(ref)


def set_niceness(nice: int) -> None:
    """This process's niceness (an actor process of Ray, whose workers start at 15)."""
    now = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except PermissionError:
        raise PermissionError(f"runtime.worker_nice: {nice} is below the actor's niceness {now} "
                              "and this user may not lower it; use a value >= "
                              f"{now} or null") from None


class ActorHost:
    """One actor: env batch + network copy + `Actor`, driven by `unroll` requests.

    incarnation 0 seeds like every other run of this config; a replacement for a dead actor
    (incarnation > 0) gets new seeds. `remote=True` resolves weight handles with `ray.get`.
    """

    def __init__(self, cfg: Any, actor_id: int, incarnation: int = 0,
                 use_tasks: bool = False, use_grad_flags: bool = False,
                 mujoco_gl: str | None = None, remote: bool = True) -> None:
        if mujoco_gl and "MUJOCO_GL" not in os.environ:  # before anything imports mujoco
            os.environ["MUJOCO_GL"] = mujoco_gl
        from ada.envs import make_env_batch
        from ada.runtime.actor import Actor
        from agents.agent import Agent

        rt = cfg.runtime
        nice = getattr(rt, "worker_nice", None)
        if remote and nice is not None:
            set_niceness(int(nice))
        torch.set_num_threads(rt.torch_threads)
        self.actor_id = actor_id
        self.queue = TaskQueue(actor_id, record_flags=use_grad_flags) if use_tasks else None
        shift = 1_000_003 * incarnation
        env = make_env_batch(cfg.env, rt.envs_per_actor, seed=cfg.seed * 7919 + actor_id + shift,
                             task_source=self.queue)
        agent = Agent(env.observation_spec(), env.action_spec(), cfg.agent)
        self.weights = AnnouncedWeights(_ray_get if remote else _identity)
        grad = self.queue.grad_allowed if (self.queue is not None and use_grad_flags) else None
        demo_prob = float(getattr(cfg, "demo_prob", 0.0))
        demonstrator = None
        if demo_prob > 0:
            from ada.policies import ExpertPolicy

            demonstrator = ExpertPolicy()
        teacher = None
        if cfg.algo.kickstart.enabled:
            from ada.runtime.teacher import make_teacher

            teacher = make_teacher(cfg.algo.kickstart, env.observation_spec())
        self.actor = Actor(env, agent.cpu(), self.weights, rt.unroll_length,
                           seed=cfg.seed * 104729 + actor_id + shift, actor_id=actor_id,
                           grad_allowed=grad, demo_prob=demo_prob, demonstrator=demonstrator,
                           teacher=teacher)

    def unroll(self, version: int, weights: list[Any],
               tasks: Sequence[tuple[Any, bool]] | None = None, teacher: bool = True
               ) -> tuple[Trajectory, int, dict[str, float]]:
        """(trajectory, tasks consumed from `tasks`, this unroll's timing in seconds);
        `teacher=False` skips the kickstarting teacher (its weight has reached 0)."""
        t0 = time.perf_counter()
        self.actor.teacher_on = teacher
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

    def state_dict(self) -> dict[str, Any]:
        return self.actor.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.actor.load_state_dict(state)

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        self.actor.env.close()


__all__ = ["ActorHost", "AnnouncedWeights"]
