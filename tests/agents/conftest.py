"""Shared specs and random observations for the agents tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from dm_env import specs

NUM_ACTIONS = 7


def world_spec(image: tuple[int, int] = (64, 64)) -> dict[str, specs.Array]:
    """The 3D world's observation spec (worlds/env.py, worlds/tokens.py)."""
    return {
        "rgb": specs.Array((*image, 3), np.uint8, "rgb"),
        "goal": specs.Array((36,), np.int32, "goal"),
        "rules": specs.Array((8, 8), np.int32, "rules"),
        "proprio": specs.Array((5,), np.float32, "proprio"),
        "trial": specs.Array((3,), np.float32, "trial"),
        "prev_action": specs.Array((), np.int32, "prev_action"),
        "prev_reward": specs.Array((), np.float32, "prev_reward"),
    }


def bandit_spec(arms: int = 4) -> dict[str, specs.Array]:
    """A bandit-like spec: previous action one-hot as floats, reward (1,), trial info."""
    return {
        "prev_action": specs.Array((arms,), np.float32, "prev_action"),
        "prev_reward": specs.Array((1,), np.float32, "prev_reward"),
        "trial": specs.Array((3,), np.float32, "trial"),
    }


def random_obs(spec: dict[str, specs.Array], lead: tuple[int, ...], seed: int = 0,
               vocab_size: int = 21) -> dict[str, torch.Tensor]:
    """Random observations with leading dims `lead`; tokens include some PAD (0)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, s in spec.items():
        shape = (*lead, *s.shape)
        dtype = np.dtype(s.dtype)
        if dtype == np.uint8:
            out[key] = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
        elif np.issubdtype(dtype, np.integer):
            hi = NUM_ACTIONS if key == "prev_action" else vocab_size
            out[key] = torch.randint(0, hi, shape, generator=g, dtype=torch.int32)
        else:
            out[key] = torch.randn(shape, generator=g)
    return out


@pytest.fixture
def action_spec() -> specs.DiscreteArray:
    return specs.DiscreteArray(NUM_ACTIONS, name="action")


@pytest.fixture
def make_obs() -> Callable[..., dict[str, torch.Tensor]]:
    return random_obs


@pytest.fixture
def world_obs_spec() -> dict[str, specs.Array]:
    return world_spec()


@pytest.fixture
def bandit_obs_spec() -> dict[str, specs.Array]:
    return bandit_spec()
