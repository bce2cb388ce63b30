"""Loads triton, when it is installed, before any GL driver, so that Mesa's LLVM cannot crash it.

Mesa's software rasteriser (llvmpipe: EGL and OSMesa on every machine without an NVIDIA driver)
loads the system's libLLVM into the process's global symbol scope when the first EGL display is
initialised; dm_control does that as soon as it is imported (worlds/scene.py imports it), mujoco
when its first GL context is made. triton's C extension links its own, newer LLVM; loaded after
Mesa's, its static initialisers bind to Mesa's LLVM symbols and the process dies with a
segmentation fault and no Python traceback. torch imports triton whenever it is installed
(`torch.optim.Adam` imports `torch._dynamo`, which imports triton), and the default Linux torch
wheel installs it, so without this module every trainer on a machine without an NVIDIA driver
would crash at its first optimiser. Loaded first, triton keeps its own symbols and Mesa binds to
its own: both work, and triton's later imports just reuse the loaded module.

`load_triton_first` runs from `worlds/__init__.py`, i.e. before any ada module can import
dm_control or create a GL context, in every process that renders (trainer, Ray actor processes,
`ada.evaluate`, `ada.render`, tests). It uses the standard library only, so importing `worlds`
stays cheap when triton is not installed.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

_MAPS = Path("/proc/self/maps")

TRITON_DISABLED_MESSAGE = (
    "triton is installed, but a GL driver's libLLVM (Mesa's software rendering) was loaded into "
    "this process before it, and loading triton after it crashes the process; triton is "
    "disabled here (torch runs without it). To keep triton, import `worlds` (or `triton`) "
    "before importing dm_control or creating any GL context."
)


def gl_llvm_loaded() -> bool:
    """True if a shared libLLVM (what Mesa's llvmpipe loads) is mapped into this process.

    triton links LLVM statically, so this only sees a GL driver's LLVM. Without /proc (not
    Linux) it answers False: Mesa with llvmpipe is a Linux configuration."""
    try:
        maps = _MAPS.read_text()
    except OSError:
        return False
    return "libLLVM" in maps


class _TritonBlocker(importlib.abc.MetaPathFinder):
    """Makes `import triton` raise ImportError instead of loading a library that would crash.

    torch treats an ImportError from triton as "triton is not installed" and carries on."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == "triton" or fullname.startswith("triton."):
            raise ImportError(TRITON_DISABLED_MESSAGE, name=fullname)
        return None


def _blocked() -> bool:
    return any(isinstance(finder, _TritonBlocker) for finder in sys.meta_path)


def load_triton_first() -> None:
    """Imports triton now if it is installed and no GL driver's LLVM is loaded yet.

    If a GL driver's LLVM is already loaded (something initialised GL before `worlds` was
    imported), triton can no longer be loaded safely in this process: its import is made to
    fail with `TRITON_DISABLED_MESSAGE` (and a warning says so once) rather than segfault."""
    if "triton" in sys.modules or _blocked():
        return
    try:
        installed = importlib.util.find_spec("triton") is not None
    except (ImportError, ValueError):
        installed = False
    if not installed:
        return
    if gl_llvm_loaded():
        sys.meta_path.insert(0, _TritonBlocker())
        warnings.warn(TRITON_DISABLED_MESSAGE, RuntimeWarning, stacklevel=2)
        return
    # Only the load order matters here: a triton that cannot be imported at all fails the same
    # way (a Python error, not a crash) when torch tries it later, and is torch's to report.
    with contextlib.suppress(Exception):
        import triton  # noqa: F401
