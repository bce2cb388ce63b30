"""Where actors get their weights: the learner publishes, actors poll (Acme's variable source).

Publishing copies the parameters to CPU so that an actor never reads a tensor the optimiser is
half-way through updating, and so that the same object can be handed to Ray's object store. The
version is the learner's update count when the weights were published; actors stamp it on their
trajectories, which is how policy lag is measured.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn


class WeightSource(Protocol):
    def publish(self, version: int, state: dict[str, torch.Tensor]) -> None: ...

    def version(self) -> int: ...

    def latest(self) -> tuple[int, dict[str, torch.Tensor]]: ...


def cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of a module's state dict (safe to hand to another process)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


class InlineWeightSource:
    """Weights kept in this process: the inline runtime's (and the tests') weight source."""

    def __init__(self, version: int = 0, state: dict[str, torch.Tensor] | None = None) -> None:
        self._version = version
        self._state = state

    def publish(self, version: int, state: dict[str, torch.Tensor]) -> None:
        if version < self._version:
            raise ValueError(f"version {version} is older than the published {self._version}")
        self._version, self._state = version, state

    def version(self) -> int:
        return self._version

    def latest(self) -> tuple[int, dict[str, torch.Tensor]]:
        if self._state is None:
            raise RuntimeError("no weights have been published yet")
        return self._version, self._state


__all__ = ["InlineWeightSource", "WeightSource", "cpu_state"]
