"""Physics fidelity audit: does the world stay physical under no-op and random play?

Every learned number depends on the world behaving: an object launched at 3 km/s, an avatar
inside a wall or an object sunk into the terrain changes what the goal predicates report without
any agent doing anything. `audit` plays tasks and counts, at every control step:

- MuJoCo warnings (instability resets, full contact or constraint buffers), read from the env;
- the peak linear speed of any present object and of the avatar;
- steps with the avatar outside the arena, or with its feet sunk below the terrain surface by
  more than a landing can press them (inside a wall tile or a plateau);
- steps with a present object sunk into the terrain (its origin lower than the shape can rest,
  by more than soft contacts allow, on two control steps in a row or by more than any impact
  can press it) or outside the arena; an object dropped from the hand or off a ledge hits the
  floor at up to 7.7 m/s, and the contact (time constant >= 2 dt = 50 ms, as for the avatar's
  landing) lets it dip up to about 10 cm for one step before it is pushed out: the deepest such
  one-step dip is reported (`peak_object_dip`), not counted;
- the deepest avatar sink and the deepest terrain contact MuJoCo reports. The latter is a
  diagnostic, not a position: the heightfield collides as a union of triangular prisms, and a
  sphere rolling over a prism edge can get a contact along a tilted normal whose depth (up to
  ~10 cm) is far more than its true overlap (~2 mm).

"Below the surface" is judged against the lowest of the four heightfield samples around the point
(the terrain there is at least that high), so a body resting on a slope or beside a cliff is never
miscounted; penetration is MuJoCo's own contact distance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from worlds import heightfield as hf
from worlds.camera import forget_current_context
from worlds.env import WorldEnv
from worlds.scene import AVATAR_GROUP, SLOT_SHAPE
from worlds.task import SHAPES, TILE_SIZE, Task

PENETRATION_TOLERANCE = 0.05  # metres: far deeper than any resting soft contact (~3 mm)
# Lowest height of a shape's origin above the ground it rests on: a cube or sphere on a face, a
# pyramid tipped onto a side face (0.25 / sqrt(5) from its origin).
REST_HEIGHT = np.array([{"cube": 0.25, "sphere": 0.25, "pyramid": 0.25 / np.sqrt(5)}[SHAPES[k]]
                        for k in SLOT_SHAPE])
# The avatar lands at up to 5.7 m/s (a jump off a level-2 plateau) on contacts whose stiffness the
# timestep bounds (MuJoCo keeps a contact's time constant >= 2 dt = 50 ms), so its feet dip up
# to about 10 cm for a control step; inside a wall or plateau they would be >= 0.6 m down.
AVATAR_SINK_TOLERANCE = 0.15
# The same bound for an object's one-step impact dip (it falls at most 7.7 m/s, see below); an
# object in a wall or plateau would be >= 0.35 m down, one pressed into flat ground stays down.
OBJECT_DIP_TOLERANCE = 0.15
# Bound on a physical speed: the avatar walks at most 2 m/s x 1.25 and jumps at 3.3 m/s; an
# object can be carried at that speed or fall from the top of a wall (2.4 m: 7.7 m/s at 1.25 g).
# 15 m/s is twice the fastest honest motion and ten thousand times below a blow-up.
SPEED_BOUND = 15.0


@dataclass
class AuditReport:
    """Counts over all audited steps (see the module docstring); all must be 0 but the speeds."""

    tasks: int = 0
    steps: int = 0
    physics_warnings: int = 0
    instability_resets: int = 0
    peak_object_speed: float = 0.0
    peak_avatar_speed: float = 0.0
    peak_avatar_sink: float = 0.0
    peak_object_dip: float = 0.0
    peak_contact_depth: float = 0.0
    steps_over_speed_bound: int = 0
    avatar_outside_arena: int = 0
    avatar_inside_terrain: int = 0
    object_below_terrain: int = 0
    object_outside_arena: int = 0

    def merge(self, other: AuditReport) -> AuditReport:
        out = AuditReport()
        for k, v in asdict(self).items():
            w = getattr(other, k)
            setattr(out, k, max(v, w) if k.startswith("peak") else v + w)
        return out

    @property
    def violations(self) -> int:
        """Everything that must be zero for the world to count as physical."""
        return (self.physics_warnings + self.steps_over_speed_bound + self.avatar_outside_arena
                + self.avatar_inside_terrain + self.object_below_terrain
                + self.object_outside_arena)


def surface_floor(heights: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Lowest heightfield sample of the cell containing each (x, y): the surface is above it."""
    fx = (np.asarray(x) - hf.FIRST_SAMPLE) / hf.SAMPLE_SPACING
    fy = (np.asarray(y) - hf.FIRST_SAMPLE) / hf.SAMPLE_SPACING
    c0 = np.clip(np.floor(fx).astype(int), 0, hf.N_SAMPLES - 1)
    r0 = np.clip(np.floor(fy).astype(int), 0, hf.N_SAMPLES - 1)
    c1, r1 = np.minimum(c0 + 1, hf.N_SAMPLES - 1), np.minimum(r0 + 1, hf.N_SAMPLES - 1)
    return np.minimum.reduce([heights[r0, c0], heights[r0, c1], heights[r1, c0],
                              heights[r1, c1]])


def _terrain_penetration(env: WorldEnv) -> tuple[np.ndarray, float]:
    """Deepest terrain contact per slot (N_SLOTS,) and of the avatar, in metres (>= 0)."""
    sc = env.scene
    d = sc.data
    n_slots = len(sc.slot_geom)
    per_slot = np.zeros(n_slots + 1)  # the last entry collects the avatar
    n = d.ncon
    if n:
        geom = d.contact.geom[:n]
        depth = np.maximum(-d.contact.dist[:n], 0.0)
        other = np.where(geom[:, 0] == sc.terrain_geom, geom[:, 1],
                         np.where(geom[:, 1] == sc.terrain_geom, geom[:, 0], -1))
        owner = np.full(sc.model.ngeom, -1)
        owner[sc.slot_geom] = np.arange(n_slots)
        owner[sc.avatar_geom] = n_slots
        hit = other >= 0
        who = owner[other[hit]]
        keep = who >= 0
        np.maximum.at(per_slot, who[keep], depth[hit][keep])
    return per_slot[:n_slots], float(per_slot[n_slots])


def _check_step(env: WorldEnv, rep: AuditReport, was_sunk: np.ndarray) -> None:
    """Counts one control step into `rep`; `was_sunk` (N_SLOTS,) holds which objects were
    below their rest height at the previous step, and is updated."""
    sc = env.scene
    d = sc.data
    assert env.task is not None
    extent = env.task.world.size * TILE_SIZE
    rep.steps += 1
    on = sc.present
    pen_slot, pen_avatar = _terrain_penetration(env)
    obj_speed = 0.0
    if on.any():
        pos = sc.object_positions()[on]
        lin = d.qvel[sc._slot_qvel_idx[on][:, :3]]
        obj_speed = float(np.sqrt((lin ** 2).sum(axis=1)).max())
        floor = surface_floor(sc.heights, pos[:, 0], pos[:, 1])
        dip = floor + REST_HEIGHT[on] - pos[:, 2]
        below = dip > PENETRATION_TOLERANCE
        sunk = below & (was_sunk[on] | (dip > OBJECT_DIP_TOLERANCE))
        rep.object_below_terrain += int(sunk.any())
        rep.peak_object_dip = max(rep.peak_object_dip, float(dip.max()))
        was_sunk[:] = False
        was_sunk[np.flatnonzero(on)[below]] = True
    else:
        was_sunk[:] = False
        out = (pos[:, 0] < 0) | (pos[:, 1] < 0) | (pos[:, 0] > extent) | (pos[:, 1] > extent)
        rep.object_outside_arena += int(out.any())
    av = d.qpos[sc.avatar_qpos[:3]]
    av_speed = float(np.linalg.norm(d.qvel[sc.avatar_qvel[:3]]))
    rep.peak_object_speed = max(rep.peak_object_speed, obj_speed)
    rep.peak_avatar_speed = max(rep.peak_avatar_speed, av_speed)
    rep.steps_over_speed_bound += int(max(obj_speed, av_speed) > SPEED_BOUND)
    rep.avatar_outside_arena += int(not (0 <= av[0] <= extent and 0 <= av[1] <= extent))
    sink = float(surface_floor(sc.heights, av[0], av[1])) - float(av[2])
    rep.peak_avatar_sink = max(rep.peak_avatar_sink, sink)
    rep.avatar_inside_terrain += int(sink > AVATAR_SINK_TOLERANCE)
    rep.peak_contact_depth = max(rep.peak_contact_depth, float(pen_slot.max()), pen_avatar)


def audit_task(env: WorldEnv, task: Task, actions: Iterable[int]) -> AuditReport:
    """Plays `actions` on `task` from a fresh episode (episodes restart as needed)."""
    rep = AuditReport(tasks=1)
    env.set_task(task)
    env.reset()
    warned_before = 0
    was_sunk = np.zeros(len(env.scene.slot_geom), bool)
    for a in actions:
        ts = env.step(int(a))
        warned = env.physics_warnings
        rep.physics_warnings += warned - warned_before
        warned_before = warned
        if env.t_in_trial == 0:  # the world was reset: nothing carries over
            was_sunk[:] = False
        _check_step(env, rep, was_sunk)
        if ts.last():
            warned_before = 0
    rep.instability_resets = sum(v for k, v in env.physics_warnings_by_kind.items()
                                 if k.startswith("bad"))
    env.physics_warnings_by_kind = dict.fromkeys(env.physics_warnings_by_kind, 0)
    return rep


def audit(noop_tasks: list[Task], random_tasks: list[Task], random_steps: int,
          seed: int = 0) -> dict[str, AuditReport]:
    """One no-op trial on each of `noop_tasks`, and `random_steps` uniformly random actions
    spread evenly over `random_tasks`; returns both reports and their merge."""
    from worlds.avatar import NOOP, NUM_ACTIONS

    first = (noop_tasks or random_tasks)[0]
    env = WorldEnv(first, render=False, physics_warnings="count")
    rng = np.random.default_rng(seed)
    try:
        noop = AuditReport()
        for task in noop_tasks:
            noop = noop.merge(audit_task(env, task, [NOOP] * task.episode.trial_steps))
        rand = AuditReport()
        per_task = random_steps // max(1, len(random_tasks))
        for task in random_tasks:
            rand = rand.merge(audit_task(env, task, rng.integers(0, NUM_ACTIONS, per_task)))
    finally:
        env.close()
    return {"no-op": noop, "random": rand, "all": noop.merge(rand)}


class SegmentationCamera:
    """The agent's first-person camera rendered as geom ids: ground truth for what it shows.

    Same camera, clip planes and hidden groups as the agent's (its own body is not drawn), with
    the current task's terrain uploaded; `shown()` is the (N_SLOTS,) count of pixels of each
    object slot. For tests and audits, not for training (a second GL context)."""

    def __init__(self, env: WorldEnv, size: int = 64) -> None:
        import mujoco

        self._mujoco = mujoco
        self.env = env
        m = env.scene.model
        m.vis.global_.offwidth = max(m.vis.global_.offwidth, size)
        m.vis.global_.offheight = max(m.vis.global_.offheight, size)
        self._renderer = mujoco.Renderer(m, size, size)
        forget_current_context()
        self._renderer.enable_segmentation_rendering()
        self._option = mujoco.MjvOption()
        self._option.geomgroup[AVATAR_GROUP] = 0
        self._task: Task | None = None

    def segmentation(self) -> np.ndarray:
        """(size, size) geom id per pixel, -1 where no geom is drawn."""
        mj, sc = self._mujoco, self.env.scene
        r = self._renderer
        if self._task is not self.env.task:  # the heightfield lives on the GPU: re-upload
            r._gl_context.make_current()
            mj.mjr_uploadHField(sc.model, r._mjr_context, 0)
            self._task = self.env.task
        r.update_scene(sc.data, camera=sc.camera_id, scene_option=self._option)
        seg = r.render()
        forget_current_context()  # this renderer's context is current now, not the env's
        return np.where(seg[..., 1] == mj.mjtObj.mjOBJ_GEOM, seg[..., 0], -1)

    def shown(self) -> np.ndarray:
        seg = self.segmentation()
        return np.array([(seg == g).sum() for g in self.env.scene.slot_geom])

    def close(self) -> None:
        self._renderer.close()


@dataclass
class SeeAgreement:
    """`see(agent, o)` against the agent camera's segmentation, over object-states."""

    object_states: int = 0
    agree: int = 0
    seen_not_shown: int = 0  # the predicate says seen, no pixel of the object is drawn
    shown_not_seen: int = 0  # pixels are drawn, the predicate says not seen
    shown_not_seen_pixels: tuple[int, ...] = ()

    @property
    def rate(self) -> float:
        return self.agree / max(1, self.object_states)


def see_agreement(tasks: list[Task], steps: int = 100, every: int = 5, seed: int = 0,
                  size: int = 64) -> SeeAgreement:
    """Random play on each task; every `every` steps, each present object is an object-state:
    the predicate (`Scene.visible`) agrees if it says seen exactly when at least one pixel of the
    object is drawn in a `size` x `size` segmentation render of the agent's camera."""
    env = WorldEnv(tasks[0], render=False, physics_warnings="count")
    cam = SegmentationCamera(env, size)
    rng = np.random.default_rng(seed)
    out = SeeAgreement()
    pixels: list[int] = []
    try:
        for task in tasks:
            env.set_task(task)
            env.reset()
            for i in range(steps):
                env.step(int(rng.integers(0, 13)))
                if i % every:
                    continue
                sc = env.scene
                seen = sc.visible(sc.object_positions())
                shown = cam.shown()
                for s in np.flatnonzero(sc.present):
                    out.object_states += 1
                    drawn = shown[s] > 0
                    out.agree += int(drawn == seen[s])
                    out.seen_not_shown += int(seen[s] and not drawn)
                    if drawn and not seen[s]:
                        out.shown_not_seen += 1
                        pixels.append(int(shown[s]))
    finally:
        cam.close()
        env.close()
    out.shown_not_seen_pixels = tuple(pixels)
    return out


__all__ = ["SPEED_BOUND", "AuditReport", "SeeAgreement", "SegmentationCamera", "audit",
           "audit_task", "see_agreement", "surface_floor"]
