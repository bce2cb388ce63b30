"""Bad input files given to the CLIs end in exit status 2 and one line naming the file, never a
traceback: task files for `ada.render`, checkpoints for `ada.evaluate`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ada.config import TrainConfig
from ada.learning.checkpoint import latest_checkpoint, load_checkpoint
from ada.trainer import Trainer

REPO = Path(__file__).resolve().parents[2]


def _cli(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _one_error_line(proc: subprocess.CompletedProcess[str], prefix: str) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    return lines[0]


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("bad.jsonl", b'{"task": "caf\xe9"}\n', ":1: not valid UTF-8 (byte 0xe9 at column 14)"),
    ("deep.json", b"[" * 200_000 + b"]" * 200_000, ": JSON nested too deeply"),
])
def test_render_bad_task_file_exits_2_with_one_line(tmp_path: Path, name: str, content: bytes,
                                                    expected: str) -> None:
    (tmp_path / name).write_bytes(content)
    proc = _cli("ada.render", f"task.file={name}", "policy=noop", "out=v.mp4", cwd=tmp_path)
    line = _one_error_line(proc, "ada.render: error: ")
    assert f"{tmp_path / name}" in line and expected in line
    assert not (tmp_path / "v.mp4").exists()


def test_render_json_file_with_invalid_utf8_names_the_file(tmp_path: Path) -> None:
    from ada.render import TaskSelector, load_task
    from ada.validation import ConfigError

    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"world": "caf\xe9"}')
    with pytest.raises(ConfigError, match=r"bad\.json.*not valid UTF-8"):
        load_task(TaskSelector(file=str(bad)))


def test_render_huge_integer_names_the_field(tmp_path: Path, task) -> None:
    text = task.to_json().replace('"trial_steps":5', '"trial_steps":' + "5" * 400)
    (tmp_path / "big.jsonl").write_text(text + "\n")
    proc = _cli("ada.render", "task.file=big.jsonl", "policy=noop", "out=v.mp4", cwd=tmp_path)
    line = _one_error_line(proc, "ada.render: error: ")
    assert ":1: task.episode.trial_steps: 555" in line and "[1, 100000]" in line
    assert len(line) < 300


# ---- checkpoints -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real checkpoint of a tiny bandit run after one update (a second to make)."""
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig.from_dict({
        "agent": {"size": "tiny", "memory_length": 5}, "env": {"kind": "bandit", "horizon": 5},
        "runtime": {"envs_per_actor": 4, "unroll_length": 3, "num_actors": 1},
        "total_frames": 12, "out_dir": str(out), "progress": False, "resume": "never"})
    trainer = Trainer(cfg)
    try:
        trainer.run(max_updates=1)
    finally:
        trainer.close()
    path = latest_checkpoint(out / "checkpoints")
    assert path is not None
    return path


def test_evaluate_corrupt_checkpoint_exits_2_with_one_line(checkpoint: Path,
                                                           tmp_path: Path) -> None:
    weights = load_checkpoint(checkpoint)["learner"]["agent"]
    raw = max(weights.values(), key=lambda t: t.numel()).numpy().tobytes()
    data = bytearray(checkpoint.read_bytes())
    at = data.find(raw)
    assert at >= 0  # stored uncompressed: the flipped byte is one of the weights
    data[at + 5] ^= 0x80
    bad = tmp_path / "ckpt_00000001.pt"
    bad.write_bytes(bytes(data))
    proc = _cli("ada.evaluate", f"checkpoint={bad}", "tasks=probes", cwd=tmp_path)
    line = _one_error_line(proc, "ada.evaluate: error: ")
    assert f"checkpoint {bad}: corrupt" in line
    # mis-shaped and missing tensors raise the same CheckpointError from load_agent (see
    # tests/ada/learning/test_checkpoint.py), which this exit-2 path reports the same way


@pytest.mark.parametrize(("args", "expected"), [
    (("player=a", "pace=fast"), "ada.play: error: pace: 'fast' is not allowed"),
    (("tasks=probes",), "ada.play: error: player: not set"),
    (("player=a", "study=study.yaml"), "ada.play: error: study: ['not a mapping'] is not allowed"),
])
def test_play_bad_config_exits_2_with_one_line(tmp_path: Path, args: tuple[str, ...],
                                               expected: str) -> None:
    (tmp_path / "study.yaml").write_text("- not a mapping\n")
    line = _one_error_line(_cli("ada.play", *args, f"out={tmp_path / 'rec'}", cwd=tmp_path),
                           "ada.play: error:")
    assert line.startswith(expected), line
    assert not (tmp_path / "rec").exists()
