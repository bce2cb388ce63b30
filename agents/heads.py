"""Output heads on top of the memory core: policy logits and a scalar value.

Kept separate from the core so that other learners (e.g. Muesli, which adds a learned model of
reward, value and policy unrolled K steps) can reuse the same torso and add heads here.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _mlp(in_dim: int, hidden: int, out_dim: int) -> nn.Sequential:
    """Linear when hidden == 0, else one ReLU hidden layer."""
    if hidden == 0:
        return nn.Sequential(nn.Linear(in_dim, out_dim))
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


class PolicyHead(nn.Module):
    """(..., D) -> (..., A) logits. The last layer starts small so the initial policy is near
    uniform: early trajectories explore every action and the entropy bonus starts from its top."""

    def __init__(self, in_dim: int, num_actions: int, hidden: int = 0,
                 init_scale: float = 0.01) -> None:
        super().__init__()
        self.net = _mlp(in_dim, hidden, num_actions)
        with torch.no_grad():
            self.net[-1].weight.mul_(init_scale)
            self.net[-1].bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ValueHead(nn.Module):
    """(..., D) -> (...) state value. The last layer starts at zero (no initial value bias)."""

    def __init__(self, in_dim: int, hidden: int = 0) -> None:
        super().__init__()
        self.net = _mlp(in_dim, hidden, 1)
        with torch.no_grad():
            self.net[-1].weight.zero_()
            self.net[-1].bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)
