"""Learner and acting benchmark for the agent on the 3D world's observations, in one run.

Measures, on this machine, with `--threads` torch threads (default 1: a per-core figure):

1. Learner throughput: frames/s of `Learner.step` (V-trace, forward + backward + Adam) for a
   named agent size on a synthetic (T, B) trajectory with the 3D world's observation spec
   (64x64 RGB, goal/rule tokens, proprio, trial, previous action and reward; 13 actions).
   Frames/s = T * B / median step time, after warm-up steps.
2. Cached acting against recomputing the context, per memory length M: one `Agent.step` for B
   envs with a full cache of M positions, against what an agent without a cache would have to
   do every step: `Agent.forward` over the last M + 1 observations from an empty memory, keeping
   the last output. Both are timed under `torch.inference_mode`; the ratio recompute / cached
   is what the cache saves per acting step. The cache is filled by one `forward` over the M
   observations before the last one (same cache as M single steps: tests/agents check the step
   loop equals `forward`), and the cached and recomputed logits of the last step are compared
   (max |diff|) as a check that both compute the same thing. Core-only columns repeat the
   comparison for the GTrXL core alone, on precomputed encoder outputs: the saving left for an
   agent that memoised per-frame image embeddings but not the transformer's.
3. Hardware use of training: FLOPs of one learner step counted once with
   `torch.utils.flop_counter.FlopCounterMode` (matmuls and convolutions, forward and backward;
   elementwise work is not counted), divided by the median step time, as a fraction of the
   FLOP/s of a dense float32 `torch.mm` of n x n matrices (2 n^3 FLOPs) measured in the same run.
   A low fraction says the step is bound by small ops, memory traffic or Python overhead rather
   than arithmetic, which is what batching or fusing would recover.

Why: the learner's frames/s sets how many env frames a run can learn from per hour, the cache
ratio is the reason acting is affordable at long memories, and the FLOP fraction says how far
the learner is from what the hardware can do.

`--device cuda` runs all three on the GPU (the matmul reference too, so the fraction is of the
same device's dense FLOP/s; every timed call ends with a CUDA synchronize); `--dtype bfloat16`
runs the learner as `runtime.learner_dtype=bfloat16` does (its forward under autocast) against
a bfloat16 matmul. Acting is always float32, as the actors act.

Usage: python tools/bench_learner.py [--size small] [--T 20] [--B 32] [--steps 5]
           [--memory-lengths 16,64,256] [--threads 1] [--device cpu|cuda]
           [--dtype float32|bfloat16] [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from dm_env import specs

from ada.learning.learner import Learner, VTraceConfig
from ada.runtime.trajectory import Trajectory, memory_to_numpy
from agents.agent import AGENT_SIZES, Agent, agent_config, count_parameters

NUM_ACTIONS = 13  # the 3D world's discrete action set (worlds/env.py)
VOCAB_MAX = 20  # largest token id (worlds/tokens.py VOCAB_SIZE - 1)


def world_specs(source: str) -> tuple[dict[str, specs.Array], specs.DiscreteArray, str]:
    """The 3D world's observation and action specs: from a `WorldEnv` on a task of the `tiny`
    family (no rendering), or, with source "direct" or when the world cannot be built, the same
    specs written out here. Returns (obs_spec, action_spec, where they came from)."""
    if source == "env":
        try:
            from worlds.env import WorldEnv
            from worlds.family import load_family
            from worlds.generator import TaskGenerator

            task = TaskGenerator(load_family("tiny")).sample(np.random.default_rng(0))
            env = WorldEnv(task, image_size=64, render=False)
            obs_spec, action_spec = env.observation_spec(), env.action_spec()
            env.close()
            return dict(obs_spec), action_spec, "worlds.env.WorldEnv"
        except Exception as e:  # noqa: BLE001 - any failure: fall back to the written-out specs
            print(f"[specs] WorldEnv unavailable ({type(e).__name__}: {e}); using direct specs")
    obs_spec = {
        "rgb": specs.BoundedArray((64, 64, 3), np.uint8, 0, 255, "rgb"),
        "goal": specs.BoundedArray((36,), np.int32, 0, VOCAB_MAX, "goal"),
        "rules": specs.BoundedArray((8, 8), np.int32, 0, VOCAB_MAX, "rules"),
        "proprio": specs.Array((8,), np.float32, "proprio"),
        "trial": specs.BoundedArray((3,), np.float32, (0.0, 1.0, 0.0), (12.0, 13.0, 1.0),
                                    "trial"),
        "prev_action": specs.BoundedArray((), np.int32, 0, NUM_ACTIONS - 1, "prev_action"),
        "prev_reward": specs.BoundedArray((), np.float32, 0.0, 1.0, "prev_reward"),
    }
    return obs_spec, specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action"), "direct"


def random_obs(obs_spec: Mapping[str, specs.Array], lead: tuple[int, ...],
               rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Observations of leading shape `lead`, in each spec's dtype and range (tokens include PAD)."""
    out = {}
    for key, s in obs_spec.items():
        shape, dtype = (*lead, *s.shape), np.dtype(s.dtype)
        bounded = isinstance(s, specs.BoundedArray)
        if np.issubdtype(dtype, np.integer):
            lo = int(np.min(s.minimum)) if bounded else 0
            hi = int(np.max(s.maximum)) if bounded else (
                NUM_ACTIONS - 1 if key == "prev_action" else VOCAB_MAX)
            out[key] = rng.integers(lo, hi + 1, shape).astype(dtype)
        elif bounded:
            lo_b = np.broadcast_to(s.minimum, s.shape)
            hi_b = np.broadcast_to(s.maximum, s.shape)
            out[key] = rng.uniform(lo_b, hi_b, shape).astype(dtype)
        else:
            out[key] = rng.standard_normal(shape).astype(dtype)
    return out


def synthetic_trajectory(agent: Agent, obs_spec: Mapping[str, specs.Array], T: int, B: int,
                         rng: np.random.Generator) -> Trajectory:
    """A (T, B) unroll with random observations, a few episode starts, sparse rewards and
    near-uniform behaviour logits; memory = the agent's empty cache, as an actor would store."""
    first = rng.random((T + 1, B)) < 0.02
    hidden, valid = memory_to_numpy(agent.initial_memory(B))
    return Trajectory(
        obs=random_obs(obs_spec, (T + 1, B), rng), first=first,
        actions=rng.integers(0, agent.num_actions, (T, B)).astype(np.int64),
        rewards=(rng.random((T, B)) < 0.05).astype(np.float32),
        discounts=(~first[1:]).astype(np.float32),
        behaviour_logits=(0.1 * rng.standard_normal((T, B, agent.num_actions))).astype(
            np.float32),
        memory_hidden=hidden, memory_valid=valid, policy_version=0)


def sync(device: str) -> None:
    """Wait for queued GPU work, so a wall time covers the work and not only its launch."""
    if device == "cuda":
        torch.cuda.synchronize()


def time_calls(fn: Callable[[], object], reps: int, budget_s: float = math.inf,
               device: str = "cpu") -> list[float]:
    """Wall seconds of up to `reps` calls of fn; stops early once `budget_s` is spent (at least
    one call is always timed)."""
    times: list[float] = []
    while len(times) < reps and (not times or sum(times) < budget_s):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return times


def bench_learner(size: str, obs_spec: Mapping[str, specs.Array],
                  action_spec: specs.DiscreteArray, T: int, B: int, warmup: int, steps: int,
                  seed: int, device: str = "cpu", dtype: str = "float32") -> dict[str, Any]:
    """Frames/s of Learner.step and the counted FLOPs of one step."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(seed)
    agent = Agent(obs_spec, action_spec, agent_config(size))
    traj = synthetic_trajectory(agent, obs_spec, T, B, np.random.default_rng(seed))
    learner = Learner(agent, VTraceConfig(), total_updates=10**6, device=device, dtype=dtype)
    # The counted step doubles as the first warm-up step; it is never timed.
    with FlopCounterMode(display=False) as counter:
        learner.step(traj)
    flops = int(counter.get_total_flops())
    for _ in range(max(0, warmup - 1)):
        learner.step(traj)
    walls, cpus = [], []
    for _ in range(steps):
        sync(device)
        w0, c0 = time.perf_counter(), time.process_time()
        metrics = learner.step(traj)  # its .item() metrics already wait for the GPU
        sync(device)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    if not all(math.isfinite(v) for v in metrics.values()):
        raise RuntimeError(f"non-finite learner metrics: {metrics}")
    step_s = statistics.median(walls)
    return {"size": size, "T": T, "B": B, "params": count_parameters(agent),
            "memory_length": agent.config.memory_length, "steps": steps,
            "step_s": step_s, "step_s_min": min(walls), "step_s_max": max(walls),
            "frames_per_s": T * B / step_s, "cpu_per_wall": sum(cpus) / sum(walls),
            "flops_per_step": flops, "flops_per_frame": flops / (T * B),
            "achieved_flop_s": flops / step_s}


def bench_matmul(n: int, reps: int, device: str = "cpu",
                 dtype: str = "float32") -> dict[str, float]:
    """Dense n x n matmul FLOP/s on `device` in `dtype` (median over reps, after a warm-up)."""
    g = torch.Generator().manual_seed(0)
    kind = getattr(torch, dtype)
    a, b = (torch.randn(n, n, generator=g).to(device, kind) for _ in range(2))
    out = torch.empty(n, n, device=device, dtype=kind)
    torch.mm(a, b, out=out)
    times = time_calls(lambda: torch.mm(a, b, out=out), reps, device=device)
    return {"n": n, "reps": reps, "s": statistics.median(times),
            "flop_s": 2 * n**3 / statistics.median(times)}


def bench_acting(size: str, obs_spec: Mapping[str, specs.Array],
                 action_spec: specs.DiscreteArray, M: int, B: int, step_reps: int,
                 recompute_reps: int, recompute_budget_s: float, seed: int,
                 device: str = "cpu") -> dict[str, Any]:
    """Cached single step vs recomputing the last M + 1 steps from an empty memory."""
    torch.manual_seed(seed)
    agent = Agent(obs_spec, action_spec, agent_config(size, memory_length=M)).to(device).eval()
    rng = np.random.default_rng(seed + M)
    ctx = {k: torch.from_numpy(v).to(device)
           for k, v in random_obs(obs_spec, (M + 1, B), rng).items()}
    first = torch.zeros(M + 1, B, dtype=torch.bool, device=device)
    first[0] = True  # one episode spanning the whole context: every cached position is usable
    last = {k: v[M] for k, v in ctx.items()}
    with torch.inference_mode():
        empty = agent.initial_memory(B)
        # Fill the cache: one forward over the M steps before the last (also the warm-up).
        _, _, memory = agent.forward({k: v[:M] for k, v in ctx.items()}, empty, first[:M])
        if M and not bool(memory.valid.all()):
            raise RuntimeError("cache not full after the fill")
        agent.step(last, memory, first[M])  # warm-up
        step_times = time_calls(lambda: agent.step(last, memory, first[M]), step_reps,
                                device=device)
        logits_cached, _, _ = agent.step(last, memory, first[M])
        full: dict[str, torch.Tensor] = {}

        def recompute() -> None:
            full["logits"] = agent.forward(ctx, empty, first)[0][-1]

        re_times = time_calls(recompute, recompute_reps, recompute_budget_s, device)
        diff = float((logits_cached - full["logits"]).abs().max())

        # The same comparison for the core alone, on encoder outputs computed beforehand.
        core = agent.core
        x = agent.encoder(ctx)
        core_empty = core.initial_memory(B)
        _, core_memory = core(x[:M], core_empty, first[:M])
        core(x[M:], core_memory, first[M:])
        core_step = time_calls(lambda: core(x[M:], core_memory, first[M:]), step_reps,
                               device=device)
        core_full = time_calls(lambda: core(x, core_empty, first), step_reps,
                               recompute_budget_s, device)
    cached_s, recompute_s = statistics.median(step_times), statistics.median(re_times)
    core_cached_s, core_recompute_s = statistics.median(core_step), statistics.median(core_full)
    return {"memory_length": M, "B": B, "cached_s": cached_s, "recompute_s": recompute_s,
            "ratio": recompute_s / cached_s, "recompute_reps": len(re_times),
            "core_cached_s": core_cached_s, "core_recompute_s": core_recompute_s,
            "core_ratio": core_recompute_s / core_cached_s, "max_abs_logit_diff": diff}


def parse_lengths(text: str) -> list[int]:
    lengths = [int(s) for s in text.split(",") if s.strip()]
    if not lengths or min(lengths) < 0:
        raise argparse.ArgumentTypeError(f"memory lengths {text!r}: need ints >= 0, e.g. 16,64")
    return lengths


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="small", choices=sorted(AGENT_SIZES))
    p.add_argument("--T", type=int, default=20, help="unroll length of the learner batch")
    p.add_argument("--B", type=int, default=32, help="learner batch and acting envs")
    p.add_argument("--warmup", type=int, default=None, help="learner warm-up steps (default 2)")
    p.add_argument("--steps", type=int, default=None, help="timed learner steps (default 5)")
    p.add_argument("--memory-lengths", type=parse_lengths, default=None,
                   help="comma-separated M for the acting comparison (default 16,64,256)")
    p.add_argument("--step-reps", type=int, default=None,
                   help="timed cached steps per M (default 20)")
    p.add_argument("--recompute-reps", type=int, default=None,
                   help="timed recomputations per M (default 3, fewer past --recompute-budget)")
    p.add_argument("--recompute-budget", type=float, default=8.0,
                   help="seconds per M after which recomputation reps stop (>= 1 rep)")
    p.add_argument("--matmul-n", type=int, default=None, help="matmul size (default 2048)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the learner, the acting comparison and the matmul run")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32",
                   help="learner precision (runtime.learner_dtype) and the matmul's dtype")
    p.add_argument("--spec", choices=("env", "direct"), default="env",
                   help="observation spec from a WorldEnv or written out here")
    p.add_argument("--quick", action="store_true",
                   help="very short run: 1+2 learner steps, M=8,32, few reps, 1024 matmul")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the results to this file")
    args = p.parse_args()
    quick = args.quick

    def pick(value: Any, default: Any, quick_default: Any) -> Any:
        return value if value is not None else (quick_default if quick else default)

    warmup = pick(args.warmup, 2, 1)
    steps = pick(args.steps, 5, 2)
    lengths = pick(args.memory_lengths, [16, 64, 256], [8, 32])
    step_reps = pick(args.step_reps, 20, 5)
    recompute_reps = pick(args.recompute_reps, 3, 1)
    matmul_n = pick(args.matmul_n, 2048, 1024)
    if min(args.T, args.B, steps, step_reps, recompute_reps, matmul_n, args.threads) < 1 \
            or warmup < 1:
        p.error("--T, --B, --warmup, --steps, reps, --matmul-n and --threads must be >= 1")

    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: torch sees no CUDA device (torch.cuda.is_available() is False)")
    torch.set_num_threads(args.threads)
    obs_spec, action_spec, spec_source = world_specs(args.spec)
    print(f"torch {torch.__version__} | threads {torch.get_num_threads()} of "
          f"{os.cpu_count()} cpus | {platform.machine()} | specs: {spec_source} | "
          f"size {args.size} | T={args.T} B={args.B} | device {args.device} "
          f"{torch.cuda.get_device_name() if args.device == 'cuda' else ''}| {args.dtype}")
    t_start = time.perf_counter()

    learn = bench_learner(args.size, obs_spec, action_spec, args.T, args.B, warmup, steps,
                          args.seed, args.device, args.dtype)
    mm = bench_matmul(matmul_n, 3 if quick else 5, args.device, args.dtype)
    fraction = learn["achieved_flop_s"] / mm["flop_s"]
    acting = [bench_acting(args.size, obs_spec, action_spec, M, args.B, step_reps,
                           recompute_reps, args.recompute_budget, args.seed, args.device)
              for M in lengths]
    total_s = time.perf_counter() - t_start

    print(f"\n[1] learner step ({args.size}, {learn['params'] / 1e6:.2f}M params, "
          f"M={learn['memory_length']}, T={args.T}, B={args.B}, median of {steps} after "
          f"{warmup} warm-up)")
    print(f"    step {1e3 * learn['step_s']:.0f} ms (min {1e3 * learn['step_s_min']:.0f}, max "
          f"{1e3 * learn['step_s_max']:.0f}) -> {learn['frames_per_s']:.0f} frames/s; "
          f"cpu/wall {learn['cpu_per_wall']:.2f} (threads {args.threads})")
    print(f"\n[2] acting, {args.size}, B={args.B} envs: one step with a full cache of M vs "
          "forward over the last M+1 steps from empty memory")
    print(f"    {'M':>5}{'cached ms':>11}{'recompute ms':>14}{'ratio':>9}{'reps':>6}"
          f"{'core cached':>13}{'core recomp':>13}{'core ratio':>12}{'max|dlogit|':>13}")
    for r in acting:
        print(f"    {r['memory_length']:>5}{1e3 * r['cached_s']:>11.2f}"
              f"{1e3 * r['recompute_s']:>14.1f}{r['ratio']:>8.1f}x{r['recompute_reps']:>6}"
              f"{1e3 * r['core_cached_s']:>13.2f}{1e3 * r['core_recompute_s']:>13.2f}"
              f"{r['core_ratio']:>11.1f}x{r['max_abs_logit_diff']:>13.1e}")
    print(f"\n[3] FLOP use: learner step {learn['flops_per_step'] / 1e9:.1f} GFLOP "
          f"({learn['flops_per_frame'] / 1e6:.0f} MFLOP/frame, matmul+conv fwd+bwd) / "
          f"{1e3 * learn['step_s']:.0f} ms = {learn['achieved_flop_s'] / 1e9:.1f} GFLOP/s")
    print(f"    dense {args.dtype} mm on {args.device} {mm['n']}x{mm['n']}: "
          f"{mm['flop_s'] / 1e9:.1f} GFLOP/s (median of {mm['reps']})")
    print(f"    fraction of dense matmul FLOP/s: {fraction:.1%}")
    print(f"\ntotal {total_s:.0f} s")

    if args.json:
        result = {"config": {"size": args.size, "T": args.T, "B": args.B, "warmup": warmup,
                             "steps": steps, "threads": args.threads, "specs": spec_source,
                             "device": args.device, "dtype": args.dtype,
                             "torch": torch.__version__, "cpus": os.cpu_count(),
                             "quick": quick},
                  "learner": learn, "matmul": mm, "flop_fraction": fraction,
                  "acting": acting, "total_s": total_s}
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
