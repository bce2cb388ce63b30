"""The agent network: observation encoder -> gated Transformer-XL memory -> policy and value.

One class serves both roles of the runtime: the learner calls `forward` on (T, B) segments from
the memory stored at their start, the actor calls `step` once per env step with the memory it
carries. Both compute the same function (tests/agents check it), so the policy that acted is the
policy that is being learned, up to weight lag.

`first[t, b]` marks the first step of a new episode of env b; memory is masked across episodes
but never across trials, so what the agent learned in trial 1 is available in trial 2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from dm_env import specs
from torch import Tensor, nn

from ada.validation import ConfigError, choice, fail, integer, is_integer, number
from agents.encoders import DEFAULT_VOCAB_SIZE, ObservationEncoder
from agents.gtrxl import GTrXL, Memory
from agents.heads import PolicyHead, ValueHead


@dataclass(frozen=True)
class AgentConfig:
    """Network sizes. Every field is validated on construction; errors name field and range.

    width: model width D of the core (and of the encoder output); even, divisible by heads.
    layers, heads: GTrXL depth and attention heads.
    memory_length: M, positions each query sees before itself (0 = memory-less, reactive).
    mlp_ratio: hidden width of the core's MLPs as a multiple of width.
    gate_bias: b_g of the GRU gates; > 0 starts each block near the identity.
    resnet_channels, image_dim: IMPALA ResNet channels per stage and its output size.
    vocab_size, token_dim, token_queries, token_heads: goal/rule token encoder.
    vector_hidden: MLP width for proprio, trial, previous action and reward.
    head_hidden: hidden width of the policy and value heads (0 = linear heads).
    """

    width: int = 128
    layers: int = 2
    heads: int = 4
    memory_length: int = 64
    mlp_ratio: int = 4
    gate_bias: float = 2.0
    resnet_channels: tuple[int, ...] = (16, 32, 32)
    image_dim: int = 256
    vocab_size: int = DEFAULT_VOCAB_SIZE
    token_dim: int = 64
    token_queries: int = 4
    token_heads: int = 2
    vector_hidden: int = 128
    head_hidden: int = 128

    def __post_init__(self) -> None:
        positive = ("width", "layers", "heads", "mlp_ratio", "image_dim", "token_dim",
                    "token_queries", "token_heads", "vector_hidden")
        for name in positive:
            integer(name, getattr(self, name), lo=1)
        integer("memory_length", self.memory_length, lo=0)
        integer("head_hidden", self.head_hidden, lo=0)
        integer("vocab_size", self.vocab_size, lo=2)
        if self.width % 2 or self.width % self.heads:
            raise ConfigError(f"width: {self.width} must be even and divisible by heads="
                              f"{self.heads}; allowed are multiples of lcm(2, heads)")
        if self.token_dim % self.token_heads:
            raise ConfigError(f"token_dim: {self.token_dim} must be divisible by token_heads="
                              f"{self.token_heads}")
        number("gate_bias", self.gate_bias)  # > 0 starts the gates near the identity
        channels = self.resnet_channels
        if isinstance(channels, list):  # Hydra/OmegaConf hands lists; keep the config hashable
            object.__setattr__(self, "resnet_channels", tuple(channels))
            channels = self.resnet_channels
        if (not isinstance(channels, tuple) or not channels
                or not all(is_integer(c) and c >= 1 for c in channels)):
            fail("resnet_channels", channels, "non-empty tuples of positive integers, e.g. "
                 "(16, 32, 32)")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> AgentConfig:
        """Build from a mapping (e.g. a Hydra config), rejecting unknown fields by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown AgentConfig fields {unknown}; allowed are "
                              f"{sorted(known)}")
        return cls(**dict(values))

    def replace(self, **changes: Any) -> AgentConfig:
        return dataclasses.replace(self, **changes)


AGENT_SIZES: dict[str, AgentConfig] = {
    # Unit tests and smoke runs.
    "tiny": AgentConfig(width=32, layers=1, heads=2, memory_length=8, mlp_ratio=2,
                        resnet_channels=(8, 16), image_dim=64, token_dim=16, token_queries=2,
                        vector_hidden=32, head_hidden=0),
    # Bandit and lever meta-RL: the memory spans a whole 20-pull episode.
    "bandit": AgentConfig(width=64, layers=2, heads=4, memory_length=20, vector_hidden=64,
                          head_hidden=64),
    # Sequence tasks and single-machine runs of the 3D world.
    "small": AgentConfig(width=128, layers=2, heads=4, memory_length=64),
    "medium": AgentConfig(width=256, layers=4, heads=8, memory_length=256, image_dim=256,
                          token_dim=64, vector_hidden=256, head_hidden=256),
    "large": AgentConfig(width=512, layers=6, heads=8, memory_length=512,
                         resnet_channels=(32, 64, 64), image_dim=512, token_dim=128,
                         vector_hidden=256, head_hidden=512),
}


def agent_config(size: str, **overrides: Any) -> AgentConfig:
    """A preset from AGENT_SIZES with fields overridden."""
    choice("size", size, sorted(AGENT_SIZES))
    return AGENT_SIZES[size].replace(**overrides)


class Agent(nn.Module):
    """Encoder -> GTrXL -> (policy logits, value), with the memory passed in and out."""

    def __init__(self, obs_spec: Mapping[str, specs.Array], action_spec: specs.DiscreteArray,
                 config: AgentConfig | None = None) -> None:
        super().__init__()
        if not isinstance(action_spec, specs.DiscreteArray):
            raise ValueError(f"action_spec: {action_spec!r} is not supported; allowed is a "
                             "dm_env.specs.DiscreteArray")
        self.config = config = config if config is not None else AgentConfig()
        self.num_actions = int(action_spec.num_values)
        self.obs_keys = tuple(sorted(obs_spec))
        self.obs_shapes = {k: tuple(obs_spec[k].shape) for k in self.obs_keys}
        self.encoder = ObservationEncoder(
            obs_spec, action_spec, config.width, resnet_channels=config.resnet_channels,
            image_dim=config.image_dim, vocab_size=config.vocab_size, token_dim=config.token_dim,
            token_queries=config.token_queries, token_heads=config.token_heads,
            vector_hidden=config.vector_hidden)
        self.core = GTrXL(config.width, config.layers, config.heads, config.memory_length,
                          config.mlp_ratio, config.gate_bias)
        self.policy = PolicyHead(config.width, self.num_actions, config.head_hidden)
        self.value = ValueHead(config.width, config.head_hidden)

    def initial_memory(self, batch_size: int, device: torch.device | str | None = None) -> Memory:
        """Empty memory for `batch_size` envs (every position invalid)."""
        if device is None:
            device = next(self.parameters()).device
        return self.core.initial_memory(batch_size, device=device)

    def embed(self, obs: Mapping[str, Tensor | np.ndarray], memory: Memory,
              first: Tensor) -> tuple[Tensor, Memory]:
        """(T, B, ...) observations -> (T, B, width) core outputs and the new memory; the
        shared torso for heads (including future model-based heads)."""
        x = self.encoder(obs)
        first = torch.as_tensor(first, device=x.device)
        return self.core(x, memory, first)

    def forward(self, obs: Mapping[str, Tensor | np.ndarray], memory: Memory,
                first: Tensor) -> tuple[Tensor, Tensor, Memory]:
        """(T, B, ...) observations -> logits (T, B, A), value (T, B), new memory."""
        h, memory = self.embed(obs, memory, first)
        return self.policy(h), self.value(h), memory

    def step(self, obs: Mapping[str, Tensor | np.ndarray], memory: Memory,
             first: Tensor) -> tuple[Tensor, Tensor, Memory]:
        """One env step for B envs: (B, ...) observations, first (B,) -> logits (B, A),
        value (B,), memory. Costs O(M) attention per step thanks to the cache."""
        obs_seq = {k: torch.as_tensor(obs[k])[None] for k in self.obs_keys}
        first = torch.as_tensor(first)[None]
        logits, value, memory = self.forward(obs_seq, memory, first)
        return logits[0], value[0], memory


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = ["AGENT_SIZES", "Agent", "AgentConfig", "Memory", "agent_config", "count_parameters"]
