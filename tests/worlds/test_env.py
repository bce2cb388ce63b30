"""The 3D env in real MuJoCo physics: predicates in constructed scenes, rules, trial resets,
task switching without recompiling, determinism and exact specs."""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np
import pytest

from worlds import tokens
from worlds.avatar import ACTIONS
from worlds.env import WorldEnv
from worlds.scene import Scene
from worlds.task import (
    AGENT,
    AvatarSpec,
    Dynamics,
    EpisodeSpec,
    Game,
    Goal,
    Literal,
    ObjectSpec,
    ObjectType,
    Ramp,
    Rule,
    Task,
    Terrain,
    World,
)

RED_CUBE = ObjectType("cube", "red")
BLUE_CUBE = ObjectType("cube", "blue")
BLUE_SPHERE = ObjectType("sphere", "blue")
GREEN_CUBE = ObjectType("cube", "green")
A = {name: i for i, name in enumerate(ACTIONS)}


def make_task(objects, goal_literals, rules=(), *, avatar=(0.75, 2.25, 0.0), size=4,
              walls=(), trials=1, trial_steps=40, sticky_grab=False) -> Task:
    return Task(
        World(Terrain(levels=Terrain.flat(size).levels, walls=tuple(walls)),
              tuple(ObjectSpec(t, x, y) for t, x, y in objects), AvatarSpec(*avatar)),
        Game(Goal((tuple(goal_literals),)), tuple(rules)),
        EpisodeSpec(trials=trials, trial_steps=trial_steps, sticky_grab=sticky_grab))


@pytest.fixture
def env_factory():
    envs: list[WorldEnv] = []

    def make(task: Task, **kw) -> WorldEnv:
        env = WorldEnv(task, **kw)
        envs.append(env)
        return env

    yield make
    for e in envs:
        e.close()


def run(env: WorldEnv, actions) -> list[float]:
    return [env.step(a).reward for a in actions]


def test_hold_after_grab(env_factory):
    # red cube 1.5 m straight ahead at eye level-ish; looking down a bit puts it on the ray
    task = make_task([(RED_CUBE, 2.25, 2.25)], [Literal("hold", AGENT, RED_CUBE)])
    env = env_factory(task)
    env.reset()
    assert run(env, [A["noop"]] * 3) == [0.0] * 3
    rewards = run(env, [A["look_down"]] * 2 + [A["grab"]] + [A["noop"]] * 5)
    assert env.scene.held == 0
    assert rewards[-1] == 1.0
    # the held object is pulled to the hand, in front of the eye
    hand = env.scene.data.xpos[env.scene.hand_body]
    assert np.linalg.norm(env.scene.object_positions()[0] - hand) < 0.3
    rewards = run(env, [A["grab"]] + [A["noop"]] * 3)  # grab again = release
    assert env.scene.held == -1 and rewards[-1] == 0.0


def test_heavy_held_object_follows_the_view(env_factory):
    # the heaviest, strongest-gravity object of the default family: holding it must not pull
    # the head (and the camera) down, and looking up must lift it off the floor
    task = make_task([(RED_CUBE, 2.25, 2.25)], [Literal("hold", AGENT, RED_CUBE)])
    task = dataclasses.replace(task, world=dataclasses.replace(
        task.world, dynamics=Dynamics(gravity_scale=1.25, object_mass=2.0)))
    env = env_factory(task)
    env.reset()
    run(env, [A["look_down"]] * 2 + [A["grab"]] + [A["noop"]] * 5)
    assert env.scene.held == 0
    sc = env.scene
    pitch = sc.data.qpos[sc.avatar_qpos[4]]
    assert abs(pitch - env.controller.pitch_target) < 0.1
    z0 = sc.object_positions()[0, 2]
    run(env, [A["look_up"]] * 4 + [A["noop"]] * 5)
    pitch = sc.data.qpos[sc.avatar_qpos[4]]
    assert abs(pitch - env.controller.pitch_target) < 0.1
    assert sc.object_positions()[0, 2] > z0 + 0.2
    run(env, [A["grab"]] + [A["noop"]] * 10)  # let go: it falls back to the floor
    assert sc.object_positions()[0, 2] < 0.3


def _tilt(env, slot: int) -> float:
    """Angle (rad) between an object's own up axis and the world's."""
    sc = env.scene
    return float(np.arccos(np.clip(sc.data.xmat[sc.slot_body[slot]][8], -1.0, 1.0)))


def test_held_object_stays_upright_as_the_head_pitches(env_factory):
    # the hand is part of the head: without levelling, looking from the floor (grab) to the
    # sky (carry) would tilt the cube by the whole pitch swing, and a cube put down tilted
    # lands on an edge and tumbles off whatever it was put on
    task = make_task([(RED_CUBE, 2.25, 2.25)], [Literal("hold", AGENT, RED_CUBE)])
    env = env_factory(task)
    env.reset()
    run(env, [A["look_down"]] * 2 + [A["grab"]] + [A["noop"]] * 5)
    assert env.scene.held == 0
    sc = env.scene
    p0 = float(sc.data.qpos[sc.avatar_qpos[4]])
    run(env, [A["look_up"]] * 8 + [A["noop"]] * 5)
    swing = p0 - float(sc.data.qpos[sc.avatar_qpos[4]])
    assert swing > 0.9  # the head turned up by more than 50 degrees
    assert _tilt(env, 0) < 0.1  # the cube did not
    run(env, [A["grab"]] + [A["noop"]] * 10)
    assert sc.held == -1 and _tilt(env, 0) < 0.05  # let go, it lands flat


def test_a_trial_starts_with_no_previous_action_or_reward(env_factory):
    # the goal holds from the start (the cube is beside the avatar), so the last step of
    # trial 1 pays 1 after a turn; trial 2's first observation must not carry either
    task = make_task([(RED_CUBE, 1.5, 2.25)], [Literal("near", AGENT, RED_CUBE)], trials=2,
                     trial_steps=3)
    env = env_factory(task)
    env.reset()
    ts = None
    for a in (A["noop"], A["noop"], A["turn_left"]):
        ts = env.step(a)
    assert ts is not None and ts.reward == 1.0 and env.trial == 1 and env.t_in_trial == 0
    assert int(ts.observation["prev_action"]) == A["noop"]
    assert float(ts.observation["prev_reward"]) == 0.0
    ts = env.step(A["turn_left"])  # within a trial they are the last step's
    assert int(ts.observation["prev_action"]) == A["turn_left"]
    assert float(ts.observation["prev_reward"]) == ts.reward == 1.0


def test_sticky_grab_holds_until_the_trial_ends(env_factory):
    task = make_task([(RED_CUBE, 2.25, 2.25)], [Literal("hold", AGENT, RED_CUBE)], trials=2,
                     trial_steps=20, sticky_grab=True)
    env = env_factory(task)
    env.reset()
    run(env, [A["look_down"]] * 2 + [A["grab"]] + [A["noop"]] * 3)
    assert env.scene.held == 0
    rewards = run(env, [A["grab"]] + [A["noop"]] * 3)  # a second grab does not let go
    assert env.scene.held == 0 and rewards[-1] == 1.0
    run(env, [A["noop"]] * (20 - 10))  # the next trial starts with empty hands
    assert env.t_in_trial == 0 and env.scene.held == -1


def test_grab_needs_object_on_view_ray(env_factory):
    task = make_task([(RED_CUBE, 2.25, 3.75)], [Literal("hold", AGENT, RED_CUBE)])
    env = env_factory(task)  # the cube is 45 degrees to the left: not on the view ray
    env.reset()
    run(env, [A["look_down"]] * 2 + [A["grab"]] + [A["noop"]] * 2)
    assert env.scene.held == -1


def test_near_by_distance(env_factory):
    task = make_task([(RED_CUBE, 4.5, 2.25)], [Literal("near", AGENT, RED_CUBE)],
                     trial_steps=60)
    env = env_factory(task)
    env.reset()
    assert run(env, [A["noop"]] * 2) == [0.0, 0.0]  # 3.75 m away
    rewards = run(env, [A["forward"]] * 25)
    first = rewards.index(1.0)
    d = np.linalg.norm(env.state.agent_pos[:2] - np.array([4.5, 2.25]))
    assert first > 0 and d <= 1.0 + 0.05
    # the negated literal flips
    neg = make_task([(RED_CUBE, 4.5, 2.25)], [Literal("near", AGENT, RED_CUBE, negated=True)])
    env2 = env_factory(neg)
    env2.reset()
    assert run(env2, [A["noop"]]) == [1.0]


def test_see_blocked_by_wall(env_factory):
    goal = [Literal("see", AGENT, RED_CUBE)]
    open_task = make_task([(RED_CUBE, 5.25, 2.25)], goal)
    walled = make_task([(RED_CUBE, 5.25, 2.25)], goal, walls=[(1, 2)])
    e_open, e_wall = env_factory(open_task), env_factory(walled)
    e_open.reset()
    e_wall.reset()
    assert run(e_open, [A["noop"]] * 2) == [1.0, 1.0]
    assert run(e_wall, [A["noop"]] * 2) == [0.0, 0.0]
    # turning away loses sight in the open room too
    assert run(e_open, [A["turn_left"]] * 12)[-1] == 0.0


def test_on_by_stacking(env_factory):
    task = make_task([(RED_CUBE, 3.75, 3.75), (BLUE_CUBE, 3.75, 0.75)],
                     [Literal("on", RED_CUBE, BLUE_CUBE)])
    env = env_factory(task)
    env.reset()
    assert run(env, [A["noop"]]) == [0.0]
    sc = env.scene
    red, blue = 0, 1  # cube slots in task order
    blue_pos = sc.object_positions()[blue].copy()
    sc.data.qpos[sc._slot_qpos_idx[red, :3]] = blue_pos + (0.0, 0.0, 0.52)
    mujoco.mj_forward(sc.model, sc.data)
    rewards = run(env, [A["noop"]] * 8)  # settles onto the blue cube and stays there
    assert rewards[-3:] == [1.0, 1.0, 1.0]
    sc.data.qpos[sc._slot_qpos_idx[red, :3]] = blue_pos + (0.6, 0.0, 0.0)  # beside it
    mujoco.mj_forward(sc.model, sc.data)
    assert run(env, [A["noop"]] * 3)[-1] == 0.0


def test_rule_fires_and_transforms_objects(env_factory):
    rule = Rule(Literal("hold", AGENT, BLUE_SPHERE), GREEN_CUBE, hidden=True)
    task = make_task([(BLUE_SPHERE, 2.25, 2.25)], [Literal("hold", AGENT, GREEN_CUBE)],
                     [rule], trial_steps=30)
    env = env_factory(task)
    ts = env.reset()
    assert np.all(ts.observation["rules"][0] == tokens.MASK)  # hidden rule is masked
    assert np.all(ts.observation["rules"][1:] == tokens.PAD)
    rewards = run(env, [A["look_down"]] * 2 + [A["grab"]] + [A["noop"]] * 5)
    sc = env.scene
    sphere_slots = np.arange(6, 12)
    assert not sc.present[sphere_slots].any()  # the sphere was consumed
    green = np.flatnonzero(sc.present)
    assert len(green) == 1 and sc.colour[green[0]] == 1 and green[0] < 6  # a green cube
    assert sc.held == green[0]  # products of hold rules appear in the hand
    assert rewards[-1] == 1.0
    assert sc.model.geom_rgba[sc.slot_geom[green[0]], 3] == 1.0


def test_visible_rule_is_encoded(env_factory):
    rule = Rule(Literal("near", RED_CUBE, BLUE_SPHERE), None, hidden=False)
    task = make_task([(RED_CUBE, 2.25, 2.25), (BLUE_SPHERE, 3.75, 3.75)],
                     [Literal("hold", AGENT, RED_CUBE)], [rule])
    env = env_factory(task)
    ts = env.reset()
    expected = tokens.encode_literal(rule.condition) + [tokens.NOTHING, tokens.NOTHING]
    assert ts.observation["rules"][0].tolist() == expected


def test_trial_reset_restores_initial_state_exactly(env_factory):
    rule = Rule(Literal("hold", AGENT, BLUE_SPHERE), GREEN_CUBE)
    task = make_task([(BLUE_SPHERE, 2.25, 2.25), (RED_CUBE, 3.75, 3.75)],
                     [Literal("near", AGENT, RED_CUBE)], [rule], trials=3, trial_steps=25)
    env = env_factory(task)
    ts0 = env.reset()
    sc = env.scene
    snap = (sc.data.qpos.copy(), sc.data.qvel.copy(), sc.model.geom_rgba.copy(),
            sc.present.copy(), sc.model.geom_contype.copy(), sc.data.eq_active.copy())
    actions = [A["look_down"]] * 2 + [A["grab"]] + [A["forward_left"]] * 10 + [A["jump"]] + \
        [A["turn_right"]] * 10
    for a in actions:
        ts = env.step(a)
        assert ts.mid()
    assert not np.array_equal(sc.present, snap[3])  # the rule really changed the world
    ts = env.step(A["forward"])  # 25th step ends trial 1
    assert ts.mid() and env.trial == 1 and env.t_in_trial == 0
    assert ts.observation["trial"].tolist() == [1.0, 3.0, 1.0]
    assert np.array_equal(sc.data.qpos, snap[0]) and np.array_equal(sc.data.qvel, snap[1])
    assert np.array_equal(sc.model.geom_rgba, snap[2])
    assert np.array_equal(sc.present, snap[3]) and sc.held == -1
    assert np.array_equal(sc.model.geom_contype, snap[4])
    assert np.array_equal(sc.data.eq_active, snap[5])
    assert np.array_equal(ts.observation["rgb"], ts0.observation["rgb"])
    # the episode ends only after the last trial, with a termination
    for _ in range(2 * 25 - 1):
        ts = env.step(A["noop"])
        assert not ts.last()
    ts = env.step(A["noop"])
    assert ts.last() and ts.discount == 0.0 and len(env.trial_returns) == 3


def test_set_task_does_not_recompile(env_factory):
    t1 = make_task([(RED_CUBE, 2.25, 2.25)], [Literal("hold", AGENT, RED_CUBE)])
    t2 = make_task([(BLUE_SPHERE, 5.25, 8.25), (GREEN_CUBE, 1.0, 1.0)],
                   [Literal("near", AGENT, BLUE_SPHERE)], size=7, walls=[(3, 3)])
    env = env_factory(t1)
    model = env.scene.model
    compiles = Scene.compile_count
    for t in (t2, t1, t2):
        env.set_task(t)
        ts = env.reset()
        env.step(A["forward"])
    assert Scene.compile_count == compiles and env.scene.model is model
    assert np.allclose(env.scene.object_positions()[0, :2], (1.0, 1.0), atol=0.05)
    # terrain changed in the model arrays: t2 has a 7x7 arena with a wall tile
    assert env.scene.floor_height(3 * 1.5 + 0.75, 3 * 1.5 + 0.75) > 2.0
    assert ts.observation["rgb"].std() > 0  # renders after switching


def test_determinism(env_factory):
    rule = Rule(Literal("near", AGENT, BLUE_SPHERE), GREEN_CUBE)
    task = make_task([(BLUE_SPHERE, 3.75, 2.25), (RED_CUBE, 3.75, 3.75)],
                     [Literal("hold", AGENT, GREEN_CUBE)], [rule], trials=2, trial_steps=30)
    actions = np.random.default_rng(0).integers(0, len(ACTIONS), 60)
    results = []
    for _ in range(2):
        env = env_factory(task)
        ts = env.reset()
        obs, rew = [ts.observation["rgb"]], []
        for a in actions:
            ts = env.step(a)
            obs.append(ts.observation["rgb"])
            rew.append(ts.reward)
        results.append((np.stack(obs), rew, env.scene.data.qpos.copy()))
    assert np.array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
    assert np.array_equal(results[0][2], results[1][2])


def test_observations_match_specs(env_factory):
    task = make_task([(RED_CUBE, 2.25, 2.25)], [Literal("hold", AGENT, RED_CUBE)],
                     trials=2, trial_steps=5)
    env = env_factory(task, image_size=48)
    spec = env.observation_spec()
    ts = env.reset()
    for _ in range(12):
        for k, s in spec.items():
            s.validate(ts.observation[k])  # dtype, shape and bounds exactly
        assert set(ts.observation) == set(spec)
        ts = env.step(env.action_spec().generate_value() + 1)
    assert ts.observation["rgb"].shape == (48, 48, 3)
    with pytest.raises(ValueError, match="action"):
        env.step(len(ACTIONS))


def test_ramps_climb_levels_and_cliffs_do_not(env_factory):
    # column 2 and beyond are one level up; the ramp tile (row 2, col 1) leads east onto it
    levels = tuple(tuple(1 if c >= 2 else 0 for c in range(4)) for _ in range(4))
    terrain = Terrain(levels=levels, ramps=(Ramp(2, 1, "east"),))

    def task(y: float) -> Task:
        return Task(World(terrain, (ObjectSpec(RED_CUBE, 0.75, 0.75),), AvatarSpec(0.75, y)),
                    Game(Goal(((Literal("hold", AGENT, RED_CUBE),),))),
                    EpisodeSpec(trials=1, trial_steps=40))

    up_ramp, into_cliff = env_factory(task(3.75)), env_factory(task(0.75))
    for env in (up_ramp, into_cliff):
        env.reset()
        run(env, [A["forward"]] * 25)
    z = {name: e.scene.data.qpos[e.scene.avatar_qpos[2]] for name, e in
         (("ramp", up_ramp), ("cliff", into_cliff))}
    assert z["ramp"] > 0.55  # on the plateau (level height 0.6)
    assert z["cliff"] < 0.1  # still on the ground, pressed against the cliff
    assert into_cliff.scene.data.qpos[into_cliff.scene.avatar_qpos[0]] < 3.0  # did not pass
