"""Observation encoders: chosen from the spec, PAD masking, one-hot actions, shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dm_env import specs

from agents import encoders
from agents.encoders import ImpalaResNet, ObservationEncoder, TokenPoolEncoder
from worlds import tokens


def test_token_constants_match_worlds() -> None:
    """agents/ duplicates these (it must not import worlds); they must stay equal."""
    assert encoders.PAD_TOKEN == tokens.PAD
    assert encoders.MASK_TOKEN == tokens.MASK
    assert encoders.DEFAULT_VOCAB_SIZE == tokens.VOCAB_SIZE


def test_encoders_chosen_from_world_spec(world_obs_spec, action_spec, make_obs) -> None:
    enc = ObservationEncoder(world_obs_spec, action_spec, 24, resnet_channels=(4, 8),
                             image_dim=16, token_dim=8, vector_hidden=16)
    assert enc.kinds == {"goal": "tokens", "prev_action": "one_hot", "prev_reward": "vector",
                         "proprio": "vector", "rgb": "image", "rules": "tokens",
                         "trial": "vector"}
    assert enc.one_hot_sizes == {"prev_action": action_spec.num_values}
    out = enc(make_obs(world_obs_spec, (3, 2)))
    assert out.shape == (3, 2, 24) and torch.isfinite(out).all()


def test_encoders_chosen_from_bandit_spec(bandit_obs_spec, action_spec, make_obs) -> None:
    enc = ObservationEncoder(bandit_obs_spec, action_spec, 16)
    assert set(enc.kinds.values()) == {"vector"} and not enc.images and not enc.tokens
    out = enc(make_obs(bandit_obs_spec, (5, 3)))
    assert out.shape == (5, 3, 16)
    with pytest.raises(ValueError, match=r"leading dims \(T, B\)"):
        enc(make_obs(bandit_obs_spec, (3,)))


def test_unsupported_key_raises(action_spec) -> None:
    spec = {"depth": specs.Array((8, 8, 1, 2), np.float32)}
    with pytest.raises(ValueError, match="'depth'"):
        ObservationEncoder(spec, action_spec, 8)


def test_prev_action_one_hot(action_spec) -> None:
    spec = {"prev_action": specs.Array((), np.int32)}
    enc = ObservationEncoder(spec, action_spec, 8)
    a = torch.tensor([[0, 3, -1]], dtype=torch.int32)  # -1: no previous action
    out = enc({"prev_action": a})
    assert not torch.allclose(out[0, 0], out[0, 1])
    one_hot = encoders._one_hot(a, action_spec.num_values, torch.float32)
    assert one_hot[0, 1, 3] == 1 and one_hot[0, 1].sum() == 1 and one_hot[0, 2].sum() == 0


def test_token_pool_masks_pad_and_all_pad_is_zero() -> None:
    torch.manual_seed(0)
    enc = TokenPoolEncoder((8, 8), vocab_size=21, embed_dim=16, out_dim=12)
    x = torch.zeros(3, 8, 8, dtype=torch.long)
    x[0, 0] = torch.tensor([2, 6, 10, 13, 4, 4, 11, 14])
    x[1, :2] = tokens.MASK  # hidden rules
    # x[2] is all PAD: no rules at all
    out = enc(x)
    assert out.shape == (3, 12) and torch.isfinite(out).all()
    assert torch.equal(out[2], torch.zeros(12))
    assert out[0].abs().sum() > 0 and out[1].abs().sum() > 0
    # PAD is masked out: changing the PAD embedding cannot change the pooled result.
    with torch.no_grad():
        enc.token.weight[tokens.PAD] += torch.randn(16)
    torch.testing.assert_close(enc(x), out, atol=1e-6, rtol=0)
    out.sum().backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in enc.parameters())


def test_token_position_matters() -> None:
    """The same tokens at other positions (another disjunct, another rule) encode differently."""
    torch.manual_seed(0)
    enc = TokenPoolEncoder((36,), vocab_size=21, embed_dim=16, out_dim=12)
    a = torch.zeros(1, 36, dtype=torch.long)
    b = torch.zeros(1, 36, dtype=torch.long)
    lit = torch.tensor([2, 6, 4, 4, 10, 13])
    a[0, :6], b[0, 18:24] = lit, lit
    assert (enc(a) - enc(b)).abs().max() > 1e-4


@pytest.mark.parametrize("shape", [(64, 64, 3), (48, 40, 3)])
def test_resnet_shapes(shape: tuple[int, int, int]) -> None:
    net = ImpalaResNet(shape, (4, 8, 8), 10)
    out = net(torch.randint(0, 256, (2, *shape), dtype=torch.uint8))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
