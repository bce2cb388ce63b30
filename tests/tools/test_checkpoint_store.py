"""tools/checkpoint_store.py: runs move forward only, verified, one file per run when pruned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ada.learning.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from tests.tool_module import load_tool

store = load_tool("checkpoint_store")


def write_run(root: Path, name: str, frames: int, step: int) -> Path:
    learner = {"agent": {"w": torch.full((3,), float(frames))}, "optimizer": {},
               "updates": step, "frames": frames}
    config = {"name": "lookalike", "seed": 0, "env": {"family": "lookalike"},
              "agent": {"memory_length": 128}, "total_frames": 4_000_000}
    return save_checkpoint(root / name / "checkpoints" / f"ckpt_{step:08d}.pt",
                           learner=learner, actors=[], config=config, step=step)


def test_carry_copies_newer_runs_and_prunes(tmp_path: Path) -> None:
    src, dst = tmp_path / "outputs", tmp_path / "store"
    write_run(src, "mem128_seed0", 640, 2)
    write_run(src, "mem128_seed0", 960, 3)
    write_run(src, "mem0_seed0", 320, 1)
    (src / "empty_run").mkdir()
    copied = store.carry(src, dst, prune=True, log=lambda _: None)
    assert copied == {"mem128_seed0": 960, "mem0_seed0": 320}
    files = sorted(p.name for p in (dst / "mem128_seed0" / "checkpoints").glob("ckpt_*.pt"))
    assert files == ["ckpt_00000003.pt"]
    latest = latest_checkpoint(dst / "mem128_seed0" / "checkpoints")
    assert latest is not None and load_checkpoint(latest)["learner"]["frames"] == 960
    info = json.loads((dst / "mem128_seed0" / "run.json").read_text())
    assert info["frames"] == 960 and info["memory_length"] == 128 and info["seed"] == 0
    assert not (dst / "empty_run").exists()


def test_carry_never_moves_a_run_backwards(tmp_path: Path) -> None:
    src, dst = tmp_path / "store", tmp_path / "outputs"
    write_run(src, "mem128_seed0", 640, 2)
    write_run(dst, "mem128_seed0", 960, 3)
    assert store.carry(src, dst, log=lambda _: None) == {}
    latest = latest_checkpoint(dst / "mem128_seed0" / "checkpoints")
    assert latest is not None and latest.name == "ckpt_00000003.pt"
    # and restoring into an empty output folder resumes from the stored frames
    fresh = tmp_path / "fresh"
    assert store.carry(src, fresh, log=lambda _: None) == {"mem128_seed0": 640}


def test_corrupt_source_is_refused_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture
                                               ) -> None:
    src, dst = tmp_path / "outputs", tmp_path / "store"
    path = write_run(src, "mem128_seed0", 640, 2)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert store.main([str(src), str(dst)]) == 2
    assert "error:" in capsys.readouterr().err
    assert not (dst / "mem128_seed0").exists()
    assert store.main([str(tmp_path / "missing"), str(dst)]) == 2
