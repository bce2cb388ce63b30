"""`runtime.backend=inline`: the actors in the learner's process, acting inside `collect`.

The same `ActorHost`s as Ray's actor processes, driven in actor order with the same requests:
the latest weights and the driver's task queue (`TaskFeed`). Inline is lock-step (the actors
act with the weights of the last update, zero policy lag), and it is the reference the Ray
backend is tested against. Unlike Ray, a checkpoint keeps every actor's state (and the task
feed's), so a run on envs that can save themselves (bandits, levers) resumes bit for bit.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ada.runtime.actor_host import ActorHost
from ada.runtime.task_feed import FedRuntime, make_task_feed
from ada.runtime.trajectory import Trajectory
from ada.runtime.weights import InlineWeightSource


class InlineRuntime(FedRuntime):
    """`num_actors` `ActorHost`s stepped one after another in this process."""

    overlap = False

    def __init__(self, cfg: Any, state: dict[str, torch.Tensor], curriculum: Any = None,
                 use_grad_flags: bool = False) -> None:
        rt = cfg.runtime
        self.feed = make_task_feed(cfg, curriculum, use_grad_flags)
        use_tasks = self.feed is not None
        self.weights = InlineWeightSource(0, state)
        self.hosts = [ActorHost(cfg, i, use_tasks=use_tasks, use_grad_flags=use_grad_flags,
                                remote=False) for i in range(rt.num_actors)]

    @property
    def actors(self) -> list[Any]:
        """The `Actor` of every host (their timing, envs and RNGs, for tools and tests)."""
        return [h.actor for h in self.hosts]

    def collect(self) -> tuple[Trajectory, dict[str, float]]:
        version, state = self.weights.latest()
        parts = []
        timing = {"env_s": 0.0, "inference_s": 0.0, "teacher_s": 0.0, "unroll_s": 0.0}
        t0 = time.perf_counter()
        for host in self.hosts:
            tasks = None if self.feed is None else self.feed.top_up(host.actor_id, version)
            traj, consumed, actor_timing = host.unroll(version, [state], tasks,
                                                       teacher=self.teacher_on)
            if self.feed is not None:
                self.feed.consumed(host.actor_id, consumed)
            for k in timing:
                timing[k] += actor_timing.get(k, 0.0)
            parts.append(traj)
        return Trajectory.concat(parts), {
            "actor_wait_s": time.perf_counter() - t0, "actor/env_s": timing["env_s"],
            "actor/inference_s": timing["inference_s"], "actor/unroll_s": timing["unroll_s"],
            "actor/teacher_s": timing["teacher_s"],
            "runtime/actor_restarts": 0.0}

    def relaunch(self) -> None:
        """Nothing runs between batches inline."""

    def publish(self, version: int, state: dict[str, torch.Tensor]) -> None:
        self.weights.publish(version, state)

    def actor_states(self) -> list[dict[str, Any]]:
        return [h.state_dict() for h in self.hosts]

    def load_actor_states(self, states: list[dict[str, Any]]) -> None:
        for host, state in zip(self.hosts, states, strict=True):
            host.load_state_dict(state)

    def close(self) -> None:
        for host in self.hosts:
            host.close()


__all__ = ["InlineRuntime"]
