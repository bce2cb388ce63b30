"""The whole agent: shapes from specs, cached acting equals learning, episodes, config checks.

Float32 throughout; step-vs-forward agreement is asserted to 1e-5.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from dm_env import specs

from agents import AGENT_SIZES, Agent, AgentConfig, agent_config, count_parameters

TEST_CONFIG = AgentConfig(width=32, layers=2, heads=2, memory_length=6, mlp_ratio=2,
                          resnet_channels=(4, 8), image_dim=16, token_dim=8, token_queries=2,
                          vector_hidden=16, head_hidden=16)


def small_world_spec(world_obs_spec: dict) -> dict:
    """The world spec with a 16x16 image, to keep the ResNet cheap in tests that loop."""
    return {**world_obs_spec, "rgb": specs.Array((16, 16, 3), np.uint8, "rgb")}


def make_agent(obs_spec, action_spec, config: AgentConfig = TEST_CONFIG) -> Agent:
    torch.manual_seed(0)
    return Agent(obs_spec, action_spec, config).eval()


def test_shapes_world_spec(world_obs_spec, action_spec, make_obs) -> None:
    agent = make_agent(world_obs_spec, action_spec)  # full 64x64 rgb
    T, B = 3, 2
    mem = agent.initial_memory(B)
    logits, value, mem = agent(make_obs(world_obs_spec, (T, B)), mem,
                               torch.zeros(T, B, dtype=torch.bool))
    assert logits.shape == (T, B, action_spec.num_values) and value.shape == (T, B)
    assert mem.hidden.shape == (TEST_CONFIG.layers, TEST_CONFIG.memory_length, B, 32)
    logits, value, mem = agent.step(make_obs(world_obs_spec, (B,)), mem,
                                    torch.zeros(B, dtype=torch.bool))
    assert logits.shape == (B, action_spec.num_values) and value.shape == (B,)


def test_shapes_bandit_spec_and_numpy_inputs(bandit_obs_spec, make_obs) -> None:
    agent = make_agent(bandit_obs_spec, specs.DiscreteArray(4))
    obs = {k: v.numpy() for k, v in make_obs(bandit_obs_spec, (5, 3)).items()}
    logits, value, _ = agent(obs, agent.initial_memory(3), np.zeros((5, 3), bool))
    assert logits.shape == (5, 3, 4) and value.shape == (5, 3)


def test_step_loop_equals_forward(world_obs_spec, action_spec, make_obs) -> None:
    spec = small_world_spec(world_obs_spec)
    agent = make_agent(spec, action_spec)
    T, B = 10, 2
    obs = make_obs(spec, (T, B))
    first = torch.zeros(T, B, dtype=torch.bool)
    first[0] = True
    first[4, 1] = True
    with torch.no_grad():
        mem0 = agent.initial_memory(B)
        logits, value, mem_full = agent(obs, mem0, first)
        mem, step_logits, step_values = mem0, [], []
        for t in range(T):
            lt, vt, mem = agent.step({k: v[t] for k, v in obs.items()}, mem, first[t])
            step_logits.append(lt)
            step_values.append(vt)
    torch.testing.assert_close(torch.stack(step_logits), logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.stack(step_values), value, atol=1e-5, rtol=0)
    torch.testing.assert_close(mem.hidden, mem_full.hidden, atol=1e-5, rtol=0)


def test_episode_boundary_isolates_agent(world_obs_spec, action_spec, make_obs) -> None:
    spec = small_world_spec(world_obs_spec)
    agent = make_agent(spec, action_spec, dataclasses.replace(TEST_CONFIG, gate_bias=0.0))
    T, B, boundary = 6, 2, 3
    obs, other = make_obs(spec, (T, B), seed=0), make_obs(spec, (T, B), seed=1)
    changed = {k: torch.cat([other[k][:boundary], v[boundary:]]) for k, v in obs.items()}
    first = torch.zeros(T, B, dtype=torch.bool)
    first[boundary, 0] = True
    with torch.no_grad():
        h, _ = agent.embed(obs, agent.initial_memory(B), first)
        h2, _ = agent.embed(changed, agent.initial_memory(B), first)
        logits, value, _ = agent(obs, agent.initial_memory(B), first)
        logits2, value2, _ = agent(changed, agent.initial_memory(B), first)
    assert torch.equal(h[boundary:, 0], h2[boundary:, 0])
    assert torch.equal(logits[boundary:, 0], logits2[boundary:, 0])
    assert torch.equal(value[boundary:, 0], value2[boundary:, 0])
    # Env 1 has no episode start: its earlier (changed) steps are remembered.
    assert (h[boundary:, 1] - h2[boundary:, 1]).abs().max() > 1e-4


def test_gradients_flow(world_obs_spec, action_spec, make_obs) -> None:
    spec = small_world_spec(world_obs_spec)
    agent = make_agent(spec, action_spec).train()
    T, B = 4, 2
    logits, value, mem = agent(make_obs(spec, (T, B)), agent.initial_memory(B),
                               torch.zeros(T, B, dtype=torch.bool))
    target = torch.randint(0, action_spec.num_values, (T, B))
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), target.flatten())
    loss = loss + (value - 1.0).square().mean()
    loss.backward()
    missing = [n for n, p in agent.named_parameters() if p.grad is None]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for p in agent.parameters())
    for name in ("encoder.images.rgb.fc.weight", "encoder.tokens.goal.token.weight",
                 "core.blocks.0.attn.q.weight", "value.net.2.weight", "policy.net.0.weight"):
        assert agent.get_parameter(name).grad.abs().sum() > 0, name


@pytest.mark.parametrize("field, value, match", [
    ("width", 30, "width"),  # not divisible by heads=4
    ("heads", 0, "heads"),
    ("memory_length", -1, "memory_length"),
    ("layers", 1.5, "layers"),
    ("gate_bias", float("nan"), "gate_bias"),
    ("resnet_channels", (), "resnet_channels"),
    ("token_dim", 63, "token_dim"),
])
def test_config_validation(field: str, value, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AgentConfig(**{field: value})


def test_config_from_dict_and_presets() -> None:
    cfg = AgentConfig.from_dict({"width": 64, "heads": 4, "resnet_channels": [8, 16]})
    assert cfg.resnet_channels == (8, 16)
    with pytest.raises(ValueError, match="unknown AgentConfig fields"):
        AgentConfig.from_dict({"widht": 64})
    with pytest.raises(ValueError, match="size"):
        agent_config("huge")
    assert agent_config("small", memory_length=0).memory_length == 0
    assert set(AGENT_SIZES) >= {"tiny", "small", "medium"}
    widths = [AGENT_SIZES[s].width for s in ("tiny", "small", "medium", "large")]
    assert widths == sorted(widths)


def test_tiny_preset_builds(world_obs_spec, action_spec) -> None:
    agent = Agent(world_obs_spec, action_spec, AGENT_SIZES["tiny"])
    assert 0 < count_parameters(agent) < 1_000_000


def test_rejects_continuous_action_spec(bandit_obs_spec) -> None:
    with pytest.raises(ValueError, match="action_spec"):
        Agent(bandit_obs_spec, specs.BoundedArray((2,), np.float32, -1, 1))
