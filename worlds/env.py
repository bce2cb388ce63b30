"""`WorldEnv`: a dm_env environment with multi-trial episodes on one task.

An episode is k trials of the same task. At a trial boundary the world (physics, objects, rules'
effects) returns exactly to the task's initial state while the episode, and so the agent's
memory, goes on: that is what lets a memory-based agent adapt across trials. Reward is +1 on each
control step at whose end the goal holds. The observation's `prev_action` / `prev_reward` start
every trial at no-op / 0 too: what crosses a trial boundary is the agent's memory and nothing
else, so a memory-less control cannot learn anything about trial 1 in trial 2 (not even the
last step's reward), and a demonstration can reach an agent only through its memory.

Per control step the Python work is: one action -> actuator targets, one `mj_step` with all
substeps, one vectorised predicate/rule evaluation, one render. Nothing runs per substep.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import dm_env
import mujoco
import numpy as np
from dm_env import specs

from worlds import predicates, tokens
from worlds.avatar import ACTIONS, NOOP, NUM_ACTIONS, AvatarController
from worlds.camera import Camera
from worlds.rules import RuleEngine, RuleFiring
from worlds.scene import (
    AVATAR_GROUP,
    PHYSICS_DT,
    SLOT_HALF_SIZE,
    SLOT_SHAPE,
    VIEW_GROUP0,
    Scene,
)
from worlds.task import PREDICATES, TILE_SIZE, Task

PROPRIO_SIZE = 8
AGENT_CENTRE_HEIGHT = 0.45  # avatar body origin is at its feet; predicates use its centre
_SEE = PREDICATES.index("see")

TaskSource = Callable[[np.random.Generator], Task]

WARNING_NAMES = tuple(mujoco.mjtWarning(i).name.removeprefix("mjWARN_").lower()
                      for i in range(mujoco.mjtWarning.mjNWARNING.value))
PHYSICS_WARNINGS_ENV = "ADA_PHYSICS_WARNINGS"  # "count" (default) or "raise" (the test suite)
_WARNING_POLICIES = ("count", "raise")


class PhysicsWarningError(RuntimeError):
    """MuJoCo raised a warning (an instability reset, a full contact buffer, ...) in strict mode."""


def _warning_policy(value: str | None) -> str:
    policy = value if value is not None else os.environ.get(PHYSICS_WARNINGS_ENV, "count")
    if policy not in _WARNING_POLICIES:
        raise ValueError(f"{PHYSICS_WARNINGS_ENV}: {policy!r} is not one of "
                         f"{list(_WARNING_POLICIES)}")
    return policy


class WorldEnv(dm_env.Environment):
    """One env worker: one compiled scene and one first-person camera, reused for every task.

    Give either a fixed `task` (use `set_task` to switch) or a `task_source` called with the
    env's RNG at every `reset()`. `set_task` only writes model arrays; it never recompiles.

    MuJoCo's warning counters are read after every control step. A warning never passes
    silently: with `physics_warnings="count"` (the default, or $ADA_PHYSICS_WARNINGS) it is
    counted in `physics_warnings` (per episode, and so in the episode record and TensorBoard),
    and if it was an instability reset (MuJoCo zeroes the state and drops the welds) the trial's
    world is restored to its initial state with the bookkeeping to match, instead of leaving the
    avatar at the origin while the scene still reports a held object. With "raise" it raises
    `PhysicsWarningError` naming the warning and the task.
    """

    def __init__(self, task: Task | None = None, *, task_source: TaskSource | None = None,
                 seed: int = 0, image_size: int = 64, overview_size: int = 0,
                 render: bool = True, physics_warnings: str | None = None) -> None:
        if task is None and task_source is None:
            raise ValueError("WorldEnv needs a task or a task_source")
        if image_size < 8:
            raise ValueError(f"image_size: {image_size} is too small; allowed: >= 8")
        self.scene = Scene()
        self.controller = AvatarController(self.scene)
        self.image_size = image_size
        self.camera = Camera(self.scene.model, image_size, image_size, "first_person") \
            if render else None
        self.overview = Camera(self.scene.model, overview_size, overview_size, multisamples=4,
                               skybox=True) \
            if overview_size > 0 else None
        if self.camera is not None:
            self.camera.option.geomgroup[AVATAR_GROUP] = 0  # the agent does not see its own body
        self._warning_policy = _warning_policy(physics_warnings)
        self.physics_warnings = 0  # this episode's MuJoCo warnings
        self.physics_warnings_by_kind = dict.fromkeys(WARNING_NAMES, 0)
        self._task_source = task_source
        self.rng = np.random.default_rng(seed)
        self.state = predicates.WorldState.empty(len(SLOT_SHAPE))
        self.state.half_size[:] = SLOT_HALF_SIZE
        self._rgb = np.zeros((image_size, image_size, 3), np.uint8)
        self._needs_reset = True
        self.task: Task | None = None
        self.trial = 0
        self.t_in_trial = 0
        self.trial_returns: list[float] = []
        self.last_firings: list[RuleFiring] = []
        self._prev_action = NOOP
        self._prev_reward = 0.0
        self._goal_holds = False
        if task is not None:
            self.set_task(task)

    # ---- task management -------------------------------------------------------------------
    def _show_terrain_view(self, camera: Camera, view: int | None) -> None:
        """The first-person camera draws the smallest terrain view that holds the arena (the
        same pixels at a fraction of the cells, see `worlds.heightfield`), or the full field."""
        groups = camera.option.geomgroup
        groups[0] = int(view is None)
        for k in range(len(self.scene.view_hfields)):
            groups[VIEW_GROUP0 + k] = int(view == k)
        camera.upload_heightfield(self.scene.terrain_hfield if view is None
                                  else self.scene.view_hfields[view])

    def set_task(self, task: Task) -> None:
        """Loads `task` into the existing scene (array writes and a heightfield upload)."""
        self.task = task
        self.scene.set_task(task)
        if self.camera is not None:
            self._show_terrain_view(self.camera, self.scene.view)
        if self.overview is not None:
            self.overview.upload_heightfield(self.scene.terrain_hfield)
        self._goal = predicates.compile_goal(task.game.goal)
        self._engine = RuleEngine(task.game.rules)
        self._needs_see = bool(np.any(self._goal.literals.predicate == _SEE)) or bool(
            np.any(self._engine.compiled.conditions.predicate == _SEE))
        self._goal_tokens = tokens.encode_goal(task.game.goal)
        self._rule_tokens = tokens.encode_rules(task.game.rules)
        self._goal_tokens.setflags(write=False)
        self._rule_tokens.setflags(write=False)
        hz = task.episode.control_hz
        self._substeps = max(1, round(1.0 / (hz * PHYSICS_DT)))
        if self.overview is not None:
            extent = task.world.size * TILE_SIZE
            cam = self.overview.cam
            cam.lookat[:] = (extent / 2, extent / 2, 0.0)
            # fit the arena's diagonal in the free camera's 45-degree field of view
            cam.distance = 1.3 * extent + 1.5
            cam.azimuth, cam.elevation = 90.0, -72.0
        self._needs_reset = True

    # ---- dm_env API --------------------------------------------------------------------------
    def reset(self) -> dm_env.TimeStep:
        if self._task_source is not None:
            self.set_task(self._task_source(self.rng))
        if self.task is None:
            raise RuntimeError("reset(): no task set")
        self.trial = 0
        self.trial_returns = [0.0]
        self.physics_warnings = 0
        self._engine.reset()
        self._start_trial()
        self._prev_action, self._prev_reward = NOOP, 0.0
        self._needs_reset = False
        return dm_env.restart(self._observation())

    def step(self, action: int | np.integer | np.ndarray) -> dm_env.TimeStep:
        if self._needs_reset:
            return self.reset()
        assert self.task is not None
        a = int(action)
        self.controller.apply(a)
        mujoco.mj_step(self.scene.model, self.scene.data, nstep=self._substeps)
        warnings = self.scene.data.warning.number
        if warnings.any():
            self._on_physics_warning(warnings)
        self._update_game()
        reward = 1.0 if self._goal_holds else 0.0
        self.trial_returns[-1] += reward
        self._prev_action, self._prev_reward = a, reward
        self.t_in_trial += 1
        ep = self.task.episode
        if self.t_in_trial >= ep.trial_steps:
            if self.trial + 1 >= ep.trials:
                self._needs_reset = True
                return dm_env.termination(reward, self._observation())
            self.trial += 1
            self.trial_returns.append(0.0)
            self._start_trial()
            self._prev_action, self._prev_reward = NOOP, 0.0
        return dm_env.transition(reward, self._observation())

    def _on_physics_warning(self, counts: np.ndarray) -> None:
        """Counts (or raises on) the warnings of the last step and clears the counters."""
        kinds = [WARNING_NAMES[i] for i in np.flatnonzero(counts)]
        assert self.task is not None
        if self._warning_policy == "raise":
            raise PhysicsWarningError(
                f"MuJoCo warning {', '.join(kinds)} on task {self.task.task_id} at trial "
                f"{self.trial}, step {self.t_in_trial} (see WorldEnv: warnings never pass)")
        self.physics_warnings += int(counts.sum())
        for k in kinds:
            self.physics_warnings_by_kind[k] += 1
        counts[:] = 0
        if any(k.startswith("bad") for k in kinds):
            # MuJoCo has reset the data: make the scene's bookkeeping agree with it
            self._reset_world()

    def _reset_world(self) -> None:
        """The task's initial world: physics, objects, avatar controls, no rule firings."""
        assert self.task is not None
        self.scene.reset()
        self.controller.reset(self.task.world.dynamics.avatar_speed, self.task.episode.sticky_grab)
        self.last_firings = []

    def _start_trial(self) -> None:
        self._reset_world()
        self.t_in_trial = 0
        self._update_game(fire_rules=False)

    def _update_game(self, fire_rules: bool = True) -> None:
        """Snapshot the world once, fire rules, mirror their effects, evaluate the goal."""
        sc, st = self.scene, self.state
        st.pos[:] = sc.object_positions()
        st.present[:] = sc.present
        st.colour[:] = sc.colour
        st.held[:] = False
        if sc.held >= 0:
            st.held[sc.held] = True
        st.agent_pos[:] = sc.data.xpos[sc.avatar_body]
        st.agent_pos[2] += AGENT_CENTRE_HEIGHT
        st.visible[:] = sc.visible(st.pos) if self._needs_see else False
        rel = predicates.compute_relations(st)
        if fire_rules and len(self._engine.compiled):
            firings = self._engine.step(st, rel)
            if firings:
                self._apply_firings(firings)
                rel = predicates.compute_relations(st)
            self.last_firings = firings
        self._goal_holds = predicates.goal_holds(self._goal, st, rel)

    def _apply_firings(self, firings: list[RuleFiring]) -> None:
        sc, st = self.scene, self.state
        for f in firings:
            sc.remove(np.array(f.consumed))
            if f.product_slot is not None:
                s = f.product_slot
                sc.spawn(s, int(st.colour[s]), st.pos[s])
                if f.spawn_held:
                    mujoco.mj_kinematics(sc.model, sc.data)
                    sc.grab(s)
        mujoco.mj_forward(sc.model, sc.data)
        st.present[:] = sc.present
        st.held[:] = False
        if sc.held >= 0:
            st.held[sc.held] = True

    # ---- observations ----------------------------------------------------------------------
    def _observation(self) -> dict[str, np.ndarray]:
        assert self.task is not None
        ep = self.task.episode
        if self.camera is not None:
            self.camera.render(self.scene.data, self._rgb)
        return {
            "rgb": self._rgb.copy(),
            "goal": self._goal_tokens,
            "rules": self._rule_tokens,
            "proprio": self._proprio(),
            "trial": np.array([self.trial, ep.trials,
                               1.0 - self.t_in_trial / ep.trial_steps], np.float32),
            "prev_action": np.array(self._prev_action, np.int32),
            "prev_reward": np.array(self._prev_reward, np.float32),
        }

    def _proprio(self) -> np.ndarray:
        """Body-frame velocity (forward, left, up), yaw rate, height above floor, head pitch,
        holding flag, and speed scale: what a body would feel, no absolute position."""
        sc = self.scene
        d = sc.data
        q, v = d.qpos[sc.avatar_qpos], d.qvel[sc.avatar_qvel]
        c, s = np.cos(q[3]), np.sin(q[3])
        floor = float(sc.floor_height(q[0], q[1]))
        return np.array([c * v[0] + s * v[1], -s * v[0] + c * v[1], v[2], v[3], q[2] - floor,
                         q[4], float(sc.held >= 0), self.controller.speed], np.float32)

    def observation_spec(self) -> dict[str, specs.Array]:
        n = self.image_size
        v = tokens.VOCAB_SIZE - 1
        return {
            "rgb": specs.BoundedArray((n, n, 3), np.uint8, 0, 255, "rgb"),
            "goal": specs.BoundedArray((tokens.GOAL_LEN,), np.int32, 0, v, "goal"),
            "rules": specs.BoundedArray(tokens.RULES_SHAPE, np.int32, 0, v, "rules"),
            "proprio": specs.Array((PROPRIO_SIZE,), np.float32, "proprio"),
            "trial": specs.BoundedArray((3,), np.float32, (0.0, 1.0, 0.0),
                                        (12.0, 13.0, 1.0), "trial"),
            "prev_action": specs.BoundedArray((), np.int32, 0, NUM_ACTIONS - 1, "prev_action"),
            "prev_reward": specs.BoundedArray((), np.float32, 0.0, 1.0, "prev_reward"),
        }

    def action_spec(self) -> specs.DiscreteArray:
        return specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")

    def reward_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), np.float64, 0.0, 1.0, "reward")

    # ---- extras ----------------------------------------------------------------------------
    @property
    def goal_holds(self) -> bool:
        return self._goal_holds

    @staticmethod
    def action_names() -> tuple[str, ...]:
        return ACTIONS

    def render_overview(self) -> np.ndarray:
        if self.overview is None:
            raise RuntimeError("render_overview(): no overview camera (the env was built with "
                               "overview_size=0, or it is closed)")
        return self.overview.render(self.scene.data)

    def close(self) -> None:
        for cam in (self.camera, self.overview):
            if cam is not None:
                cam.close()
        self.camera = self.overview = None
