"""The expert's motor level: one discrete action per control step towards a geometric aim.

Everything reads the true state of the scene (the avatar's joints, the controller's head-pitch
target, object poses) and answers with one of the 13 actions of `worlds.avatar`, so what the
expert does is exactly what an agent could do with the same action. The gains come from the
avatar's response at 10 Hz: a forward step moves about 0.2 m, a turn about 0.25 rad, a look
action 0.15 rad of head pitch. At 5 or 20 Hz the same rules hold with other step sizes.
"""

from __future__ import annotations

import math

import numpy as np

from worlds.avatar import ACTIONS, PITCH_LIMIT, PITCH_STEP
from worlds.scene import Scene

A = {name: i for i, name in enumerate(ACTIONS)}
NOOP = A["noop"]

FACE_TOLERANCE = 0.12  # rad of yaw error accepted when facing an object to grab or look at
WALK_TURN = 0.5  # rad: above this heading error the avatar turns on the spot
WALK_ARC = 0.15  # rad: above this it walks forward while turning


def wrap(angle: float) -> float:
    """`angle` in (-pi, pi]."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


class Body:
    """The avatar's true pose, read once per control step."""

    def __init__(self, scene: Scene) -> None:
        q = scene.data.qpos[scene.avatar_qpos]
        self.xy = np.array([q[0], q[1]])
        self.z = float(q[2])
        self.yaw = float(q[3])
        self.pitch = float(q[4])
        self.eye = scene.camera_pose()[0].copy()

    def bearing(self, xy: np.ndarray) -> float:
        """Yaw error to face point `xy` (positive: turn left)."""
        d = np.asarray(xy[:2]) - self.xy
        return wrap(math.atan2(d[1], d[0]) - self.yaw)

    def distance(self, xy: np.ndarray) -> float:
        return float(np.linalg.norm(np.asarray(xy[:2]) - self.xy))


def turn(error: float, tolerance: float = FACE_TOLERANCE) -> int | None:
    """The turn that reduces a yaw error, or None when within tolerance."""
    if abs(error) <= tolerance:
        return None
    return A["turn_left"] if error > 0 else A["turn_right"]


def walk(body: Body, target: np.ndarray) -> int:
    """Towards `target` (x, y): turn on the spot, arc, or walk straight."""
    e = body.bearing(target)
    if abs(e) > WALK_TURN:
        return A["turn_left"] if e > 0 else A["turn_right"]
    if abs(e) > WALK_ARC:
        return A["forward_left"] if e > 0 else A["forward_right"]
    return A["forward"]


def pitch_to(body: Body, point: np.ndarray) -> float:
    """Head pitch (positive looks down) that centres 3D `point` in the view."""
    d = np.asarray(point, float) - body.eye
    return math.atan2(-d[2], math.hypot(d[0], d[1]))


def look(pitch_target: float, desired: float) -> int | None:
    """The look action that moves the controller's pitch target towards `desired` (clipped
    to the joint range), or None when it is within half a look step."""
    desired = min(max(desired, -PITCH_LIMIT), PITCH_LIMIT)
    if desired - pitch_target > PITCH_STEP / 2:
        return A["look_down"]
    if pitch_target - desired > PITCH_STEP / 2:
        return A["look_up"]
    return None


def face(body: Body, pitch_target: float, point: np.ndarray, pitch_offset: float = 0.0,
         tolerance: float = FACE_TOLERANCE) -> int | None:
    """Turn, then pitch, to look at `point`; None once facing it."""
    a = turn(body.bearing(point), tolerance)
    if a is not None:
        return a
    return look(pitch_target, pitch_to(body, point) + pitch_offset)


__all__ = ["A", "NOOP", "Body", "face", "look", "pitch_to", "turn", "walk",
           "wrap"]
