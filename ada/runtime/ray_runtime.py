"""`runtime.backend=ray`: actors in Ray actor processes, the learner and curriculum in the driver.

Each of `num_actors` Ray actors hosts the same `ada.runtime.actor_host.ActorHost` the inline
backend uses: it steps its own env batch with CPU inference and returns each unroll as a
`Trajectory` through the object store. The driver keeps one unroll in flight per actor; one
training step of the loop (`ada.runtime.base`) is

    ray.wait for the first num_actors finished unrolls  ->  concat  ->  learner.step
    ->  ray.put the new weights (one object per publish)  ->  curriculum feedback
    ->  relaunch the actors whose unrolls were consumed (latest weights ref + their task queues)

Actors load the weights only when the announced version is newer than theirs. A batch's
`policy_version` is the oldest of its parts, so `policy_lag` (computed by `Learner.step`) is the
number of learner updates between the weights that acted and the update consuming the data;
V-trace corrects for it. With `overlap=True` (`runtime.overlap`, the default; the bench
measures both) the consumed actors are relaunched *before* the learner step, with the previous
weights, so acting and learning overlap at the price of one update of lag.

Curriculum: remote envs only ever play tasks the driver's curriculum chose, through the same
`TaskFeed` the inline backend uses (`ada.runtime.task_feed`): each request carries the actor's
queue, the reply the number of tasks consumed. Finished episodes come back in the trajectory
(with the actor's per-step values and rewards) and go through the same curriculum feedback as
inline, so with one actor in lock-step (`overlap=false`) Ray plays exactly inline's tasks.

Fault tolerance: if an actor process dies, the error surfaces on its in-flight unroll; the
driver starts a replacement (same actor id, fresh env batch, new seeds), keeps that actor's task
queue for it (tasks it may have consumed before dying are re-sent, none are lost), counts
`runtime/actor_restarts` and carries on. The learner, its optimiser and the curriculum live in
the driver and lose nothing. More than `max_actor_restarts` deaths end the run with an error.

Checkpoints hold no actor states for Ray: a resumed Ray run restarts its actors' episodes (as the
world env does inline); learner, optimiser, curriculum and task feed are restored exactly.
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any

import torch

from ada.runtime.actor_host import ActorHost
from ada.runtime.task_feed import FedRuntime, make_task_feed
from ada.runtime.trajectory import Trajectory

log = logging.getLogger(__name__)


class RayWeightSource:
    """Driver side of the weights: `publish` puts the state in the object store once; actors
    get `(version, [ref])` with their next request."""

    def __init__(self, version: int, state: dict[str, torch.Tensor]) -> None:
        import ray

        self._version, self._ref = version, ray.put(state)

    def publish(self, version: int, state: dict[str, torch.Tensor]) -> None:
        import ray

        if version < self._version:
            raise ValueError(f"version {version} is older than the published {self._version}")
        self._version, self._ref = version, ray.put(state)

    def version(self) -> int:
        return self._version

    def latest(self) -> tuple[int, dict[str, torch.Tensor]]:
        import ray

        return self._version, ray.get(self._ref)

    def announcement(self) -> tuple[int, list[Any]]:
        """What an unroll request carries: the version and the ref, nested so Ray does not
        resolve it before the actor has decided it needs it."""
        return self._version, [self._ref]


def _actor_died_errors() -> tuple[type[BaseException], ...]:
    """Errors meaning the actor process is gone (as opposed to a bug raised inside it)."""
    from ray import exceptions as rex

    names = ("ActorDiedError", "RayActorError", "ActorUnavailableError", "WorkerCrashedError",
             "LocalRayletDiedError", "NodeDiedError")
    return tuple(getattr(rex, n) for n in names if hasattr(rex, n))


class RayRuntime(FedRuntime):
    """Actors as Ray actor processes for one `Trainer` (see module docstring)."""

    def __init__(self, cfg: Any, state: dict[str, torch.Tensor], curriculum: Any = None,
                 use_grad_flags: bool = False, overlap: bool = False) -> None:
        import ray

        rt = cfg.runtime
        self.cfg = cfg
        self.curriculum = curriculum
        self.use_grad_flags = use_grad_flags
        self.overlap = overlap
        self.num_actors = rt.num_actors
        self.max_restarts = rt.max_actor_restarts
        self._owns_ray = False
        if not ray.is_initialized():
            if rt.address is None:
                cpus = max(1, math.ceil(rt.num_actors * rt.actor_cpus))
                ray.init(num_cpus=cpus, include_dashboard=False, ignore_reinit_error=True,
                         log_to_driver=True)
            else:
                ray.init(address=rt.address, ignore_reinit_error=True)
            self._owns_ray = True
        self._check_resources(rt)
        self._remote_cls = ray.remote(ActorHost)
        self.weights = RayWeightSource(0, state)
        self.feed = make_task_feed(cfg, curriculum, use_grad_flags)
        self.use_tasks = self.feed is not None
        self.incarnations = [0] * self.num_actors
        self.restarts = 0
        self.handles = [self._spawn(i) for i in range(self.num_actors)]
        self.inflight: dict[Any, int] = {}  # unroll ObjectRef -> actor id
        self._consumed: list[int] = []  # actors whose unrolls the last batch took

    # ---- actors ------------------------------------------------------------------------------
    def _check_resources(self, rt: Any) -> None:
        import ray

        need = rt.num_actors * rt.actor_cpus
        have = ray.cluster_resources().get("CPU", 0.0)
        if need > have:
            msg = (f"runtime.num_actors={rt.num_actors} x runtime.actor_cpus={rt.actor_cpus} "
                   f"needs {need:g} CPUs but the Ray cluster has {have:g}")
            if rt.address is None:
                raise RuntimeError(msg + "; lower runtime.actor_cpus or runtime.num_actors "
                                   "(the actors would wait for CPUs forever)")
            log.warning("%s; actors wait until the cluster scales up", msg)

    def _spawn(self, actor_id: int) -> Any:
        # max_restarts=0: Ray must not restart it behind our back; the driver replaces it
        # (with a fresh env and the actor's task queue) and counts the restart.
        opts = {"num_cpus": self.cfg.runtime.actor_cpus, "max_restarts": 0}
        return self._remote_cls.options(**opts).remote(
            self.cfg, actor_id, self.incarnations[actor_id], self.use_tasks,
            self.use_grad_flags, os.environ.get("MUJOCO_GL"), True)

    def _restart(self, actor_id: int, err: BaseException) -> None:
        import ray

        if getattr(err, "actor_init_failed", False):  # deterministic: retrying cannot help
            raise RuntimeError(f"actor {actor_id} could not be built (its constructor raised; "
                               f"see the cause below): {err}") from err
        self.restarts += 1
        if self.restarts > self.max_restarts:
            raise RuntimeError(f"actor {actor_id} died ({type(err).__name__}); that is "
                               f"{self.restarts} actor deaths, more than "
                               f"runtime.max_actor_restarts={self.max_restarts}") from err
        log.warning("actor %d died (%s: %s); starting a replacement (%d/%d restarts)",
                    actor_id, type(err).__name__, str(err).splitlines()[0] if str(err) else "",
                    self.restarts, self.max_restarts)
        ray.kill(self.handles[actor_id], no_restart=True)
        self.incarnations[actor_id] += 1
        self.handles[actor_id] = self._spawn(actor_id)
        # the feed keeps the actor's queue whole: whatever the dead actor popped is sent again

    def _launch(self, actor_id: int) -> None:
        version, weights = self.weights.announcement()
        tasks = None if self.feed is None else self.feed.top_up(actor_id, version)
        ref = self.handles[actor_id].unroll.remote(version, weights, tasks,
                                                   teacher=self.teacher_on)
        self.inflight[ref] = actor_id

    def relaunch(self) -> None:
        """Send a new unroll request to every actor whose unroll the last batch consumed."""
        for actor_id in self._consumed:
            self._launch(actor_id)
        self._consumed = []

    # ---- one batch -----------------------------------------------------------------------------
    def collect(self) -> tuple[Trajectory, dict[str, float]]:
        """The first `num_actors` finished unrolls, concatenated (actor order), and the time
        spent: driver blocked in ray.wait/get, and the actors' own env/inference time."""
        import ray

        if self._consumed:  # relaunch was not called after the last batch
            self.relaunch()
        busy = set(self.inflight.values())
        for actor_id in range(self.num_actors):
            if actor_id not in busy:
                self._launch(actor_id)
        died = _actor_died_errors()
        parts: list[tuple[int, Trajectory]] = []
        timing = {"env_s": 0.0, "inference_s": 0.0, "teacher_s": 0.0, "unroll_s": 0.0}
        wait_s = 0.0
        while len(parts) < self.num_actors:
            t0 = time.perf_counter()
            ready, _ = ray.wait(list(self.inflight), num_returns=1)
            ref = ready[0]
            actor_id = self.inflight.pop(ref)
            try:
                traj, consumed, actor_timing = ray.get(ref)
            except died as err:
                wait_s += time.perf_counter() - t0
                self._restart(actor_id, err)
                self._launch(actor_id)
                continue
            wait_s += time.perf_counter() - t0
            if self.feed is not None:
                self.feed.consumed(actor_id, consumed)
            for k in timing:
                timing[k] += actor_timing.get(k, 0.0)
            parts.append((actor_id, traj))
            self._consumed.append(actor_id)
        parts.sort(key=lambda p: p[0])
        metrics = {"actor_wait_s": wait_s, "actor/env_s": timing["env_s"],
                   "actor/inference_s": timing["inference_s"],
                   "actor/unroll_s": timing["unroll_s"], "actor/teacher_s": timing["teacher_s"],
                   "runtime/actor_restarts": float(self.restarts)}
        return Trajectory.concat([t for _, t in parts]), metrics

    def publish(self, version: int, state: dict[str, torch.Tensor]) -> None:
        self.weights.publish(version, state)

    def actor_states(self) -> list[dict[str, Any]]:
        """None: a resumed Ray run restarts its actors' episodes."""
        return []

    def load_actor_states(self, states: list[dict[str, Any]]) -> None:
        if states:
            raise ValueError("a Ray run restores no actor states")

    # ---- inspection and shutdown -------------------------------------------------------------
    def actor_versions(self) -> list[int]:
        """Each actor's weight version (waits for its in-flight unroll to finish)."""
        import ray

        return ray.get([h.version.remote() for h in self.handles])

    def close(self) -> None:
        """Stop the actors, and Ray itself if this runtime started it."""
        import ray

        if not ray.is_initialized():
            return
        for handle in self.handles:
            try:
                ray.kill(handle, no_restart=True)
            except Exception as err:  # noqa: BLE001 - already dead is fine at shutdown
                log.debug("killing an actor at close: %s", err)
        self.inflight.clear()
        self.handles = []
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False


__all__ = ["RayRuntime", "RayWeightSource"]
