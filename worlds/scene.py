"""The superset scene: one compiled MuJoCo model per env worker that can host any task.

Compiling MJCF costs tens of milliseconds and a new GL context costs more, so the scene is built
once with everything any task could need: a heightfield covering the largest arena, a pool of
object slots per shape (unused ones parked: invisible, collision-free, gravity-compensated), one
weld per slot for holding, and the avatar. `set_task` then only writes model arrays (heights,
colours, initial poses via `qpos0`, gravity, friction, masses, actuator limits). A trial reset is
`mj_resetData` plus restoring the few arrays rules may have changed, so it is exact.
"""

from __future__ import annotations

from typing import Any, ClassVar

import mujoco
import numpy as np
from dm_control import mjcf

from worlds import heightfield as hf
from worlds.task import COLOURS, MAX_OBJECTS_PER_SHAPE, SHAPES, TILE_SIZE, Task

PHYSICS_DT = 0.025  # 4 substeps at 10 Hz control: stable for these contacts, and cheap
# Semi-implicit Euler, not implicitfast: at this timestep implicitfast integrates a free body in
# contact differently from Euler even with no damping or actuator on it (its angular velocity
# drifts from the second substep of a resting contact), and rolling spheres and tipping pyramids on
# the heightfield then gain energy at every prism edge until MuJoCo's instability reset fires
# (79 resets in 10,000 random steps on `default`; 0 with Euler, and 0 with the full implicit
# integrator at 1.4x the cost). The avatar's velocity actuators stay stable explicitly
# (kv * dt / mass = 0.5 for translation, about 0.6 for yaw), and joint damping is implicit in
# Euler anyway.
INTEGRATOR = "Euler"
NEAR_CLIP = 0.03  # metres: the first-person camera sees a wall the avatar touches (0.15 m away)
FAR_CLIP = 60.0  # metres: beyond the largest arena's diagonal seen from any camera
N_SLOTS = len(SHAPES) * MAX_OBJECTS_PER_SHAPE
SLOT_SHAPE = np.repeat(np.arange(len(SHAPES)), MAX_OBJECTS_PER_SHAPE)  # slot -> shape index
HALF_SIZE = {"cube": 0.25, "sphere": 0.25, "pyramid": 0.25}  # half extent in x/y
HALF_HEIGHT = {"cube": 0.25, "sphere": 0.25, "pyramid": 0.25}  # body origin above the floor
SLOT_HALF_SIZE = np.array([HALF_SIZE[SHAPES[s]] for s in SLOT_SHAPE])
SLOT_HALF_HEIGHT = np.array([HALF_HEIGHT[SHAPES[s]] for s in SLOT_SHAPE])
COLOUR_RGBA = np.array([
    (0.90, 0.15, 0.15, 1.0),  # red
    (0.15, 0.75, 0.20, 1.0),  # green
    (0.15, 0.30, 0.95, 1.0),  # blue
    (0.95, 0.85, 0.10, 1.0),  # yellow
    (0.60, 0.20, 0.80, 1.0),  # purple
    (0.10, 0.85, 0.85, 1.0),  # cyan
    (1.00, 0.50, 0.05, 1.0),  # orange
    (0.95, 0.95, 0.95, 1.0),  # white
])
assert len(COLOUR_RGBA) == len(COLOURS)


def _see_probes(shape: str) -> np.ndarray:
    """(7, 3) points inside an object of `shape`, in its frame: the centre and one point near the
    surface along each axis (for the pyramid, near its base corners' sides and its apex)."""
    if shape == "pyramid":  # base at z = -0.25 (half width 0.25), apex at z = +0.25
        return np.array([(0, 0, 0), (0.14, 0, -0.15), (-0.14, 0, -0.15), (0, 0.14, -0.15),
                         (0, -0.14, -0.15), (0, 0, 0.15), (0, 0, -0.2)])
    r = 0.7 * HALF_SIZE[shape]
    return np.array([(0, 0, 0), (r, 0, 0), (-r, 0, 0), (0, r, 0), (0, -r, 0), (0, 0, r),
                     (0, 0, -r)])


SEE_PROBES = np.stack([_see_probes(SHAPES[k]) for k in SLOT_SHAPE])  # (N_SLOTS, 7, 3)

AVATAR_MASS = 10.0
AVATAR_RADIUS = 0.25
AVATAR_HALF_LENGTH = 0.2
EYE_HEIGHT = 0.8
JUMP_HEIGHT = 0.45  # below one terrain level: levels are climbed by ramps, not jumps
# The highest the eye gets above the terrain under it: a jump from on top of an object (none is
# taller than twice its half size). A terrain view (heightfield.py) is drawn only where even
# that stays below the wall tops, so nothing beyond the wall ring can come into sight.
EYE_RISE = EYE_HEIGHT + JUMP_HEIGHT + 2 * max(HALF_SIZE.values())
FOVY_DEGREES = 70.0
HAND_OFFSET = (0.6, 0.0, -0.2)  # held objects sit here in the head frame
BASE_OBJECT_MASS = 1.0

# Collision bits: terrain 1, avatar 2; objects collide with both, a held object with terrain and
# other objects only (so the avatar does not fight its own weld), a parked object with nothing.
CONTYPE_OBJECT, CONAFF_OBJECT = 1, 3
# Geom groups: terrain 0, objects 1, the avatar's own body 2 (hidden from its first-person camera
# and from visibility rays, so the agent sees the world, not the inside of its head)
AVATAR_GROUP = 2
# Groups 3, 4: the visual-only views of the terrain for small arenas (heightfield.py), drawn
# by the first-person camera instead of group 0 when the arena fits one.
VIEW_GROUP0 = 3
CONTYPE_HELD, CONAFF_HELD = 4, 1
PARKED_Z = -20.0
# Geom groups a visibility ray sees: terrain (0) and objects (1), never the avatar's own geoms.
RAY_GROUPS = np.array([1, 1, 0, 0, 0, 0], np.uint8)
RAY_GROUPS.setflags(write=False)


def _build_mjcf() -> mjcf.RootElement:
    root = mjcf.RootElement(model="ada_world")
    root.compiler.angle = "radian"
    root.option.timestep = PHYSICS_DT
    root.option.integrator = INTEGRATOR
    root.option.cone = "elliptic"
    root.visual.quality.shadowsize = 0
    root.visual.headlight.ambient = (0.45, 0.45, 0.45)
    root.visual.headlight.diffuse = (0.35, 0.35, 0.35)
    getattr(root.visual, "global").offwidth = 64
    getattr(root.visual, "global").offheight = 64
    root.asset.add("texture", name="sky", type="skybox", builtin="gradient",
                   rgb1=(0.55, 0.7, 0.9), rgb2=(0.9, 0.9, 0.95), width=64, height=64)
    root.asset.add("texture", name="grid", type="2d", builtin="checker", mark="edge",
                   rgb1=(0.55, 0.52, 0.45), rgb2=(0.6, 0.57, 0.5), markrgb=(0.3, 0.3, 0.3),
                   width=64, height=64)
    # one checker square per tile, edges on the tile edges (texuniform: repeats per metre,
    # so the views of small arenas below draw the same squares)
    root.asset.add("material", name="ground", texture="grid", texuniform=True,
                   texrepeat=(1 / TILE_SIZE, 1 / TILE_SIZE), reflectance=0.0)
    n = hf.N_SAMPLES
    root.asset.add("hfield", name="terrain", nrow=n, ncol=n,
                   size=(hf.HFIELD_RADIUS, hf.HFIELD_RADIUS,
                         hf.HFIELD_TOP, hf.HFIELD_BASE))
    root.asset.add("mesh", name="pyramid", vertex=(
        -0.25, -0.25, -0.25, 0.25, -0.25, -0.25, 0.25, 0.25, -0.25, -0.25, 0.25, -0.25, 0, 0, 0.25))
    wb = root.worldbody
    wb.add("light", name="sun", directional=True, castshadow=False, pos=(0, 0, 10),
           dir=(0.3, 0.2, -1), diffuse=(0.5, 0.5, 0.5))
    c = hf.HFIELD_CENTRE
    wb.add("geom", name="terrain", type="hfield", hfield="terrain", pos=(c, c, 0),
           material="ground", contype=1, conaffinity=1, group=0)
    for k, tiles in enumerate(hf.VIEW_ARENA_TILES):
        # the corner of the terrain (same first sample, spacing, scale and texture per metre)
        nv = hf.view_samples(tiles)
        radius = (nv - 1) * hf.SAMPLE_SPACING / 2
        root.asset.add("hfield", name=f"terrain_view{k}", nrow=nv, ncol=nv,
                       size=(radius, radius, hf.HFIELD_TOP, hf.HFIELD_BASE))
        cv = hf.FIRST_SAMPLE + radius
        wb.add("geom", name=f"terrain_view{k}", type="hfield", hfield=f"terrain_view{k}",
               pos=(cv, cv, 0), material="ground", contype=0, conaffinity=0,
               group=VIEW_GROUP0 + k)

    avatar = wb.add("body", name="avatar")
    avatar.add("joint", name="x", type="slide", axis=(1, 0, 0))
    avatar.add("joint", name="y", type="slide", axis=(0, 1, 0))
    avatar.add("joint", name="z", type="slide", axis=(0, 0, 1))
    avatar.add("joint", name="yaw", type="hinge", axis=(0, 0, 1), armature=0.5, damping=0.0)
    avatar.add("geom", name="avatar", type="capsule", size=(AVATAR_RADIUS, AVATAR_HALF_LENGTH),
               pos=(0, 0, AVATAR_RADIUS + AVATAR_HALF_LENGTH), mass=AVATAR_MASS,
               contype=2, conaffinity=1, friction=(0.0, 0.0, 0.0), priority=1,
               rgba=(0.85, 0.6, 0.4, 1), group=AVATAR_GROUP)
    head = avatar.add("body", name="head", pos=(0, 0, EYE_HEIGHT))
    head.add("joint", name="pitch", type="hinge", axis=(0, 1, 0), range=(-0.7, 0.7),
             limited=True, armature=0.05, damping=1.0)
    head.add("geom", name="visor", type="box", size=(0.05, 0.12, 0.04), pos=(0.2, 0, 0),
             mass=0.1, contype=0, conaffinity=0, rgba=(0.2, 0.2, 0.2, 1), group=AVATAR_GROUP)
    # camera looks along the head's +x with +z up
    head.add("camera", name="first_person", pos=(0.1, 0, 0), xyaxes=(0, -1, 0, 0, 0, 1),
             fovy=FOVY_DEGREES)
    head.add("body", name="hand", pos=HAND_OFFSET)

    for s in range(N_SLOTS):
        shape = SHAPES[SLOT_SHAPE[s]]
        # gravcomp=1 at compile time so MuJoCo keeps gravity compensation enabled (it is
        # skipped entirely when no body has it); present objects get 0 in `_write_slot_arrays`
        body = wb.add("body", name=f"slot{s}", pos=(-5.0 - s, -5.0, PARKED_Z), gravcomp=1.0)
        body.add("freejoint", name=f"slot{s}")
        kw: dict[str, Any] = dict(name=f"slot{s}", mass=BASE_OBJECT_MASS, contype=0,
                                  conaffinity=0, rgba=(1, 1, 1, 0), group=1,
                                  condim=4)
        if shape == "cube":
            body.add("geom", type="box", size=(0.25, 0.25, 0.25), **kw)
        elif shape == "sphere":
            body.add("geom", type="sphere", size=(0.25,), **kw)
        else:
            body.add("geom", type="mesh", mesh="pyramid", **kw)
        root.equality.add("weld", name=f"hold{s}", body1=f"slot{s}", body2="hand",
                          active=False, solref=(0.05, 1.0))

    root.actuator.add("velocity", name="vx", joint="x", kv=AVATAR_MASS * 20,
                      forcelimited=True, forcerange=(-100, 100))
    root.actuator.add("velocity", name="vy", joint="y", kv=AVATAR_MASS * 20,
                      forcelimited=True, forcerange=(-100, 100))
    root.actuator.add("velocity", name="vyaw", joint="yaw", kv=20.0,
                      forcelimited=True, forcerange=(-200, 200))
    root.actuator.add("position", name="pitch", joint="pitch", kp=20.0,
                      ctrllimited=True, ctrlrange=(-0.7, 0.7))
    return root


class Scene:
    """A compiled superset model plus the bookkeeping to load any task into it by array writes."""

    compile_count: ClassVar[int] = 0  # process-wide: tests assert set_task never increments it

    def __init__(self) -> None:
        root = _build_mjcf()
        self.model = mujoco.MjModel.from_xml_string(root.to_xml_string(), root.get_assets())
        Scene.compile_count += 1
        m = self.model
        # clip planes are fractions of the model's extent in MJCF; set them in metres here
        m.vis.map.znear = NEAR_CLIP / m.stat.extent
        m.vis.map.zfar = FAR_CLIP / m.stat.extent
        self.data = mujoco.MjData(m)
        name = lambda t, n: mujoco.mj_name2id(m, t, n)  # noqa: E731
        self.avatar_body = name(mujoco.mjtObj.mjOBJ_BODY, "avatar")
        self.avatar_geom = name(mujoco.mjtObj.mjOBJ_GEOM, "avatar")
        self.hand_body = name(mujoco.mjtObj.mjOBJ_BODY, "hand")
        self.camera_id = name(mujoco.mjtObj.mjOBJ_CAMERA, "first_person")
        self.terrain_geom = name(mujoco.mjtObj.mjOBJ_GEOM, "terrain")
        self.slot_body = np.array([name(mujoco.mjtObj.mjOBJ_BODY, f"slot{s}")
                                   for s in range(N_SLOTS)])
        self.slot_geom = np.array([name(mujoco.mjtObj.mjOBJ_GEOM, f"slot{s}")
                                   for s in range(N_SLOTS)])
        self.slot_eq = np.array([name(mujoco.mjtObj.mjOBJ_EQUALITY, f"hold{s}")
                                 for s in range(N_SLOTS)])
        jnt = np.array([m.body_jntadr[b] for b in self.slot_body])
        self.slot_qpos = m.jnt_qposadr[jnt]  # 7 entries each: pos, quat
        self.slot_qvel = m.jnt_dofadr[jnt]  # 6 entries each
        self._slot_qpos_idx = self.slot_qpos[:, None] + np.arange(7)
        self._slot_qvel_idx = self.slot_qvel[:, None] + np.arange(6)
        self.avatar_qpos = np.array([m.jnt_qposadr[name(mujoco.mjtObj.mjOBJ_JOINT, j)]
                                     for j in ("x", "y", "z", "yaw", "pitch")])
        self.avatar_qvel = np.array([m.jnt_dofadr[name(mujoco.mjtObj.mjOBJ_JOINT, j)]
                                     for j in ("x", "y", "z", "yaw", "pitch")])
        # the broadphase uses per-body collision masks cached at compile time (when slots were
        # parked, so 0): give slot bodies the union of every state a slot can be in
        m.body_contype[self.slot_body] = CONTYPE_OBJECT | CONTYPE_HELD
        m.body_conaffinity[self.slot_body] = CONAFF_OBJECT | CONAFF_HELD
        self.parked_pos = m.body_pos[self.slot_body].copy()
        # the head's pitch servo: its gains, and the head's own inertia about the pitch axis
        # (armature included), against which a held object's inertia is matched in `grab`
        self._pitch_act = name(mujoco.mjtObj.mjOBJ_ACTUATOR, "pitch")
        self._pitch_dof = int(self.avatar_qvel[4])
        self._pitch_kp = float(m.actuator_gainprm[self._pitch_act, 0])
        self._pitch_damping = float(m.dof_damping[self._pitch_dof])
        self._pitch_armature = float(m.dof_armature[self._pitch_dof])
        d0 = mujoco.MjData(m)
        mujoco.mj_forward(m, d0)
        full = np.zeros((m.nv, m.nv))
        mujoco.mj_fullM(m, d0, full)
        self._head_inertia = float(full[self._pitch_dof, self._pitch_dof])
        self.base_inertia = m.body_inertia[self.slot_body].copy()
        self._object_geoms = np.concatenate([[self.terrain_geom], self.slot_geom])
        # per-task initial slot arrays, restored at every trial reset
        self.init_present = np.zeros(N_SLOTS, bool)
        self.init_colour = np.zeros(N_SLOTS, np.int64)
        self.present = np.zeros(N_SLOTS, bool)
        self.colour = np.zeros(N_SLOTS, np.int64)
        self.init_avatar_qpos = np.zeros(5)
        self.held = -1  # slot index held by the avatar, or -1
        self._grab_rel = np.array([1.0, 0.0, 0.0, 0.0])  # the weld's rotation at the grab
        self._grab_pitch = 0.0  # and the head's pitch then (`keep_level`)
        self.heights = np.zeros((hf.N_SAMPLES, hf.N_SAMPLES))
        self.terrain_hfield = name(mujoco.mjtObj.mjOBJ_HFIELD, "terrain")
        self.view_hfields = [name(mujoco.mjtObj.mjOBJ_HFIELD, f"terrain_view{k}")
                             for k in range(len(hf.VIEW_ARENA_TILES))]
        # the view of the current task's terrain (index into VIEW_ARENA_TILES), None for full
        self.view: int | None = None
        self.task: Task | None = None
        # reusable buffers for visibility rays
        n_rays = N_SLOTS * SEE_PROBES.shape[1]
        self._ray_vec = np.zeros(3 * n_rays)
        self._ray_geom = np.zeros(n_rays, np.int32)
        self._ray_dist = np.zeros(n_rays)
        self._tan_half_fov = np.tan(np.deg2rad(FOVY_DEGREES) / 2)

    # ---- loading a task --------------------------------------------------------------------
    def floor_height(self, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
        """Heightfield sample height nearest to (x, y): where objects and the avatar stand."""
        if np.ndim(x) == 0 and np.ndim(y) == 0:  # per-step scalar path: no array clipping
            last = hf.N_SAMPLES - 1
            c = min(max(round((float(x) - hf.FIRST_SAMPLE) / hf.SAMPLE_SPACING), 0), last)
            r = min(max(round((float(y) - hf.FIRST_SAMPLE) / hf.SAMPLE_SPACING), 0), last)
            return self.heights[r, c]
        return self.heights[hf.sample_index(x, y)]

    def _write_hfield(self, hfield: int, elevation: np.ndarray) -> None:
        m = self.model
        adr = int(m.hfield_adr[hfield])
        m.hfield_data[adr:adr + elevation.size] = elevation.ravel()

    def set_task(self, task: Task) -> None:
        """Writes the task into the compiled model: array writes only, never a recompile."""
        m = self.model
        self.task = task
        self.heights = hf.heightfield(task.world.terrain)
        elevation = self.heights / hf.HFIELD_TOP
        self._write_hfield(self.terrain_hfield, elevation)
        self.view = hf.view_index(task.world.terrain, EYE_RISE)
        if self.view is not None:
            nv = hf.view_samples(hf.VIEW_ARENA_TILES[self.view])
            self._write_hfield(self.view_hfields[self.view], elevation[:nv, :nv])
        # slots: objects of each shape take that shape's slots in order
        self.init_present[:] = False
        used = np.zeros(len(SHAPES), int)
        qpos0 = m.qpos0
        qpos0[self._slot_qpos_idx] = 0.0
        qpos0[self._slot_qpos_idx[:, 0:3]] = self.parked_pos
        qpos0[self._slot_qpos_idx[:, 3]] = 1.0
        objects = task.world.objects
        a = task.world.avatar
        # every body rests on the highest terrain under its (yawed) footprint, never in a slope
        base = hf.support_height(
            self.heights, [o.x for o in objects] + [a.x], [o.y for o in objects] + [a.y],
            [HALF_SIZE[o.type.shape] * np.sqrt(2) for o in objects] + [AVATAR_RADIUS])
        for i, o in enumerate(objects):
            k = SHAPES.index(o.type.shape)
            s = k * MAX_OBJECTS_PER_SHAPE + used[k]
            used[k] += 1
            self.init_present[s] = True
            self.init_colour[s] = COLOURS.index(o.type.colour)
            z = float(base[i]) + SLOT_HALF_HEIGHT[s] + 0.005
            qpos0[self._slot_qpos_idx[s]] = (o.x, o.y, z, np.cos(o.yaw / 2), 0, 0,
                                             np.sin(o.yaw / 2))
        # slide/hinge joints measure from qpos0 (their reference), so the avatar's start pose is
        # written into data.qpos at every reset instead; free joints are absolute
        self.init_avatar_qpos[:] = (a.x, a.y, float(base[-1]) + 0.01, a.yaw, 0.0)
        dyn = task.world.dynamics
        g = 9.81 * dyn.gravity_scale
        m.opt.gravity[:] = (0.0, 0.0, -g)
        m.geom_friction[self._object_geoms, 0] = dyn.friction
        m.body_mass[self.slot_body] = BASE_OBJECT_MASS * dyn.object_mass
        m.body_inertia[self.slot_body] = self.base_inertia * dyn.object_mass
        # the avatar's push is scaled with gravity so ramps (tan 0.4) stay climbable and
        # one-sample cliffs (tan 1.6) do not, whatever the sampled gravity
        f = 0.9 * AVATAR_MASS * g
        m.actuator_forcerange[0:2] = (-f, f)
        self.reset()

    def reset(self) -> None:
        """Returns the world exactly to the task's initial state (used at every trial start)."""
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        d.qpos[self.avatar_qpos] = self.init_avatar_qpos
        self.present[:] = self.init_present
        self.colour[:] = self.init_colour
        self.held = -1
        self._pitch_gain(0.0)
        self._write_slot_arrays(np.arange(N_SLOTS))
        d.ctrl[3] = 0.0
        mujoco.mj_forward(m, d)

    def _write_slot_arrays(self, slots: np.ndarray) -> None:
        m = self.model
        g = self.slot_geom[slots]
        on = self.present[slots]
        m.geom_rgba[g] = np.where(on[:, None], COLOUR_RGBA[self.colour[slots]], (1, 1, 1, 0))
        m.geom_contype[g] = np.where(on, CONTYPE_OBJECT, 0)
        m.geom_conaffinity[g] = np.where(on, CONAFF_OBJECT, 0)
        m.body_gravcomp[self.slot_body[slots]] = np.where(on, 0.0, 1.0)

    # ---- holding ---------------------------------------------------------------------------
    def grab(self, slot: int) -> None:
        m, d = self.model, self.data
        self.release()
        eq = self.slot_eq[slot]
        # relpose: the hand's pose in the object's frame; zero offset pulls the object to the
        # hand, the current relative rotation avoids a violent spin
        q_obj = d.xquat[self.slot_body[slot]]
        q_hand = d.xquat[self.hand_body]
        q_rel = np.zeros(4)
        q_inv = np.zeros(4)
        mujoco.mju_negQuat(q_inv, q_obj)
        mujoco.mju_mulQuat(q_rel, q_inv, q_hand)
        m.eq_data[eq, 0:3] = 0.0
        m.eq_data[eq, 3:6] = 0.0
        m.eq_data[eq, 6:10] = q_rel
        d.eq_active[eq] = 1
        self._grab_rel = q_rel
        self._grab_pitch = float(d.qpos[self.avatar_qpos[4]])
        g = self.slot_geom[slot]
        m.geom_contype[g], m.geom_conaffinity[g] = CONTYPE_HELD, CONAFF_HELD
        # a held object is weightless: its weight at the hand (up to 2 kg x 12 m/s^2 at
        # 0.6 m) would bend the head's pitch servo (kp 20) to its lower limit, so the camera
        # would stare at the floor, looking up would do nothing and the object would drag
        # along the ground; contacts and inertia still act on it
        m.body_gravcomp[self.slot_body[slot]] = 1.0
        # its inertia at the hand is up to 20 times the head's (kp 20 alone swings a 2 kg
        # object +-0.3 rad): `_pitch_gain` matches the servo to it, so the view turns up and
        # down as fast, and as little overshot, with an object as without one
        b = self.slot_body[slot]
        lever2 = float(np.dot(HAND_OFFSET, HAND_OFFSET))
        load = m.body_mass[b] * lever2 + float(np.mean(m.body_inertia[b]))
        self._pitch_gain(load)
        self.held = slot

    def keep_level(self, pitch: float) -> None:
        """Turns the held object's weld so that at head pitch `pitch` the object has the
        attitude it had when grabbed (only its yaw follows the avatar).

        The hand is part of the head, so a plain weld tilts the object with every look up or
        down: a cube grabbed off the floor (head down) and lifted onto another (head up) would
        land on an edge, tumble off and show the agent a tilted object it never tilted. A
        hand carrying a box keeps it upright; so does this one. Called once per control step
        with the pitch servo's target, so the object levels as the head reaches it."""
        if self.held < 0:
            return
        half = 0.5 * (pitch - self._grab_pitch)
        turn = np.array([np.cos(half), 0.0, np.sin(half), 0.0])  # about the pitch axis (y)
        mujoco.mju_mulQuat(self.model.eq_data[self.slot_eq[self.held], 6:10], self._grab_rel,
                           turn)

    def release(self) -> None:
        if self.held < 0:
            return
        s = self.held
        self.data.eq_active[self.slot_eq[s]] = 0
        if self.present[s]:
            self.model.body_gravcomp[self.slot_body[s]] = 0.0
            g = self.slot_geom[s]
            self.model.geom_contype[g], self.model.geom_conaffinity[g] = (CONTYPE_OBJECT,
                                                                          CONAFF_OBJECT)
        self._pitch_gain(0.0)
        self.held = -1

    def _pitch_gain(self, load: float) -> None:
        """The head servo for a held inertia `load` about the pitch axis (0: nothing held).

        Stiffness and damping scale with the total inertia the servo moves, which keeps the
        bare head's natural frequency and damping ratio. The load is also added to the
        joint's armature: the weld to the object is soft, so at the step's time scale the
        head alone would meet the raised stiffness and the explicit integrator would blow up
        (the armature keeps its own frequency within 1.5x the bare head's)."""
        m = self.model
        scale = 1.0 + 2.0 * load / self._head_inertia
        m.actuator_gainprm[self._pitch_act, 0] = scale * self._pitch_kp
        m.actuator_biasprm[self._pitch_act, 1] = -scale * self._pitch_kp
        m.dof_damping[self._pitch_dof] = scale * self._pitch_damping
        m.dof_armature[self._pitch_dof] = self._pitch_armature + load

    # ---- rules changing the world ----------------------------------------------------------
    def remove(self, slots: np.ndarray) -> None:
        """Parks consumed objects: invisible, collision-free, floating out of the way."""
        slots = np.asarray(slots, int)
        if self.held in slots:
            self.release()
        d = self.data
        self.present[slots] = False
        self._write_slot_arrays(slots)
        d.qpos[self._slot_qpos_idx[slots, 0:3]] = self.parked_pos[slots]
        d.qvel[self._slot_qvel_idx[slots]] = 0.0

    def spawn(self, slot: int, colour: int, pos: np.ndarray) -> None:
        d = self.data
        self.present[slot] = True
        self.colour[slot] = colour
        self._write_slot_arrays(np.array([slot]))
        d.qpos[self._slot_qpos_idx[slot]] = (*pos, 1.0, 0.0, 0.0, 0.0)
        d.qvel[self._slot_qvel_idx[slot]] = 0.0

    # ---- reading the world -----------------------------------------------------------------
    def object_positions(self) -> np.ndarray:
        return self.data.xpos[self.slot_body]

    def camera_pose(self) -> tuple[np.ndarray, np.ndarray]:
        d = self.data
        return d.cam_xpos[self.camera_id], d.cam_xmat[self.camera_id].reshape(3, 3)

    def visible(self, pos: np.ndarray) -> np.ndarray:
        """(N_SLOTS,) bool: present, and some part of it in the first-person view, unoccluded.

        `pos` are the slots' centres (the current ones). Each object is probed at its centre and
        at six points inside it near its surface (`SEE_PROBES`, in its own frame): it is seen if
        any probe inside the camera's frustum has the object's own geom as the first surface on
        the ray from the eye (walls, terrain and other objects occlude). The centre alone misses
        objects that show only an edge, or a side past a corner. Rays cost most against the
        heightfield, so the centres go first (one batched `mj_multiRay`) and only the objects
        not yet seen are probed at their other points (a second batch)."""
        out = np.zeros(N_SLOTS, bool)
        slots = np.flatnonzero(self.present)
        if slots.size == 0:
            return out
        cam_pos, cam_mat = self.camera_pose()
        rot = self.data.xmat[self.slot_body[slots]].reshape(-1, 3, 3)
        probes = pos[slots, None, :] + np.einsum("nij,nkj->nki", rot, SEE_PROBES[slots])
        rel = probes - cam_pos  # (n, 7, 3)
        local = rel @ cam_mat  # camera frame: x right, y up, -z forward
        depth = -local[..., 2]
        lim = depth * self._tan_half_fov
        in_view = (depth > NEAR_CLIP) & (np.abs(local[..., 0]) < lim) & (
            np.abs(local[..., 1]) < lim)
        seen = self._cast(cam_pos, rel[:, 0], slots, in_view[:, 0])
        rest = ~seen
        if rest.any():
            n_probe = SEE_PROBES.shape[1] - 1
            later = self._cast(cam_pos, rel[rest, 1:].reshape(-1, 3),
                               np.repeat(slots[rest], n_probe), in_view[rest, 1:].ravel())
            seen[rest] = later.reshape(-1, n_probe).any(axis=1)
        out[slots[seen]] = True
        return out

    def _cast(self, origin: np.ndarray, rel: np.ndarray, owner: np.ndarray,
              ok: np.ndarray) -> np.ndarray:
        """(len(rel),) bool: ray origin -> origin + rel[i] first hits slot owner[i]'s geom
        (only where ok[i]; False elsewhere)."""
        hit = np.zeros(len(rel), bool)
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return hit
        k = idx.size
        vec = self._ray_vec[: 3 * k]
        vec[:] = (rel[idx] / np.linalg.norm(rel[idx], axis=1, keepdims=True)).ravel()
        geom, dist = self._ray_geom[:k], self._ray_dist[:k]
        mujoco.mj_multiRay(self.model, self.data, origin, vec, RAY_GROUPS, 1, -1,
                           geom, dist, None, k, 100.0)
        hit[idx] = geom == self.slot_geom[owner[idx]]
        return hit

    def avatar_contact(self) -> bool:
        """Whether the avatar touches anything (for jumping only from the ground)."""
        d = self.data
        if d.ncon == 0:
            return False
        geoms = d.contact.geom[: d.ncon]
        return bool(np.any(geoms == self.avatar_geom))
