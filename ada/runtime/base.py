"""The runtime interface: how the training loop gets batches and hands out weights.

`ada.trainer.Trainer` runs one loop for both backends:

    batch = runtime.collect()            one unroll from every actor
    runtime.relaunch()                   (overlap only) actors start the next unroll now
    learner.step(batch)
    runtime.publish(version, weights)
    curriculum feedback from batch.episodes
    runtime.relaunch()                   actors whose unrolls were consumed start again

`InlineRuntime` (`runtime.backend=inline`) hosts its actors in the learner's process and acts
during `collect`; `RayRuntime` (`runtime.backend=ray`) keeps one unroll in flight per Ray actor
process. Both push the driver curriculum's tasks through the same `TaskFeed`, so the same
config plays the same tasks on either (inline with one actor is Ray's lock-step reference).
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from ada.runtime.trajectory import Trajectory
from ada.runtime.weights import WeightSource


class Runtime(Protocol):
    weights: WeightSource
    overlap: bool
    # whether unroll requests ask the actors for their kickstarting teacher's logits (the
    # trainer turns it off once the kickstarting weight has reached 0 for good)
    teacher_on: bool

    def collect(self) -> tuple[Trajectory, dict[str, float]]:
        """One learner batch (every actor's unroll, in actor order) and its timing."""
        ...

    def relaunch(self) -> None:
        """Let the actors whose unrolls the last batch consumed start their next one."""
        ...

    def publish(self, version: int, state: dict[str, torch.Tensor]) -> None: ...

    def actor_states(self) -> list[dict[str, Any]]:
        """What a checkpoint keeps of the actors (empty where they cannot be saved)."""
        ...

    def load_actor_states(self, states: list[dict[str, Any]]) -> None: ...

    def feed_state(self) -> dict[str, Any] | None:
        """The task feed's state for a checkpoint (None for kinds without tasks)."""
        ...

    def load_feed_state(self, state: dict[str, Any], task_from_json: Any) -> None: ...

    def close(self) -> None: ...


def make_runtime(cfg: Any, state: dict[str, torch.Tensor], curriculum: Any,
                 use_grad_flags: bool) -> Runtime:
    """The backend `cfg.runtime.backend` names, with the initial weights `state`."""
    if cfg.runtime.backend == "ray":
        from ada.runtime.ray_runtime import RayRuntime

        return RayRuntime(cfg, state, curriculum, use_grad_flags=use_grad_flags,
                          overlap=cfg.runtime.overlap)
    from ada.runtime.inline_runtime import InlineRuntime

    return InlineRuntime(cfg, state, curriculum, use_grad_flags=use_grad_flags)


__all__ = ["Runtime", "make_runtime"]
