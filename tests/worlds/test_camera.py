"""The offscreen camera leaves nothing behind at exit, even when its owner forgets close()."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
from worlds.env import WorldEnv
from worlds.family import load_family
from worlds.generator import TaskGenerator

task = TaskGenerator(load_family("tiny")).generate(seed=0, n=1)[0]
envs = [WorldEnv(task, image_size=16, overview_size=32), WorldEnv(task, image_size=16)]
for env in envs:
    env.reset()
    env.step(0)
print("done")
"""


def test_unclosed_cameras_exit_without_gl_errors(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "done"
    assert "EGLError" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
