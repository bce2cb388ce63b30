"""A lean offscreen camera: one GL context and one MjrContext, created once and reused.

`mujoco.Renderer` allocates and flips a fresh image per call and re-checks its arguments; at 64x64
that overhead is larger than the render itself on a software (Mesa) GL. This class keeps the
scene, the viewport and the output buffer preallocated, and exposes `upload_heightfield` so a new
task's terrain reaches the GPU without a new context.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import weakref

import mujoco
import numpy as np

_BACKENDS = {"egl": "mujoco.egl", "osmesa": "mujoco.osmesa", "glfw": "mujoco.glfw"}


def _gl_context_class() -> type:
    """The GL context class for $MUJOCO_GL (default egl), chosen here rather than by mujoco's
    import-time default, so rendering stays headless even if mujoco was imported first."""
    backend = os.environ.get("MUJOCO_GL", "egl").lower()
    if backend not in _BACKENDS:
        raise ValueError(f"MUJOCO_GL: {backend!r} is not one of {sorted(_BACKENDS)}")
    return importlib.import_module(_BACKENDS[backend]).GLContext

_current: Camera | None = None  # the camera whose GL context is current in this thread
_open: weakref.WeakSet[Camera] = weakref.WeakSet()  # cameras not closed yet
_exit_hook_registered = False


def _close_open_cameras() -> None:
    """At exit, before the GL backend's own exit handlers tear the EGL display down: a context
    left to the garbage collector after that fails in its destructor ("EGLError ... Exception
    ignored") once two or more cameras are alive, e.g. an env with an overview camera."""
    for cam in list(_open):
        with contextlib.suppress(Exception):
            cam.close()


def forget_current_context() -> None:
    """Tells the cameras that some other GL user (e.g. a `mujoco.Renderer`) made its own context
    current, so the next render binds the camera's context again instead of trusting the cache."""
    global _current
    _current = None


def _register_exit_hook() -> None:
    # registered after the backend module is imported, so (exit handlers run last-in, first-out)
    # it runs before the backend's handlers
    global _exit_hook_registered
    if not _exit_hook_registered:
        atexit.register(_close_open_cameras)
        _exit_hook_registered = True


class Camera:
    """Renders `camera` (a model camera name, or None for a free camera) at width x height,
    with `multisamples` x MSAA and an optional skybox (both off for agent observations, on for
    videos)."""

    def __init__(self, model: mujoco.MjModel, width: int, height: int,
                 camera: str | None = None, max_geom: int = 400, multisamples: int = 0,
                 skybox: bool = False) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"camera size: width and height must be >= 1, got {width}x{height}")
        self.model = model
        self.width, self.height = width, height
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        self._gl = _gl_context_class()(width, height)
        _register_exit_hook()
        _open.add(self)
        self._make_current()
        # MSAA is read at context creation: off for agent cameras (4x MSAA triples the cost of
        # a 64x64 frame on a software rasteriser), on for human-facing video cameras
        saved = model.vis.quality.offsamples
        model.vis.quality.offsamples = multisamples
        self._ctx = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150)
        model.vis.quality.offsamples = saved
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._ctx)
        self._scene = mujoco.MjvScene(model, maxgeom=max_geom)
        # the skybox is a textured full-screen pass: 30% of a 64x64 frame, so agent cameras
        # see a plain black sky and only video cameras draw it
        self._scene.flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = int(skybox)
        self._option = mujoco.MjvOption()
        self._perturb = mujoco.MjvPerturb()
        self.cam = mujoco.MjvCamera()
        if camera is None:
            self.cam.type = mujoco.mjtCamera.mjCAMERA_FREE
        else:
            cam_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
            if cam_id < 0:
                raise ValueError(f"camera: no camera named {camera!r} in the model")
            self.cam.type = mujoco.mjtCamera.mjCAMERA_FIXED
            self.cam.fixedcamid = cam_id
        self._viewport = mujoco.MjrRect(0, 0, width, height)
        self._buffer = np.empty((height, width, 3), dtype=np.uint8)
        self._closed = False

    @property
    def option(self) -> mujoco.MjvOption:
        return self._option

    def _make_current(self) -> None:
        global _current
        if _current is not self:
            self._gl.make_current()
            _current = self

    def upload_heightfield(self, hfield_id: int = 0) -> None:
        self._make_current()
        mujoco.mjr_uploadHField(self.model, self._ctx, hfield_id)

    def render(self, data: mujoco.MjData, out: np.ndarray | None = None) -> np.ndarray:
        """Renders into `out` (H, W, 3) uint8, top row first; returns it (a new array if None)."""
        self._make_current()
        mujoco.mjv_updateScene(self.model, data, self._option, self._perturb, self.cam,
                               mujoco.mjtCatBit.mjCAT_ALL, self._scene)
        mujoco.mjr_render(self._viewport, self._scene, self._ctx)
        mujoco.mjr_readPixels(self._buffer, None, self._viewport, self._ctx)
        if out is None:
            return self._buffer[::-1].copy()
        np.copyto(out, self._buffer[::-1])
        return out

    def close(self) -> None:
        global _current
        if self._closed:
            return
        self._closed = True
        _open.discard(self)
        self._make_current()
        self._ctx.free()
        self._gl.free()
        if _current is self:
            _current = None

    def __del__(self) -> None:  # best effort; env.close() is the supported path
        # interpreter shutdown may have torn GL down already
        with contextlib.suppress(Exception):
            self.close()
