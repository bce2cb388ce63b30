"""Observation encoders chosen from the observation spec.

Task families differ in what they observe (the 3D world: image, goal and rule tokens, body state;
bandits: a few vectors), and the agent must be built for any of them without family-specific
code. `ObservationEncoder` therefore looks only at each key's spec (dtype and shape) and picks:

- uint8 arrays of rank 3 (H, W, C): images -> IMPALA ResNet (Espeholt et al. 2018);
- integer arrays of rank 1 or 2: token arrays (goal, rules) -> token + learned position
  embeddings pooled by attention, PAD tokens masked out (an all-PAD array encodes to zeros);
- an integer scalar named `prev_action`, when the action spec is discrete: one-hot;
- any other numeric array of rank <= 1: concatenated into one vector -> MLP.

The per-key features are concatenated and projected to `width`. Keys are processed in sorted
order so the parameter layout does not depend on dict ordering.

The agents package is a bottom layer beside `worlds` and must not import it (a network should
not depend on one env; `tools/import_graph.py` prints the layers), so the token constants below
are duplicated from worlds/tokens.py; a test checks they agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from dm_env import specs
from torch import Tensor, nn

# Duplicated from worlds/tokens.py (PAD, MASK, VOCAB_SIZE); tests/agents checks they match.
PAD_TOKEN = 0
MASK_TOKEN = 1
DEFAULT_VOCAB_SIZE = 21

PREV_ACTION_KEY = "prev_action"


class ResidualBlock(nn.Module):
    """relu -> conv -> relu -> conv, plus the input (IMPALA residual block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class ImpalaResNet(nn.Module):
    """(N, H, W, C) uint8 -> (N, out_dim): per stage conv, 3x3/2 max-pool, 2 residual blocks."""

    def __init__(self, image_shape: Sequence[int], channels: Sequence[int], out_dim: int) -> None:
        super().__init__()
        height, width, in_ch = image_shape
        stages: list[nn.Module] = []
        for ch in channels:
            stages += [nn.Conv2d(in_ch, ch, 3, padding=1),
                       nn.MaxPool2d(3, stride=2, padding=1),
                       ResidualBlock(ch), ResidualBlock(ch)]
            in_ch = ch
            height, width = (height + 1) // 2, (width + 1) // 2
        self.stages = nn.Sequential(*stages)
        # The image arrives channels-last (NHWC, permuted to an NCHW view without a copy); with
        # the filters in the same layout the convolutions skip a reorder on every call: 5%
        # off the acting encoder at 32x32 x 8 envs on one CPU thread, identical outputs.
        self.stages.to(memory_format=torch.channels_last)
        self.fc = nn.Linear(in_ch * height * width, out_dim)

    def forward(self, image: Tensor) -> Tensor:
        x = image.permute(0, 3, 1, 2).float() * (1.0 / 255.0)
        x = torch.relu(self.stages(x)).flatten(1)
        return torch.relu(self.fc(x))


class TokenPoolEncoder(nn.Module):
    """(N, *shape) int tokens -> (N, out_dim) by attention pooling with learned queries.

    Each token is embedded (token + position embedding, then a per-token MLP so that pooling can
    bind a token to its position), then `queries` learned queries attend over the tokens with
    `heads` heads, PAD masked out. Several queries let the pooled vector keep more than one
    weighted average. An array that is entirely PAD (no goal, no rules) gives exactly zeros.
    """

    def __init__(self, shape: Sequence[int], vocab_size: int, embed_dim: int, out_dim: int,
                 queries: int = 4, heads: int = 2) -> None:
        super().__init__()
        if embed_dim % heads:
            raise ValueError(f"token embed_dim={embed_dim} must be divisible by heads={heads}")
        self.num_tokens = int(np.prod(shape))
        self.vocab_size, self.heads, self.queries = vocab_size, heads, queries
        self.token = nn.Embedding(vocab_size, embed_dim)
        self.position = nn.Parameter(torch.randn(self.num_tokens, embed_dim) * 0.02)
        self.token_mlp = nn.Sequential(nn.LayerNorm(embed_dim), nn.Linear(embed_dim, embed_dim),
                                       nn.ReLU())
        self.query = nn.Parameter(torch.randn(queries, heads, embed_dim // heads) * 0.02)
        self.kv = nn.Linear(embed_dim, 2 * embed_dim)
        self.out = nn.Linear(queries * embed_dim, out_dim)

    def forward(self, tokens: Tensor) -> Tensor:
        N = tokens.shape[0]
        tokens = tokens.reshape(N, self.num_tokens).long()
        present = tokens != PAD_TOKEN  # (N, S)
        e = self.token_mlp(self.token(tokens) + self.position)
        k, v = self.kv(e).view(N, self.num_tokens, 2, self.heads, -1).unbind(dim=2)
        scores = torch.einsum("qhd,nshd->nhqs", self.query, k) / (k.shape[-1] ** 0.5)
        # Masking with -inf on an all-PAD row would give NaN; give such rows finite scores and
        # zero their output instead.
        any_present = present.any(dim=1)  # (N,)
        mask = present | ~any_present[:, None]
        scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        pooled = torch.einsum("nhqs,nshd->nqhd", torch.softmax(scores, dim=-1), v)
        pooled = pooled.reshape(N, -1) * any_present[:, None].to(pooled.dtype)
        return torch.relu(self.out(pooled)) * any_present[:, None].to(pooled.dtype)


def _classify(key: str, spec: specs.Array, action_spec: Any) -> str:
    dtype = np.dtype(spec.dtype)
    rank = len(spec.shape)
    if dtype == np.uint8 and rank == 3:
        return "image"
    if np.issubdtype(dtype, np.integer) and rank in (1, 2):
        return "tokens"
    if (key == PREV_ACTION_KEY and rank == 0 and np.issubdtype(dtype, np.integer)
            and _num_actions(spec, action_spec) is not None):
        return "one_hot"
    if rank <= 1 and (np.issubdtype(dtype, np.number) or dtype == np.bool_):
        return "vector"
    raise ValueError(
        f"observation key {key!r} with dtype {dtype} and shape {spec.shape} is not supported: "
        "allowed are uint8 (H, W, C) images, integer token arrays of rank 1 or 2, an integer "
        f"scalar {PREV_ACTION_KEY!r} with a discrete action spec, numeric arrays of rank <= 1")


def _num_actions(spec: specs.Array, action_spec: Any) -> int | None:
    for s in (spec, action_spec):
        if isinstance(s, specs.DiscreteArray):
            return int(s.num_values)
    return None


def _one_hot(index: Tensor, n: int, dtype: torch.dtype) -> Tensor:
    """One-hot that maps out-of-range indices (e.g. -1 for "no previous action") to zeros."""
    index = index.long()
    inside = (index >= 0) & (index < n)
    return nn.functional.one_hot(index.clamp(0, n - 1), n).to(dtype) * inside[..., None].to(dtype)


class TokenMemo:
    """A token encoder's outputs remembered per distinct token row, for acting.

    An episode's goal and rules do not change while it runs, so an actor would encode the same
    rows at every step; the memo encodes each distinct row once and gathers the rest. It is
    emptied whenever a parameter of the encoder changes (loaded weights, optimiser steps bump
    `Tensor._version`) and when it holds `capacity` rows. Rows computed in a smaller batch can
    differ from a full-batch recompute in the last float bits, as any change of batch does."""

    def __init__(self, encoder: nn.Module, capacity: int = 4096) -> None:
        self.encoder, self.capacity = encoder, capacity
        self.rows: dict[bytes, Tensor] = {}
        self.version: tuple[int, ...] = ()
        self.encoded = 0  # rows actually run through the encoder (for tests and benchmarks)

    def __call__(self, tokens: Tensor) -> Tensor:
        version = tuple(p._version for p in self.encoder.parameters())
        if version != self.version or len(self.rows) >= self.capacity:
            self.rows.clear()
            self.version = version
        keys = [r.tobytes() for r in tokens.reshape(tokens.shape[0], -1).cpu().numpy()]
        missing = list(dict.fromkeys(k for k in keys if k not in self.rows))
        if missing:
            first = {k: i for i, k in reversed(list(enumerate(keys)))}
            fresh = self.encoder(tokens[[first[k] for k in missing]])
            self.rows.update(zip(missing, fresh.unbind(0), strict=True))
            self.encoded += len(missing)
        return torch.stack([self.rows[k] for k in keys])


class ObservationEncoder(nn.Module):
    """dict of (T, B, *spec.shape) tensors -> (T, B, width), encoders chosen from the spec."""

    def __init__(self, obs_spec: Mapping[str, specs.Array], action_spec: Any, width: int, *,
                 resnet_channels: Sequence[int] = (16, 32, 32), image_dim: int = 256,
                 vocab_size: int = DEFAULT_VOCAB_SIZE, token_dim: int = 64,
                 token_queries: int = 4, token_heads: int = 2, vector_hidden: int = 128) -> None:
        super().__init__()
        if not isinstance(obs_spec, Mapping) or not obs_spec:
            raise ValueError("obs_spec must be a non-empty dict of dm_env specs")
        self.kinds = {key: _classify(key, obs_spec[key], action_spec) for key in sorted(obs_spec)}
        self.shapes = {key: tuple(obs_spec[key].shape) for key in self.kinds}
        self.images = nn.ModuleDict()
        self.tokens = nn.ModuleDict()
        self.one_hot_sizes: dict[str, int] = {}
        self.vector_keys: list[str] = []
        features, vector_dim = 0, 0
        for key, kind in self.kinds.items():
            spec = obs_spec[key]
            if kind == "image":
                self.images[key] = ImpalaResNet(spec.shape, resnet_channels, image_dim)
                features += image_dim
            elif kind == "tokens":
                self.tokens[key] = TokenPoolEncoder(spec.shape, vocab_size, token_dim,
                                                    token_dim, token_queries, token_heads)
                features += token_dim
            elif kind == "one_hot":
                n = _num_actions(spec, action_spec)
                assert n is not None
                self.one_hot_sizes[key] = n
                vector_dim += n
            else:
                self.vector_keys.append(key)
                vector_dim += int(np.prod(spec.shape, dtype=np.int64))
        self.vector_mlp: nn.Module | None = None
        if vector_dim:
            self.vector_mlp = nn.Sequential(nn.Linear(vector_dim, vector_hidden), nn.ReLU(),
                                            nn.Linear(vector_hidden, vector_hidden), nn.ReLU())
            features += vector_hidden
        self.project = nn.Sequential(nn.Linear(features, width), nn.ReLU())
        self.width = width
        self.token_memos: dict[str, TokenMemo] | None = None

    def memoise_tokens(self) -> None:
        """Encode each distinct goal / rules row once while acting (`TokenMemo`); used only
        outside autograd, so the learner's forward is unchanged."""
        self.token_memos = {k: TokenMemo(m) for k, m in self.tokens.items()}

    def forward(self, obs: Mapping[str, Tensor | np.ndarray]) -> Tensor:
        device = self.project[0].weight.device
        dtype = self.project[0].weight.dtype
        x = {key: torch.as_tensor(obs[key], device=device) for key in self.kinds}
        any_key = next(iter(self.kinds))
        lead = x[any_key].shape[: x[any_key].dim() - len(self.shapes[any_key])]
        if len(lead) != 2:
            raise ValueError(f"observations must have leading dims (T, B); {any_key!r} has "
                             f"shape {tuple(x[any_key].shape)} for spec {self.shapes[any_key]}")
        T, B = lead
        flat = {key: v.reshape(T * B, *self.shapes[key]) for key, v in x.items()}
        feats = [self.images[k](flat[k]).to(dtype) for k in self.images]
        memos = self.token_memos if not torch.is_grad_enabled() else None
        feats += [(memos[k] if memos is not None else self.tokens[k])(flat[k]).to(dtype)
                  for k in self.tokens]
        if self.vector_mlp is not None:
            parts = [_one_hot(flat[k], n, dtype) for k, n in self.one_hot_sizes.items()]
            parts += [flat[k].reshape(T * B, -1).to(dtype) for k in self.vector_keys]
            feats.append(self.vector_mlp(torch.cat(parts, dim=-1)))
        return self.project(torch.cat(feats, dim=-1)).view(T, B, self.width)

