"""Tasks pushed by the driver: the curriculum chooses, actors' envs only play what they are sent.

The curriculum lives with the learner, so no env ever draws a task on its own, on either
backend. The driver's `TaskFeed` keeps one queue per actor, tops it up with
`curriculum.sample(rng)` (one driver RNG) to `queue_target` tasks before each unroll request
and sends the whole queue, each task with its robust-PLR `grad_allowed` flag evaluated on the
driver. On the actor, `TaskQueue` is the env batch's `task_source`: it pops the tasks in order
and raises if it runs dry. The reply says how many were consumed; the feed drops exactly those
and keeps the rest for the next request. An actor that dies keeps its queue: whatever it had
popped is sent again to its replacement, nothing is lost.

Because the inline and the Ray runtime share this code, the same config samples the same task
stream on both: inline with one actor is the exact reference for Ray in lock-step.

The flags: every queued task comes with the flag computed when the request was sent, and the
actor's callback looks it up by task id (FIFO per id, so two queued copies of one id keep their
own flags); it is at most one unroll old, which only matters if a task is evicted from the
buffer in between.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Any

import numpy as np


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
                f"{self.consumed} task(s) in this unroll; envs never sample tasks "
                "themselves (the curriculum is the driver's), so the driver's queue target "
                "(ada.runtime.task_feed.queue_target) is too small for this env")
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


def queue_target(num_envs: int, unroll_length: int, min_len: int) -> int:
    """Tasks the driver keeps queued per actor before each request: enough that the envs can
    never run dry in one unroll. Each env starts at most ceil(T / min_len) episodes in T steps,
    plus one each when the batch resets (first unroll, or a fresh replacement actor)."""
    return num_envs * (math.ceil(unroll_length / min_len) + 1)


class TaskFeed:
    """The driver's side: one queue per actor, topped up from the curriculum.

    `top_up(actor)` is what an unroll request carries; `consumed(actor, n)` drops the n tasks
    its envs took. The RNG is seeded at the first request by the published weight version, so
    a resumed run does not replay the fresh run's draws unless the feed's state was restored.
    `samples` counts `curriculum.sample` calls.
    """

    def __init__(self, curriculum: Any, num_actors: int, target: int, seed: int,
                 use_grad_flags: bool) -> None:
        self.curriculum = curriculum
        self.target = target
        self.seed = seed
        self.use_grad_flags = use_grad_flags
        self.queues: dict[int, deque[Any]] = {i: deque() for i in range(num_actors)}
        self.rng: np.random.Generator | None = None
        self.samples = 0

    def top_up(self, actor_id: int, version: int) -> list[tuple[Any, bool]]:
        """The queue the actor gets with its next request, topped up from the curriculum."""
        if self.rng is None:
            self.rng = np.random.default_rng([self.seed, 0x7A5C, version])
        queue = self.queues[actor_id]
        while len(queue) < self.target:
            queue.append(self.curriculum.sample(self.rng))
            self.samples += 1
        if self.use_grad_flags:
            return [(t, bool(self.curriculum.grad_allowed(t.task_id))) for t in queue]
        return [(t, True) for t in queue]

    def consumed(self, actor_id: int, n: int) -> None:
        queue = self.queues[actor_id]
        if n > len(queue):
            raise RuntimeError(f"actor {actor_id} reports {n} tasks consumed but was sent "
                               f"{len(queue)}")
        for _ in range(n):
            queue.popleft()

    def state_dict(self) -> dict[str, Any]:
        """The queued tasks (as JSON) and the RNG: a checkpoint continues the same stream."""
        return {"queues": [[t.to_json() for t in self.queues[i]] for i in sorted(self.queues)],
                "rng": None if self.rng is None else self.rng.bit_generator.state,
                "samples": self.samples}

    def load_state_dict(self, state: dict[str, Any], task_from_json: Any) -> None:
        queues = state["queues"]
        if len(queues) != len(self.queues):
            raise ValueError(f"task feed state has {len(queues)} actor queues, the run has "
                             f"{len(self.queues)}")
        self.queues = {i: deque(task_from_json(t) for t in q) for i, q in enumerate(queues)}
        self.rng = None
        if state["rng"] is not None:
            self.rng = np.random.default_rng()
            self.rng.bit_generator.state = state["rng"]
        self.samples = int(state["samples"])


def make_task_feed(cfg: Any, curriculum: Any, use_grad_flags: bool) -> TaskFeed | None:
    """The run's feed, sized for its env kind; None where there are no tasks to push."""
    from ada.envs import min_episode_length

    min_len = min_episode_length(cfg.env)
    if curriculum is None or min_len is None:
        return None
    rt = cfg.runtime
    return TaskFeed(curriculum, rt.num_actors,
                    queue_target(rt.envs_per_actor, rt.unroll_length, min_len), cfg.seed,
                    use_grad_flags)


class FedRuntime:
    """What both runtimes do with their `feed` (a `TaskFeed`, or None): checkpoint state and
    the count of curriculum samples."""

    feed: TaskFeed | None
    teacher_on: bool = True

    def feed_state(self) -> dict[str, Any] | None:
        return None if self.feed is None else self.feed.state_dict()

    def load_feed_state(self, state: dict[str, Any], task_from_json: Any) -> None:
        if self.feed is not None:
            self.feed.load_state_dict(state, task_from_json)

    @property
    def samples(self) -> int:
        """`curriculum.sample` calls made for the actors."""
        return 0 if self.feed is None else self.feed.samples


__all__ = ["FedRuntime", "TaskFeed", "TaskQueue", "TaskQueueEmptyError", "make_task_feed",
           "queue_target"]
