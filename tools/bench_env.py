"""Env throughput benchmark: ada's WorldEnv against memory-maze, measured in the same run.

Prints, for 64x64 first-person RGB on a world family (default: `default`):
- env steps per second, wall clock and per CPU-second of this process (the per-core figure:
  Mesa's software renderer may use helper threads, and CPU time counts them all);
- task switch + reset time (new task into the existing scene, then `reset()`), mean and p95;
- the same for memory-maze 9x9 when it is installed (`pip install -e .[bench]`), and the ratios.

Usage: python tools/bench_env.py [--family default] [--steps 3000] [--tasks 20] [--mm-steps 600]
Targets: >= 20x memory-maze's steps/s, task switch < 10 ms.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("LP_NUM_THREADS", "1")  # one rasteriser thread: an honest per-core figure

import numpy as np  # noqa: E402


class Clock:
    """Wall and process-CPU time of a block."""

    def __enter__(self) -> Clock:
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0


def bench_ada(family: str, steps: int, n_tasks: int, seed: int) -> dict[str, float]:
    from worlds.env import WorldEnv
    from worlds.family import load_family
    from worlds.generator import TaskGenerator

    tasks = TaskGenerator(load_family(family)).generate(seed, n_tasks)
    env = WorldEnv(tasks[0], image_size=64)
    rng = np.random.default_rng(seed)
    n_actions = env.action_spec().num_values
    env.reset()
    for a in rng.integers(0, n_actions, 50):  # warm up caches and the GL pipeline
        env.step(a)
    switch_ms = []
    per_task = max(1, steps // n_tasks)
    step_wall = step_cpu = 0.0
    done = 0
    for task in tasks:
        with Clock() as c:
            env.set_task(task)
            env.reset()
        switch_ms.append(1e3 * c.wall)
        actions = rng.integers(0, n_actions, per_task)
        with Clock() as c:
            for a in actions:
                env.step(a)
        step_wall += c.wall
        step_cpu += c.cpu
        done += per_task
    env.close()
    return {"steps_per_s": done / step_wall, "steps_per_cpu_s": done / step_cpu,
            "switch_ms": float(np.mean(switch_ms)), "switch_p95_ms": float(
                np.percentile(switch_ms, 95))}


def bench_memory_maze(steps: int, seed: int) -> dict[str, float] | None:
    try:
        from memory_maze import tasks as mm_tasks
    except ImportError:
        return None
    env = mm_tasks.memory_maze_9x9(seed=seed)
    rng = np.random.default_rng(seed)
    n_actions = env.action_spec().num_values
    resets = []
    for _ in range(3):
        with Clock() as c:
            env.reset()
        resets.append(1e3 * c.wall)
    for a in rng.integers(0, n_actions, 20):
        env.step(a)
    with Clock() as c:
        for a in rng.integers(0, n_actions, steps):
            ts = env.step(a)
            if ts.last():
                env.reset()
    env.close()
    return {"steps_per_s": steps / c.wall, "steps_per_cpu_s": steps / c.cpu,
            "switch_ms": float(np.mean(resets)), "switch_p95_ms": float(np.max(resets))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--family", default="default")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--tasks", type=int, default=20)
    p.add_argument("--mm-steps", type=int, default=600)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    ada = bench_ada(args.family, args.steps, args.tasks, args.seed)
    mm = bench_memory_maze(args.mm_steps, args.seed)
    print(f"{'env':<28}{'steps/s':>10}{'steps/cpu-s':>13}{'switch+reset ms':>17}{'p95':>8}")
    rows = [(f"ada {args.family} 64x64", ada)]
    if mm is not None:
        rows.append(("memory_maze 9x9 64x64", mm))
    for name, r in rows:
        print(f"{name:<28}{r['steps_per_s']:>10.0f}{r['steps_per_cpu_s']:>13.0f}"
              f"{r['switch_ms']:>17.2f}{r['switch_p95_ms']:>8.2f}")
    if mm is None:
        print("memory-maze not installed (pip install -e .[bench]): no reference ratio")
        return
    ratio = ada["steps_per_s"] / mm["steps_per_s"]
    ratio_cpu = ada["steps_per_cpu_s"] / mm["steps_per_cpu_s"]
    print(f"ratio ada / memory_maze: {ratio:.1f}x steps/s wall, {ratio_cpu:.1f}x per CPU-second "
          f"(target >= 20x); task switch {ada['switch_ms']:.2f} ms (target < 10 ms), "
          f"{mm['switch_ms'] / ada['switch_ms']:.0f}x faster than memory_maze's reset")


if __name__ == "__main__":
    main()
