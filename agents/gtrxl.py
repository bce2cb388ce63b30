"""Gated Transformer-XL core with an explicit memory cache and episode masking.

The core is the agent's memory. It follows GTrXL (Parisotto et al. 2019, "Stabilizing
Transformers for Reinforcement Learning"): pre-layer-norm blocks whose residual connections are
replaced by GRU-type gates biased towards the identity, so that at initialisation the network is
close to a reactive (Markov) policy and learns to use memory gradually. Attention uses the
relative position encoding of Transformer-XL (Dai et al. 2019): sinusoidal embeddings of the
query-key distance with the learned global biases `u` (content) and `v` (position), i.e. the four
terms (a) q.k (b) q.r (c) u.k (d) v.r, computed here with an explicit gather instead of the
rel-shift trick (same numbers, easier to check).

Why an explicit cache. Acting steps one env step at a time; learning runs segments of T steps
(R2D2-style, from the memory stored by the actor at the segment start). Both must compute the
same function, otherwise the learner optimises a different policy from the one that acted. The
cache `Memory` is therefore a plain value passed in and out: per layer, the inputs to that layer
at the last M positions, plus a boolean mask of which of them are still usable.

Why a sliding window. In every layer, every query attends to exactly itself and the M positions
before it (fewer near the start of an episode), whether it is computed in a T-step segment or in
a single-step call with M cached positions; stacking L layers reaches back L * M steps, as in
Transformer-XL. Plain Transformer-XL lets a query late in a segment see M + t positions but a
single-step call only M; the window removes that mismatch so that a step loop equals the full
forward pass for every M and T, and a memory-less control (M = 0) is a purely reactive policy
that does not depend on where segment boundaries fall.

Why episode masks. `first[t, b]` marks the first step of a new *episode* of env b. A query never
attends to a key from before the most recent episode start, neither in the current segment nor
in the cache (masked keys get exactly zero weight, so earlier episodes cannot leak in, bit for
bit). Trial boundaries inside an episode are deliberately not marked: carrying knowledge across
trials is what the memory is for.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn


class Memory(NamedTuple):
    """The cache passed between calls of `GTrXL.forward`.

    hidden: (L, M, B, D) the input to each layer at the last M positions (no gradient).
    valid:  (M, B) bool, True where the position belongs to the episode that is current at the
            end of the previous call (False for padding at the start and for older episodes).
    """

    hidden: Tensor
    valid: Tensor

    @property
    def length(self) -> int:
        return int(self.hidden.shape[1])

    @property
    def batch_size(self) -> int:
        return int(self.hidden.shape[2])

    def detach(self) -> Memory:
        return Memory(self.hidden.detach(), self.valid)

    def to(self, device: torch.device | str) -> Memory:
        return Memory(self.hidden.to(device), self.valid.to(device))

    def select(self, batch_index: Tensor | slice | list[int]) -> Memory:
        """Select envs (batch entries), e.g. to store the start state of a trajectory."""
        return Memory(self.hidden[:, :, batch_index], self.valid[:, batch_index])

    @staticmethod
    def concat(memories: list[Memory]) -> Memory:
        """Join memories along the batch axis (e.g. to batch trajectories for the learner)."""
        return Memory(torch.cat([m.hidden for m in memories], dim=2),
                      torch.cat([m.valid for m in memories], dim=1))


def sinusoidal_embedding(distances: Tensor, dim: int) -> Tensor:
    """(N,) distances -> (N, dim) [sin | cos] embeddings, as in Transformer-XL."""
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float64,
                                             device=distances.device) / dim))
    angles = distances.to(torch.float64)[:, None] * inv_freq[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class GRUGate(nn.Module):
    """GRU-type gating g(x, y) of GTrXL, replacing the residual x + y.

    r = sigmoid(W_r y + U_r x), z = sigmoid(W_z y + U_z x - b_g), h = tanh(W_g y + U_g (r * x)),
    g = (1 - z) * x + z * h. With b_g > 0 the update gate z starts near sigmoid(-b_g), so the
    block starts near the identity map (b_g is learnable here, initialised to `bias`).
    """

    def __init__(self, dim: int, bias: float) -> None:
        super().__init__()
        self.w = nn.Linear(dim, 3 * dim, bias=False)  # W_r, W_z, W_g applied to y
        self.u = nn.Linear(dim, 2 * dim, bias=True)  # U_r, U_z applied to x (bias carries -b_g)
        self.u_g = nn.Linear(dim, dim, bias=False)  # U_g applied to r * x
        with torch.no_grad():
            self.u.bias.zero_()
            self.u.bias[dim:].fill_(-bias)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.gate(x, y)[0]

    def gate(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """(gated output, update gate z); z is exposed to check the near-identity init."""
        wr, wz, wg = self.w(y).chunk(3, dim=-1)
        ur, uz = self.u(x).chunk(2, dim=-1)
        r = torch.sigmoid(wr + ur)
        z = torch.sigmoid(wz + uz)
        h = torch.tanh(wg + self.u_g(r * x))
        out = (1.0 - z) * x + z * h
        return out, z


class RelativeMultiHeadAttention(nn.Module):
    """Multi-head attention with Transformer-XL relative positions over a sliding window."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.head_dim, self.window = heads, dim // heads, window
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * dim, bias=False)
        self.r = nn.Linear(dim, dim, bias=False)  # W_{k,R}: projects relative embeddings
        self.out = nn.Linear(dim, dim, bias=False)
        self.u = nn.Parameter(torch.zeros(heads, self.head_dim))  # content bias
        self.v = nn.Parameter(torch.zeros(heads, self.head_dim))  # position bias

    def forward(self, x: Tensor, h: Tensor, rel_emb: Tensor, dist_index: Tensor,
                allowed: Tensor) -> Tensor:
        """x: (T,B,D) queries (normed), h: (K,B,D) keys/values (normed, memory then x),
        rel_emb: (W+1, D) embeddings of distances 0..W, dist_index: (T,K) long distance of each
        query-key pair clamped to [0, W], allowed: (B,T,K) bool."""
        T, B, D = x.shape
        K = h.shape[0]
        H, dh = self.heads, self.head_dim
        q = self.q(x).view(T, B, H, dh)
        k, v = self.kv(h).view(K, B, 2, H, dh).unbind(dim=2)
        r = self.r(rel_emb).view(-1, H, dh)
        content = torch.einsum("tbhd,kbhd->bhtk", q + self.u, k)  # terms (a) + (c)
        position = torch.einsum("tbhd,nhd->bhtn", q + self.v, r)  # terms (b) + (d), by distance
        position = position.gather(-1, dist_index.expand(B, H, T, K))
        scores = (content + position) * (1.0 / math.sqrt(dh))
        # Every query may attend to itself, so no row is fully masked and softmax stays finite;
        # masked keys get exactly zero weight.
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        attended = torch.einsum("bhtk,kbhd->tbhd", weights, v).reshape(T, B, D)
        return self.out(attended)


class GTrXLBlock(nn.Module):
    """One GTrXL layer: x -> gate(x, relu(attn(LN x, LN [mem; x]))) -> gate(., relu(mlp(LN .)))."""

    def __init__(self, dim: int, heads: int, window: int, mlp_ratio: int,
                 gate_bias: float) -> None:
        super().__init__()
        self.norm_attn = nn.LayerNorm(dim)
        self.attn = RelativeMultiHeadAttention(dim, heads, window)
        self.gate_attn = GRUGate(dim, gate_bias)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.ReLU(),
                                 nn.Linear(mlp_ratio * dim, dim))
        self.gate_mlp = GRUGate(dim, gate_bias)

    def forward(self, x: Tensor, mem: Tensor, rel_emb: Tensor, dist_index: Tensor,
                allowed: Tensor) -> Tensor:
        h = self.norm_attn(torch.cat([mem, x], dim=0))
        y = self.attn(h[mem.shape[0]:], h, rel_emb, dist_index, allowed)
        x = self.gate_attn(x, torch.relu(y))
        y = self.mlp(self.norm_mlp(x))
        return self.gate_mlp(x, torch.relu(y))


class GTrXL(nn.Module):
    """Stack of GTrXL blocks over (T, B, D) inputs with an explicit `Memory` of length M.

    forward(x, memory, first) -> (y, new_memory). In each layer, query t of env b attends to the
    positions t - M .. t (memory included) that lie in the same episode, i.e. at or after the
    most recent `first` at or before t; the new memory keeps, per layer, the last M layer inputs of
    [memory; segment], detached (stop-gradient as in Transformer-XL).
    """

    def __init__(self, dim: int, layers: int, heads: int, memory_length: int,
                 mlp_ratio: int = 4, gate_bias: float = 2.0) -> None:
        super().__init__()
        if dim % heads or dim % 2:
            raise ValueError(f"dim={dim} must be even and divisible by heads={heads}")
        self.dim, self.num_layers, self.memory_length = dim, layers, memory_length
        self.blocks = nn.ModuleList(
            GTrXLBlock(dim, heads, memory_length, mlp_ratio, gate_bias) for _ in range(layers))
        self.norm_out = nn.LayerNorm(dim)
        self.register_buffer(
            "rel_emb", sinusoidal_embedding(torch.arange(memory_length + 1), dim).float(),
            persistent=False)

    def initial_memory(self, batch_size: int, device: torch.device | str | None = None,
                       dtype: torch.dtype | None = None) -> Memory:
        """An empty cache: zeros, all positions invalid."""
        device = device if device is not None else self.rel_emb.device
        dtype = dtype if dtype is not None else self.rel_emb.dtype
        M = self.memory_length
        return Memory(torch.zeros(self.num_layers, M, batch_size, self.dim, device=device,
                                  dtype=dtype),
                      torch.zeros(M, batch_size, dtype=torch.bool, device=device))

    def forward(self, x: Tensor, memory: Memory, first: Tensor) -> tuple[Tensor, Memory]:
        T, B, D = x.shape
        M = self.memory_length
        if memory.hidden.shape != (self.num_layers, M, B, D) or memory.valid.shape != (M, B):
            raise ValueError(
                f"memory shapes {tuple(memory.hidden.shape)}, {tuple(memory.valid.shape)} do not "
                f"match (layers, M, B, D) = {(self.num_layers, M, B, D)} and (M, B) = {(M, B)}")
        if first.shape != (T, B):
            raise ValueError(f"first has shape {tuple(first.shape)}, expected (T, B) = {(T, B)}")
        first = first.to(device=x.device, dtype=torch.bool)
        K = M + T

        # Episode id of each position relative to the memory: memory is episode 0 (where valid),
        # the segment's steps count the `first` flags seen so far.
        episode = torch.cumsum(first.long(), dim=0)  # (T, B)
        key_episode = torch.cat([torch.zeros(M, B, dtype=torch.long, device=x.device), episode])
        key_valid = torch.cat([memory.valid.to(x.device),
                               torch.ones(T, B, dtype=torch.bool, device=x.device)])
        same_episode = key_episode.T[:, None, :] == episode.T[:, :, None]  # (B, T, K)

        # Distance between query t (position M + t) and key k; window keeps 0 <= dist <= M.
        q_pos = torch.arange(T, device=x.device)[:, None] + M
        dist = q_pos - torch.arange(K, device=x.device)[None, :]  # (T, K)
        in_window = (dist >= 0) & (dist <= M)
        allowed = same_episode & key_valid.T[:, None, :] & in_window[None]
        dist_index = dist.clamp(0, M)

        rel_emb = self.rel_emb.to(x.dtype)
        hidden = memory.hidden.to(x.dtype)
        layer_inputs = []
        h = x
        for i, block in enumerate(self.blocks):
            layer_inputs.append(h)
            h = block(h, hidden[i].detach(), rel_emb, dist_index, allowed)
        y = self.norm_out(h)

        if M == 0:
            new_memory = memory
        else:
            new_hidden = torch.cat([hidden, torch.stack(layer_inputs)], dim=1)[:, -M:].detach()
            last_episode = episode[-1]  # (B,)
            new_valid = (key_valid & (key_episode == last_episode[None]))[-M:]
            new_memory = Memory(new_hidden, new_valid)
        return y, new_memory
