"""`python -m ada.train`: config errors stop at start-up; a 3D-world run writes its outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ada.config import TrainConfig
from ada.learning.checkpoint import latest_checkpoint, load_checkpoint
from ada.trainer import Trainer, load_agent

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "ada.train", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_rejects_a_bad_value_before_training(tmp_path: Path) -> None:
    out = run_cli("algo.advantage_norm=layer", f"out_dir={tmp_path}/run", cwd=tmp_path)
    assert out.returncode == 2
    assert "algo.advantage_norm: 'layer' is not allowed; allowed are ['none', 'batch']" \
        in out.stderr
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_cli_resume_from_a_corrupt_checkpoint_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "ckpt.pt"
    bad.write_bytes(b"not a checkpoint at all")
    out = run_cli(f"resume={bad}", f"out_dir={tmp_path}/run", "total_frames=64", cwd=tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("ada.train:")]
    assert len(lines) == 1 and str(bad) in lines[0]
    assert "Traceback" not in out.stderr
    assert bad.read_bytes() == b"not a checkpoint at all"


def test_cli_trains_a_bandit_and_writes_checkpoint_and_tensorboard(tmp_path: Path) -> None:
    out = run_cli("~experiment", "agent=tiny", "total_frames=2000", "runtime.envs_per_actor=10",
                  "log_every=2", f"out_dir={tmp_path}/run", "progress=false", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert '"updates": 10' in out.stdout
    ckpt = latest_checkpoint(tmp_path / "run" / "checkpoints")
    assert ckpt is not None and load_checkpoint(ckpt)["learner"]["updates"] == 10
    events = list((tmp_path / "run" / "tb").iterdir())
    assert any(p.name.startswith("events.out.tfevents") for p in events)


def test_world_training_runs_inline(tmp_path: Path) -> None:
    cfg = TrainConfig.from_dict({
        "agent": {"size": "tiny"}, "env": {"kind": "world", "family": "tiny"},
        "runtime": {"envs_per_actor": 2, "unroll_length": 5}, "total_frames": 20,
        "out_dir": str(tmp_path), "progress": False, "log_every": 1})
    trainer = Trainer(cfg)
    try:
        summary = trainer.run()
    finally:
        trainer.close()
    assert summary["updates"] == 2 and summary["frames"] == 20
    assert trainer.history[-1]["policy_lag"] == 0.0
    agent, loaded = load_agent(latest_checkpoint(tmp_path / "checkpoints"))
    assert loaded.env.kind == "world" and "rgb" in agent.obs_keys


def test_quickstart_path_trains_on_ray_then_evaluates_heldout_and_records_a_video(
        tmp_path: Path) -> None:
    """The no-argument command's pipeline (experiment=quickstart), shrunk: Ray actors in the 3D
    world, a checkpoint, TensorBoard, then the held-out per-trial evaluation and a video."""
    out = run_cli("total_frames=40", "runtime.num_actors=1", "runtime.envs_per_actor=2",
                  "runtime.unroll_length=5", "env.image_size=16", "eval_tasks=2",
                  "eval_trials=2", "progress=false", f"out_dir={tmp_path}/run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / "run"
    assert latest_checkpoint(run / "checkpoints") is not None
    assert any(p.name.startswith("events.out.tfevents") for p in (run / "tb").iterdir())
    for name in ("results.json", "per_trial.csv", "per_task.csv", "plot.png"):
        assert (run / "eval" / name).is_file(), name
    videos = list((run / "eval" / "videos").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000
    assert '"heldout_eval"' in out.stdout and '"random"' in out.stdout
    assert '"agent_minus"' in out.stdout and "agent - noop: " in out.stderr
