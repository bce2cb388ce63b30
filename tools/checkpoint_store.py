"""Carry the latest checkpoint of every run of an experiment from one folder to another.

    python tools/checkpoint_store.py outputs/adaptation checkpoints/adaptation --prune
    python tools/checkpoint_store.py checkpoints/adaptation outputs/adaptation

An experiment folder (the `--out` of `tools/run_adaptation_experiment.py` or
`tools/run_open_ended_experiment.py`) holds one run directory per run, each with its
`checkpoints/` and the `latest` pointer that `resume=auto` reads. This copies, for every run in
SOURCE, its latest checkpoint into the run of the same name in DEST, laid out the same way, but
only where DEST holds fewer frames (it never moves a run backwards). The first line stores
trained agents in a small tracked folder (`--prune` keeps just the newest file per run there,
and each run gets a `run.json` saying what it is); the second puts them back into an
experiment's output folder, so the experiment tool resumes them where they stopped and
evaluates them without retraining. Every checkpoint is verified (checksum, fields) before it is
copied; copies are atomic, so an interrupted call leaves each run as it was or fully updated.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from ada.learning.checkpoint import (  # noqa: E402
    CheckpointError,
    copy_checkpoint,
    latest_checkpoint,
    load_checkpoint,
)


def run_frames(run_dir: Path) -> tuple[Path | None, int]:
    """The run's latest checkpoint and its frames ((None, 0) where it has none)."""
    latest = latest_checkpoint(run_dir / "checkpoints")
    if latest is None:
        return None, 0
    return latest, int(load_checkpoint(latest)["learner"]["frames"])


def describe(payload: dict[str, Any]) -> dict[str, Any]:
    """What a stored run is: enough to know it without loading torch."""
    cfg = payload["config"]
    return {"name": cfg.get("name"), "seed": cfg.get("seed"),
            "family": (cfg.get("env") or {}).get("family"),
            "memory_length": (cfg.get("agent") or {}).get("memory_length"),
            "frames": int(payload["learner"]["frames"]),
            "updates": int(payload["learner"]["updates"]),
            "total_frames": cfg.get("total_frames"), "commit": _commit()}


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def carry(source: Path, dest: Path, prune: bool = False,
          log: Any = print) -> dict[str, int]:
    """Copies each run's latest checkpoint from `source` to `dest` where dest has fewer
    frames; returns the frames now in dest per run copied."""
    if not source.is_dir():
        raise CheckpointError(f"source: {str(source)!r} is not a directory")
    copied: dict[str, int] = {}
    for run in sorted(p for p in source.iterdir() if p.is_dir()):
        ckpt, frames = run_frames(run)
        if ckpt is None:
            continue
        target = dest / run.name
        _, have = run_frames(target)
        if have >= frames:
            log(f"  {run.name}: {dest} already holds {have:,} frames (source {frames:,})")
            continue
        stored = copy_checkpoint(ckpt, target / "checkpoints")
        if prune:
            for old in (target / "checkpoints").glob("ckpt_*.pt"):
                if old != stored:
                    old.unlink()
            info = describe(load_checkpoint(stored))
            (target / "run.json").write_text(json.dumps(info, indent=1) + "\n")
        copied[run.name] = frames
        log(f"  {run.name}: {have:,} -> {frames:,} frames ({stored})")
    return copied


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("source", type=Path, help="experiment folder to copy runs from")
    p.add_argument("dest", type=Path, help="experiment folder to copy runs into")
    p.add_argument("--prune", action="store_true",
                   help="keep only the newest checkpoint per run in dest, with a run.json")
    args = p.parse_args(argv)
    try:
        copied = carry(args.source, args.dest, prune=args.prune)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{len(copied)} run(s) copied to {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
