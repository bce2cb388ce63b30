"""Physics fidelity audit of a task family: no-op trials and random play, every step checked.

Usage: python tools/audit_physics.py [--family default] [--tasks 1000] [--random-tasks 200]
                                     [--random-steps 100000] [--seed 0]

Plays one no-op trial on each of `--tasks` tasks and `--random-steps` uniformly random actions
over the first `--random-tasks` of them (no rendering: the camera does not touch the physics),
then prints MuJoCo warnings and instability resets, the peak object and avatar speeds, and the
steps with the avatar outside the arena or inside the terrain, or an object sunk into the terrain
or outside the arena (see worlds/fidelity.py for the definitions), and how often the `see`
predicate agrees with a segmentation render of the agent's camera. Exit code 1 if any count that
must be zero is not.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402

from worlds.family import load_family  # noqa: E402
from worlds.fidelity import SPEED_BOUND, audit, see_agreement  # noqa: E402
from worlds.generator import TaskGenerator  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", default="default")
    p.add_argument("--tasks", type=int, default=1000)
    p.add_argument("--random-tasks", type=int, default=200)
    p.add_argument("--random-steps", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--see-tasks", type=int, default=50,
                   help="tasks for the see-predicate check against a segmentation render "
                        "(random play, every 5th of 100 steps; 0 to skip)")
    a = p.parse_args(argv)
    tasks = TaskGenerator(load_family(a.family)).generate(seed=a.seed, n=a.tasks)
    t0 = time.perf_counter()
    reports = audit(tasks, tasks[: a.random_tasks], a.random_steps, seed=a.seed)
    wall = time.perf_counter() - t0
    rows = list(asdict(reports["all"]).keys())
    print(f"family {a.family}: {a.tasks} tasks x one no-op trial, {a.random_steps} random steps "
          f"over {min(a.random_tasks, a.tasks)} tasks ({wall:.0f} s)")
    print(f"| {'count':<24} | " + " | ".join(f"{k:>10}" for k in reports) + " |")
    print(f"|{'-' * 26}|" + "|".join("-" * 12 for _ in reports) + "|")
    for r in rows:
        vals = [getattr(rep, r) for rep in reports.values()]
        cells = [f"{v:>10.2f}" if isinstance(v, float) else f"{v:>10d}" for v in vals]
        print(f"| {r:<24} | " + " | ".join(cells) + " |")
    bad = reports["all"].violations
    print(f"speed bound {SPEED_BOUND} m/s; counts that must be 0: {bad}")
    if a.see_tasks:
        see = see_agreement(tasks[: a.see_tasks], seed=a.seed)
        px = see.shown_not_seen_pixels
        print(f"see(agent, o) vs a 64x64 segmentation of the agent camera: {see.rate:.2%} of "
              f"{see.object_states} object-states agree; seen but not drawn "
              f"{see.seen_not_shown}; drawn but not seen {see.shown_not_seen} (pixels drawn: "
              f"median {np.median(px) if px else 0:.0f}, max {max(px) if px else 0})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
