"""Runtime benchmark: end-to-end training frames/s in the 3D world, inline vs Ray, in one run.

Trains the same config (world family `tiny`, 64x64 first-person RGB by default, agent tiny,
uniform curriculum) with the inline backend (1 actor) and with the Ray backend at 1, 2 and 4
actors, the same envs per actor in every case, so a Ray run with N actors learns on N times the
frames per update. Each setting runs `--warmup` updates (actor start-up, first resets, lazy
allocations) and is then timed over `--updates` updates. The table shows frames/s, the ratio
to inline, and where the time went, summed over the timed updates:

- actor env s / actor inf s: the actors' own env stepping and policy inference (summed over
  actors, so with N parallel actors it can exceed the wall time);
- learner s: `Learner.step`; driver wait s: the driver blocked in ray.wait/get (Ray only);
- transfer s: publishing weights (`ray.put`), topping up task queues and sending requests
  (Ray), or the inline weight copy and bookkeeping.

`--overlap` also measures Ray with the consumed actors relaunched *before* the learner step
(acting overlaps learning, one update of policy lag).

The last columns compare with the envs alone on the same cores, measured in the same run: as
many processes as the setting has actors (1 for inline), each stepping its own batch of
`--envs` envs with random actions for as many steps as the timed updates take, started
together; "envs alone" is their total frames/s and "of envs" the training rate's fraction of
it (the cost of the agent, the learner and the runtime, where 1.0 would be free training).

On a 2-core machine more than 1-2 actors cannot scale: actors, the learner and Ray's own
processes share the cores, so 4 actors mostly measure Ray's overhead under oversubscription.
Ray is started here with one logical CPU per actor so 4 actors can be placed at all.

Usage: python tools/bench_runtime.py [--image-size 64] [--agent tiny] [--envs 4] [--unroll 20]
       [--warmup 2] [--updates 6] [--actors 1,2,4] [--overlap]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("LP_NUM_THREADS", "1")  # one rasteriser thread per env process

import torch  # noqa: E402

from ada.config import TrainConfig  # noqa: E402
from ada.trainer import Trainer  # noqa: E402

COLUMNS = ("backend", "actors", "frames/s", "vs inline", "actor env s", "actor inf s",
           "learner s", "driver wait s", "transfer s", "lag", "envs alone", "of envs")


def make_config(args: argparse.Namespace, backend: str, actors: int, out_dir: str
                ) -> TrainConfig:
    frames_per_update = actors * args.envs * args.unroll
    return TrainConfig.from_dict({
        "agent": {"size": args.agent},
        "env": {"kind": "world", "family": args.family, "image_size": args.image_size},
        "runtime": {"backend": backend, "num_actors": actors, "envs_per_actor": args.envs,
                    "unroll_length": args.unroll, "actor_cpus": 1.0,
                    "worker_nice": args.worker_nice},
        "total_frames": (args.warmup + args.updates + 1) * frames_per_update,
        "seed": args.seed, "out_dir": out_dir, "resume": "never", "progress": False,
        "log_every": 10_000, "checkpoint_every": 10_000})


def measure(args: argparse.Namespace, backend: str, actors: int, overlap: bool = False
            ) -> dict[str, Any]:
    """Warm up, then time `args.updates` training steps; returns the table row."""
    with tempfile.TemporaryDirectory() as out_dir:
        trainer = Trainer(make_config(args, backend, actors, out_dir))
        try:
            if backend == "ray":
                trainer.runtime.overlap = overlap
            for _ in range(args.warmup):
                trainer.train_step()
            frames0 = trainer.learner.frames
            sums: dict[str, float] = {}
            t0 = time.perf_counter()
            for _ in range(args.updates):
                for k, v in trainer.train_step().items():
                    sums[k] = sums.get(k, 0.0) + v
            wall = time.perf_counter() - t0
            frames = trainer.learner.frames - frames0
        finally:
            trainer.close()
    env_s, inf_s = sums["actor/env_s"], sums["actor/inference_s"]
    # inline, the driver "waits" while its own actors act: no separate wait to report
    wait_s = sums["actor_wait_s"] if backend == "ray" else float("nan")
    transfer_s = sums["publish_s"] + sums["relaunch_s"]
    name = backend if not overlap else f"{backend}+overlap"
    return {"backend": name, "actors": actors, "frames/s": frames / wall,
            "actor env s": env_s, "actor inf s": inf_s, "learner s": sums["learner_s"],
            "driver wait s": wait_s, "transfer s": transfer_s,
            "lag": sums["policy_lag"] / args.updates}


def _step_envs(args: argparse.Namespace, seed: int, steps: int, barrier: Any,
               results: Any) -> None:
    """One env-only process: build and warm up a batch, wait for the others, time `steps`."""
    import numpy as np

    from ada.envs import make_env_batch

    cfg = make_config(args, "inline", 1, tempfile.gettempdir())
    env = make_env_batch(cfg.env, args.envs, seed=seed)
    rng = np.random.default_rng(seed)
    n = int(env.action_spec().num_values)
    try:
        env.reset()
        for _ in range(args.warmup * args.unroll):
            env.step(rng.integers(0, n, args.envs))
        barrier.wait()
        t0 = time.perf_counter()
        for _ in range(steps):
            env.step(rng.integers(0, n, args.envs))
        results.put((steps * args.envs, time.perf_counter() - t0))
    finally:
        env.close()


def measure_envs(args: argparse.Namespace, processes: int) -> float:
    """Frames/s of `processes` env-only processes stepping together (see the docstring)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    steps = args.updates * args.unroll
    procs = [ctx.Process(target=_step_envs, args=(args, args.seed + i, steps, barrier, results))
             for i in range(processes)]
    for proc in procs:
        proc.start()
    done = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    return sum(f for f, _ in done) / max(w for _, w in done)


def print_table(rows: list[dict[str, Any]]) -> None:
    base = next((r["frames/s"] for r in rows if r["backend"] == "inline"), float("nan"))
    for r in rows:
        r["vs inline"] = r["frames/s"] / base
    cells = [[_fmt(r[c]) for c in COLUMNS] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
    print("  ".join(c.rjust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "-" if v != v else f"{v:.2f}"
    return str(v)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", default="tiny")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--agent", default="tiny", choices=("tiny", "small"))
    p.add_argument("--envs", type=int, default=4, help="envs per actor")
    p.add_argument("--unroll", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--updates", type=int, default=6)
    p.add_argument("--actors", default="1,2,4", help="Ray actor counts, comma-separated")
    p.add_argument("--overlap", action="store_true",
                   help="also measure Ray with acting overlapping the learner step")
    p.add_argument("--worker-nice", type=int, default=None,
                   help="runtime.worker_nice for the Ray actors (default: Ray's, 15)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    counts = [int(n) for n in args.actors.split(",") if n]
    import ray

    ray.init(num_cpus=max(counts), include_dashboard=False, log_to_driver=False)
    try:
        print(f"world family {args.family}, {args.image_size}x{args.image_size} RGB, agent "
              f"{args.agent}, {args.envs} envs/actor, unroll {args.unroll}, "
              f"{args.updates} timed updates after {args.warmup} warm-up, "
              f"{os.cpu_count()} CPUs", flush=True)
        rows = [measure(args, "inline", 1)]
        for n in counts:
            rows.append(measure(args, "ray", n))
            if args.overlap:
                rows.append(measure(args, "ray", n, overlap=True))
    finally:
        ray.shutdown()
    alone = {n: measure_envs(args, n) for n in sorted({1, *counts})}
    for r in rows:
        r["envs alone"] = alone[r["actors"]]
        r["of envs"] = r["frames/s"] / alone[r["actors"]]
    print_table(rows)


if __name__ == "__main__":
    main()
