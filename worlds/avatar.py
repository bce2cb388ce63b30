"""The avatar's discrete action set and how one action becomes actuator targets.

An action is applied once per control step: it sets velocity targets for the slide and yaw
actuators (in the world frame, from the current yaw), moves the head-pitch target, and handles
the two instantaneous actions, jump (only from the ground) and grab/release. Physics substeps
then run without any Python in between.
"""

from __future__ import annotations

import numpy as np

from worlds.scene import JUMP_HEIGHT, SLOT_HALF_SIZE, Scene

ACTIONS: tuple[str, ...] = (
    "noop",
    "forward",
    "backward",
    "strafe_left",
    "strafe_right",
    "turn_left",
    "turn_right",
    "forward_left",
    "forward_right",
    "look_up",
    "look_down",
    "jump",
    "grab",  # grab the object on the view ray within reach, or release the held one
)
NUM_ACTIONS = len(ACTIONS)
NOOP = ACTIONS.index("noop")

MOVE_SPEED = 2.0  # m/s at avatar_speed 1
TURN_SPEED = 2.5  # rad/s at avatar_speed 1
PITCH_STEP = 0.15  # rad per look action
PITCH_LIMIT = 0.7
REACH = 2.0  # metres from the eye
GRAB_MARGIN = 0.15  # extra radius around an object's half size that still counts as on the ray

# (forward, left, turn) per action; look, jump and grab are handled separately
_MOTION = np.zeros((NUM_ACTIONS, 3))
_MOTION[ACTIONS.index("forward")] = (1, 0, 0)
_MOTION[ACTIONS.index("backward")] = (-1, 0, 0)
_MOTION[ACTIONS.index("strafe_left")] = (0, 1, 0)
_MOTION[ACTIONS.index("strafe_right")] = (0, -1, 0)
_MOTION[ACTIONS.index("turn_left")] = (0, 0, 1)
_MOTION[ACTIONS.index("turn_right")] = (0, 0, -1)
_MOTION[ACTIONS.index("forward_left")] = (1, 0, 0.6)
_MOTION[ACTIONS.index("forward_right")] = (1, 0, -0.6)
_LOOK_UP, _LOOK_DOWN = ACTIONS.index("look_up"), ACTIONS.index("look_down")
_JUMP, _GRAB = ACTIONS.index("jump"), ACTIONS.index("grab")


class AvatarController:
    """Turns discrete actions into actuator targets for one scene."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.speed = 1.0
        self.pitch_target = 0.0
        self.sticky_grab = False

    def reset(self, avatar_speed: float, sticky_grab: bool = False) -> None:
        """Per trial: the task's speed, and whether a grab may be undone (EpisodeSpec)."""
        self.speed = avatar_speed
        self.pitch_target = 0.0
        self.sticky_grab = sticky_grab

    def apply(self, action: int) -> None:
        if not 0 <= action < NUM_ACTIONS:
            raise ValueError(f"action: {action!r} is not in [0, {NUM_ACTIONS - 1}] "
                             f"({', '.join(ACTIONS)})")
        sc = self.scene
        d = sc.data
        fwd, left, turn = _MOTION[action]
        yaw = d.qpos[sc.avatar_qpos[3]]
        c, s = np.cos(yaw), np.sin(yaw)
        v = MOVE_SPEED * self.speed
        d.ctrl[0] = v * (fwd * c - left * s)
        d.ctrl[1] = v * (fwd * s + left * c)
        d.ctrl[2] = TURN_SPEED * self.speed * turn
        if action == _LOOK_UP:
            self.pitch_target = max(self.pitch_target - PITCH_STEP, -PITCH_LIMIT)
        elif action == _LOOK_DOWN:
            self.pitch_target = min(self.pitch_target + PITCH_STEP, PITCH_LIMIT)
        d.ctrl[3] = self.pitch_target
        sc.keep_level(self.pitch_target)
        if action == _JUMP:
            vz = d.qvel[sc.avatar_qvel[2]]
            if abs(vz) < 0.2 and sc.avatar_contact():
                g = -sc.model.opt.gravity[2]
                d.qvel[sc.avatar_qvel[2]] = np.sqrt(2 * g * JUMP_HEIGHT)
        elif action == _GRAB:
            if sc.held >= 0:
                if not self.sticky_grab:
                    sc.release()
            else:
                slot = self.target_slot()
                if slot >= 0:
                    sc.grab(slot)

    def target_slot(self) -> int:
        """The nearest present object whose body the view ray passes through, within reach.

        Vectorised over slots: perpendicular distance of each centre to the ray; an occluding
        wall is ruled out by requiring the object to be visible."""
        sc = self.scene
        pos = sc.object_positions()
        eye, mat = sc.camera_pose()
        forward = -mat[:, 2]
        rel = pos - eye
        t = rel @ forward
        perp = np.linalg.norm(rel - t[:, None] * forward, axis=1)
        ok = sc.present & (t > 0) & (t < REACH) & (perp < SLOT_HALF_SIZE + GRAB_MARGIN)
        if not ok.any():
            return -1
        ok &= sc.visible(pos)
        if not ok.any():
            return -1
        return int(np.flatnonzero(ok)[np.argmin(t[ok])])
