"""The GTrXL core: cached stepping equals the full pass, episode masking, memory, gating.

All checks run in float32 with the default PyTorch initialisation and unit-scale inputs; the
cached/full comparisons hold to 1e-5 (observed ~1e-6), the leakage checks hold bit for bit
because masked keys get exactly zero attention weight.
"""

from __future__ import annotations

import pytest
import torch

from agents.gtrxl import GRUGate, GTrXL, Memory

D, L, H = 32, 2, 4


def make_core(memory_length: int, seed: int = 0, gate_bias: float = 2.0) -> GTrXL:
    torch.manual_seed(seed)
    return GTrXL(D, L, H, memory_length, mlp_ratio=2, gate_bias=gate_bias).eval()


def inputs(T: int, B: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(T, B, D, generator=torch.Generator().manual_seed(seed))


def run_steps(core: GTrXL, x: torch.Tensor, first: torch.Tensor,
              memory: Memory) -> tuple[torch.Tensor, Memory]:
    ys = []
    for t in range(x.shape[0]):
        y, memory = core(x[t:t + 1], memory, first[t:t + 1])
        ys.append(y)
    return torch.cat(ys), memory


@pytest.mark.parametrize("memory_length", [0, 3, 24])
def test_step_loop_equals_full_forward(memory_length: int) -> None:
    T, B = 16, 3
    core = make_core(memory_length)
    x = inputs(T, B)
    first = torch.zeros(T, B, dtype=torch.bool)
    first[0, :] = True
    first[6, 1] = True  # an episode boundary mid-segment for env 1
    first[11, 2] = True
    memory = core.initial_memory(B)
    with torch.no_grad():
        y_full, mem_full = core(x, memory, first)
        y_step, mem_step = run_steps(core, x, first, memory)
    torch.testing.assert_close(y_step, y_full, atol=1e-5, rtol=0)
    torch.testing.assert_close(mem_step.hidden, mem_full.hidden, atol=1e-5, rtol=0)
    assert torch.equal(mem_step.valid, mem_full.valid)
    assert mem_full.hidden.shape == (L, memory_length, B, D)


@pytest.mark.parametrize("memory_length", [18, 5])
def test_segments_equal_one_long_forward(memory_length: int) -> None:
    """3 segments of T=6 with the memory carried equal one pass over all 18 steps. With M=18 the
    memory covers the whole context; with M=5 < T the sliding window makes it exact as well."""
    T, B = 6, 2
    core = make_core(memory_length)
    x = inputs(3 * T, B)
    first = torch.zeros(3 * T, B, dtype=torch.bool)
    first[0] = True
    first[8, 1] = True
    with torch.no_grad():
        y_long, mem_long = core(x, core.initial_memory(B), first)
        memory, ys = core.initial_memory(B), []
        for s in range(3):
            y, memory = core(x[s * T:(s + 1) * T], memory, first[s * T:(s + 1) * T])
            ys.append(y)
    torch.testing.assert_close(torch.cat(ys), y_long, atol=1e-5, rtol=0)
    torch.testing.assert_close(memory.hidden, mem_long.hidden, atol=1e-5, rtol=0)
    assert torch.equal(memory.valid, mem_long.valid)


def test_no_leak_across_episode_within_segment() -> None:
    T, B, boundary = 12, 2, 5
    core = make_core(16)
    x = inputs(T, B)
    first = torch.zeros(T, B, dtype=torch.bool)
    first[boundary, 0] = True  # env 0: new episode at t=5; env 1: same episode throughout
    x2 = x.clone()
    x2[:boundary] += torch.randn(boundary, B, D)
    with torch.no_grad():
        y, _ = core(x, core.initial_memory(B), first)
        y2, _ = core(x2, core.initial_memory(B), first)
    assert torch.equal(y[boundary:, 0], y2[boundary:, 0])  # nothing leaks past the boundary
    assert not torch.allclose(y[:boundary, 0], y2[:boundary, 0])
    # Without an episode start the earlier steps are remembered (trial boundaries are unmarked).
    assert (y[boundary:, 1] - y2[boundary:, 1]).abs().max() > 1e-4


def test_no_leak_across_episode_via_memory() -> None:
    T, B, boundary = 8, 2, 3
    core = make_core(16)
    x_a, x_b = inputs(T, B, seed=1), inputs(T, B, seed=2)
    x_a2 = x_a + torch.randn(T, B, D)
    first_a = torch.zeros(T, B, dtype=torch.bool)
    first_b = torch.zeros(T, B, dtype=torch.bool)
    first_b[boundary, 0] = True  # env 0 starts a new episode inside the second segment
    with torch.no_grad():
        _, mem = core(x_a, core.initial_memory(B), first_a)
        _, mem2 = core(x_a2, core.initial_memory(B), first_a)
        y, _ = core(x_b, mem, first_b)
        y2, _ = core(x_b, mem2, first_b)
    assert torch.equal(y[boundary:, 0], y2[boundary:, 0])
    assert (y[:boundary, 0] - y2[:boundary, 0]).abs().max() > 1e-4
    assert (y[:, 1] - y2[:, 1]).abs().max() > 1e-4  # memory is real across segments


def test_memory_validity_after_episode_start() -> None:
    """Positions before the last episode start are marked invalid in the returned memory."""
    T, B = 6, 2
    core = make_core(8)
    first = torch.zeros(T, B, dtype=torch.bool)
    first[0] = True
    first[4, 1] = True
    with torch.no_grad():
        _, mem = core(inputs(T, B), core.initial_memory(B), first)
    assert mem.valid[:, 0].tolist() == [False] * 2 + [True] * 6
    assert mem.valid[:, 1].tolist() == [False] * 6 + [True] * 2


def test_zero_memory_depends_only_on_current_step() -> None:
    T, B = 7, 2
    core = make_core(0)
    x = inputs(T, B)
    first = torch.zeros(T, B, dtype=torch.bool)
    memory = core.initial_memory(B)
    assert memory.hidden.shape == (L, 0, B, D) and memory.valid.shape == (0, B)
    x2 = x.clone()
    x2[:3] += torch.randn(3, B, D)
    with torch.no_grad():
        _, mem_a = core(inputs(T, B, seed=5), memory, first)  # a different previous segment
        y, mem = core(x, mem_a, first)
        y2, _ = core(x2, memory, first)
    assert mem.hidden.shape == (L, 0, B, D)
    assert torch.equal(y[3:], y2[3:])
    assert not torch.allclose(y[:3], y2[:3])


def test_window_limits_context_to_memory_length() -> None:
    """Each layer sees itself and the M positions before it, so L layers reach back L * M
    steps (as in Transformer-XL): step t - L*M matters, step t - L*M - 1 does not."""
    T, B, M = 8, 1, 2
    reach = L * M
    core = make_core(M)
    x = inputs(T, B)
    first = torch.zeros(T, B, dtype=torch.bool)
    with torch.no_grad():
        y, _ = core(x, core.initial_memory(B), first)
        x_far, x_near = x.clone(), x.clone()
        # Random perturbations: a constant shift would be invisible behind the LayerNorms.
        x_far[T - 1 - reach - 1] += torch.randn(B, D)
        x_near[T - 1 - reach] += torch.randn(B, D)
        y_far, _ = core(x_far, core.initial_memory(B), first)
        y_near, _ = core(x_near, core.initial_memory(B), first)
    assert torch.equal(y[T - 1], y_far[T - 1])
    assert (y[T - 1] - y_near[T - 1]).abs().max() > 1e-4


def test_causal() -> None:
    T, B = 6, 2
    core = make_core(8)
    x = inputs(T, B)
    x2 = x.clone()
    x2[4:] += torch.randn(2, B, D)
    first = torch.zeros(T, B, dtype=torch.bool)
    with torch.no_grad():
        y, _ = core(x, core.initial_memory(B), first)
        y2, _ = core(x2, core.initial_memory(B), first)
    assert torch.equal(y[:4], y2[:4])
    assert not torch.allclose(y[4:], y2[4:])


def test_gradients_flow_and_memory_is_detached() -> None:
    T, B = 5, 2
    core = make_core(4).train()
    x = inputs(T, B).requires_grad_(True)
    y, mem = core(x, core.initial_memory(B), torch.zeros(T, B, dtype=torch.bool))
    assert not mem.hidden.requires_grad  # stop-gradient on memory, as in Transformer-XL
    y.square().mean().backward()
    grads = {n: p.grad for n, p in core.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    assert grads["blocks.0.attn.u"].abs().sum() > 0
    assert grads["blocks.1.attn.r.weight"].abs().sum() > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_gate_starts_near_identity() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(256, D), torch.randn(256, D)
    out, z = GRUGate(D, bias=2.0).gate(x, y)
    assert 0.05 < z.mean().item() < 0.2  # sigmoid(-2) = 0.12
    _, z0 = GRUGate(D, bias=0.0).gate(x, y)
    assert 0.4 < z0.mean().item() < 0.6
    # Whole blocks: a near-identity gate keeps the residual stream close to its input.
    x_seq = inputs(4, 2)
    changes = {}
    for bias in (2.0, -2.0):
        block = make_core(4, gate_bias=bias).blocks[0]
        mem = torch.zeros(4, 2, D)
        allowed = torch.ones(2, 4, 8, dtype=torch.bool).tril(diagonal=4)
        dist = (torch.arange(4)[:, None] + 4 - torch.arange(8)[None]).clamp(0, 4)
        rel = make_core(4).rel_emb
        with torch.no_grad():
            out = block(x_seq, mem, rel, dist, allowed)
        changes[bias] = ((out - x_seq).norm() / x_seq.norm()).item()
    assert changes[2.0] < 0.5 < changes[-2.0]


def test_memory_shape_errors_and_helpers() -> None:
    core = make_core(4)
    with pytest.raises(ValueError, match="memory shapes"):
        core(inputs(3, 2), core.initial_memory(3), torch.zeros(3, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="first"):
        core(inputs(3, 2), core.initial_memory(2), torch.zeros(3, dtype=torch.bool))
    mem = core.initial_memory(3)
    joined = Memory.concat([mem.select([0]), mem.select(slice(1, 3))])
    assert joined.hidden.shape == mem.hidden.shape and joined.batch_size == 3
    assert joined.length == 4
