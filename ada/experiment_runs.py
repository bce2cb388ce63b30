"""The training runs of an experiment: `python -m ada.train` subprocesses, a few at a time.

The experiment tools (`tools/run_adaptation_experiment.py`, `tools/run_open_ended_experiment.py`)
train several configurations and seeds, then evaluate them on one fixed set of tasks. Each run
is its own process (one core each, inline runtime), logs to `train_stdout.log` in its run
directory and checkpoints there with `resume=auto`, so:

* a run whose latest checkpoint already holds the requested frames is not started again;
* a killed run (a session that ended) continues from its checkpoint when the tool is re-run;
* asking for more frames later extends a run (constant-learning-rate configs give the same
  run as one uninterrupted call; the kickstarting schedule is in frames and so continues too).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class RunSpec:
    """One training run: a name for the logs, its run directory and its Hydra overrides
    (without total_frames, out_dir and resume, which `train_runs` sets)."""

    name: str
    out_dir: Path
    overrides: tuple[str, ...]


def trained_frames(out_dir: Path) -> int:
    """Frames in the run's latest checkpoint (0 if none): lets a re-run skip finished work."""
    from ada.learning.checkpoint import latest_checkpoint, load_checkpoint

    latest = latest_checkpoint(Path(out_dir) / "checkpoints")
    return 0 if latest is None else int(load_checkpoint(latest)["learner"]["frames"])


def train_command(spec: RunSpec, frames: int) -> list[str]:
    return [sys.executable, "-m", "ada.train", *spec.overrides, f"total_frames={frames}",
            f"out_dir={spec.out_dir}", "resume=auto", "progress=false"]


def train_runs(specs: Sequence[RunSpec], frames: int, jobs: int,
               log: Callable[[str], None] = print) -> dict[str, float]:
    """Trains every run to `frames`, `jobs` processes at a time; wall seconds per run trained
    now (finished runs are skipped). A failed run raises, naming its log."""
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    todo = [s for s in specs if trained_frames(s.out_dir) < frames]
    running: dict[str, tuple[RunSpec, subprocess.Popen[bytes], float]] = {}
    walls: dict[str, float] = {}
    while todo or running:
        while todo and len(running) < jobs:
            spec = todo.pop(0)
            spec.out_dir.mkdir(parents=True, exist_ok=True)
            with (spec.out_dir / "train_stdout.log").open("ab") as out:
                proc = subprocess.Popen(train_command(spec, frames), cwd=ROOT, env=env,
                                        stdout=out, stderr=subprocess.STDOUT)
            running[spec.name] = (spec, proc, time.perf_counter())
            log(f"training {spec.name} to {frames:,} frames -> {spec.out_dir}")
        time.sleep(0.5)  # a finished run is noticed at once; polling costs nothing
        for name, (spec, proc, t0) in list(running.items()):
            if proc.poll() is None:
                continue
            del running[name]
            if proc.returncode != 0:
                for _, other, _ in running.values():
                    other.terminate()
                raise RuntimeError(f"training {name} failed (exit {proc.returncode}); see "
                                   f"{spec.out_dir / 'train_stdout.log'}")
            walls[name] = time.perf_counter() - t0
            log(f"  done {name} in {walls[name]:.0f} s")
    return walls


__all__ = ["RunSpec", "train_command", "train_runs", "trained_frames"]
