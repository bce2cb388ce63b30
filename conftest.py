"""Test-suite settings, loaded by pytest before any test.

Every world env built by a test (in this process, in subprocesses and in Ray workers, which
inherit the environment) raises on any MuJoCo warning instead of counting it, so a physics
regression fails the test that meets it.
"""

from __future__ import annotations

import os

os.environ["ADA_PHYSICS_WARNINGS"] = "raise"
os.environ.setdefault("MUJOCO_GL", "egl")
