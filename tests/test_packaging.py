"""A non-editable install works on its own: the wheel carries the config tree and the families.

The wheel is built from a copy of the sources, installed into a fresh venv that reuses this
environment's dependencies (a .pth file, no downloads), and run from a directory outside the
checkout, so nothing can be found through the source tree by accident.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from setuptools import find_packages

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("ada", "agents", "curriculum", "worlds", "configs", "pyproject.toml", "README.md")


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_package_is_listed_in_pyproject() -> None:
    """pyproject.toml lists the packages by hand (to map ada.configs onto configs/): a new
    subpackage missing from that list would be silently absent from the wheel."""
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = set(find_packages(str(REPO), include=["ada*", "worlds*", "curriculum*", "agents*"]))
    assert listed == found | {"ada.configs"}


def _run(cmd: list[str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh venv holding only the built wheel (dependencies via .pth)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
          "--no-index", str(src), "-w", str(root / "dist")], cwd=root)
    (wheel,) = (root / "dist").glob("ada-*.whl")

    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   cwd=root).stdout.strip()
    deps = [*site.getsitepackages(), sysconfig.get_path("purelib")]
    (Path(purelib) / "ada_test_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
          "--no-index", str(wheel)], cwd=root)
    return python


@pytest.mark.slow
def test_installed_wheel_trains_and_renders_outside_the_checkout(installed: Path,
                                                                 tmp_path: Path) -> None:
    where = _run([str(installed), "-c",
                  "import ada, ada.paths, worlds.family as f; "
                  "print(ada.__file__); print(ada.paths.config_dir()); print(f.FAMILY_DIR); "
                  "print(' '.join(f.family_names()))"], cwd=tmp_path).stdout.split("\n")
    venv = installed.parents[1]
    for line in where[:3]:
        assert Path(line).is_relative_to(venv), where
    assert {"tiny", "default"} <= set(where[3].split())

    # the quickstart's pipeline (world, tiny family, no-op curriculum, held-out evaluation),
    # shrunk: inline actors, 400 frames, 2 held-out tasks
    train = _run([str(installed), "-m", "ada.train", "runtime=inline", "runtime.num_actors=1",
                  "runtime.envs_per_actor=4", "runtime.unroll_length=10", "total_frames=400",
                  "env.image_size=16", "eval_tasks=2", "eval_trials=1", "eval_videos=0",
                  "progress=false", "out_dir=run"], cwd=tmp_path, timeout=300)
    assert '"heldout_eval"' in train.stdout
    assert list((tmp_path / "run" / "checkpoints").glob("ckpt_*.pt"))
    assert (tmp_path / "run" / "eval" / "results.json").is_file()

    _run([str(installed), "-m", "ada.render", "task.family=tiny", "task.seed=0", "policy=random",
          "trials=1", "trial_steps=5", "image_size=16", "overview_size=64", "out=tiny.mp4"],
         cwd=tmp_path, timeout=300)
    assert (tmp_path / "tiny.mp4").stat().st_size > 1000
