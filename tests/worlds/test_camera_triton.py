"""triton (shipped with the default Linux torch) next to Mesa's software GL: no crash, any order.

triton's C extension segfaults when it is first loaded after Mesa's libLLVM (worlds/
triton_guard.py). Each case runs in a fresh subprocess, since a crash would take pytest with it
and the load order is per process; the tests need triton installed (CI installs the wheel).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                reason="triton is not installed")

# What the trainer does: a first-person camera (an env) exists, then the learner builds Adam,
# whose import of torch._dynamo imports triton.
CAMERA_THEN_TRITON = """
    from worlds.env import WorldEnv
    from worlds.family import load_family
    from worlds.generator import TaskGenerator

    task = TaskGenerator(load_family("tiny")).generate(seed=0, n=1)[0]
    env = WorldEnv(task, image_size=16)
    ts = env.reset()
    assert ts.observation["rgb"].shape == (16, 16, 3)
    print("camera ok", flush=True)

    import triton
    print("triton", triton.__version__, flush=True)

    import torch

    p = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    env.step(0)
    env.close()
    print("adam ok", flush=True)
"""

# GL initialised before `worlds` is imported (dm_control's import initialises an EGL display):
# triton can no longer be loaded safely, so it must be refused with a message, not crash, and
# torch must run without it.
GL_BEFORE_WORLDS = """
    import warnings

    from dm_control import mjcf  # noqa: F401

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import worlds.env  # noqa: F401
    from worlds.triton_guard import TRITON_DISABLED_MESSAGE, gl_llvm_loaded

    if gl_llvm_loaded():  # Mesa's llvmpipe: the dangerous case
        assert any(TRITON_DISABLED_MESSAGE in str(w.message) for w in caught), caught
        try:
            import triton  # noqa: F401
        except ImportError as e:
            assert "import `worlds`" in str(e), e
        else:
            raise AssertionError("triton imported after Mesa's LLVM")
    import torch

    torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))])
    print("adam ok", flush=True)
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MUJOCO_GL": "egl",
           "PYOPENGL_PLATFORM": "egl"}
    return subprocess.run([sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_first_person_camera_then_triton_and_adam_does_not_crash() -> None:
    proc = _run(CAMERA_THEN_TRITON)
    assert proc.returncode == 0, (f"exit {proc.returncode} (-11 or 139: segfault)\n"
                                  f"{proc.stdout}\n{proc.stderr[-3000:]}")
    assert "adam ok" in proc.stdout


def test_gl_before_worlds_disables_triton_with_a_message() -> None:
    proc = _run(GL_BEFORE_WORLDS)
    assert proc.returncode == 0, (f"exit {proc.returncode} (-11 or 139: segfault)\n"
                                  f"{proc.stdout}\n{proc.stderr[-3000:]}")
    assert "adam ok" in proc.stdout
