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
    """(..., D) -> (...) state value, with PopArt-style adaptive normalisation.

    Returns span very different scales across families (a bandit episode ~10, a sparse 3D trial
    ~1, a dense one ~100). With Adam's fixed step size a value output that must travel to 10 takes
    thousands of updates, and the policy learns nothing meanwhile. The head therefore predicts a
    normalised value v_hat and outputs mu + sigma * v_hat, where (mu, sigma) track the value
    targets (`update_stats`); when they change, the last layer is rescaled so that the outputs
    are preserved exactly (Hessel et al. 2019, "Multi-task Deep RL with PopArt"). mu and sigma are
    buffers, so they travel with the weights to the actors. Left at (0, 1) it is a plain head.
    The last layer starts at zero (no initial value bias).
    """

    def __init__(self, in_dim: int, hidden: int = 0) -> None:
        super().__init__()
        self.net = _mlp(in_dim, hidden, 1)
        with torch.no_grad():
            self.net[-1].weight.zero_()
            self.net[-1].bias.zero_()
        self.register_buffer("mu", torch.zeros(()))
        self.register_buffer("nu", torch.ones(()))  # second moment: sigma^2 = nu - mu^2

    @property
    def sigma(self) -> Tensor:
        return (self.nu - self.mu.square()).clamp(min=1e-8).sqrt()

    def normalized(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)

    def forward(self, x: Tensor) -> Tensor:
        return self.mu + self.sigma * self.normalized(x)

    @torch.no_grad()
    def update_stats(self, targets: Tensor, step_size: float, min_sigma: float = 1e-2) -> None:
        """Move (mu, sigma) towards the targets' moments; rescale the last layer to keep
        mu + sigma * v_hat unchanged for every input."""
        old_mu, old_sigma = self.mu.clone(), self.sigma.clone()
        t = targets.detach().to(self.mu.dtype)
        self.mu.lerp_(t.mean(), step_size)
        self.nu.lerp_(t.square().mean(), step_size)
        self.nu.clamp_(min=self.mu.square() + min_sigma ** 2)
        new_sigma = self.sigma
        last = self.net[-1]
        last.weight.mul_(old_sigma / new_sigma)
        last.bias.mul_(old_sigma).add_(old_mu - self.mu).div_(new_sigma)
