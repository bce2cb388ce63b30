"""ada's task space: procedural MuJoCo worlds, games of goals and production rules, episodes of
k trials, and task families with exact Bayes-optimal references."""

import os

# Headless rendering by default (EGL; Mesa's software EGL where there is no GPU). Must be set
# before mujoco or dm_control is first imported, which choose the GL backend at import time.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])

# Before anything here can load a GL driver: triton (installed with the default Linux torch)
# crashes the process if it is first loaded after Mesa's LLVM (worlds/triton_guard.py).
from worlds.triton_guard import load_triton_first  # noqa: E402

load_triton_first()
