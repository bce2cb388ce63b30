"""What the agent sees is what is there: near walls, its held object, not its own body, and a
`see` predicate that agrees with a segmentation render of its camera."""

from __future__ import annotations

import numpy as np
import pytest

from worlds.avatar import ACTIONS
from worlds.env import WorldEnv
from worlds.family import load_family
from worlds.fidelity import SegmentationCamera, see_agreement
from worlds.generator import TaskGenerator
from worlds.scene import AVATAR_GROUP, NEAR_CLIP
from worlds.task import (
    AGENT,
    AvatarSpec,
    EpisodeSpec,
    Game,
    Goal,
    Literal,
    ObjectSpec,
    ObjectType,
    Task,
    Terrain,
    World,
)

A = {name: i for i, name in enumerate(ACTIONS)}
RED_CUBE = ObjectType("cube", "red")


def _task(objects, avatar, walls=()) -> Task:
    return Task(World(Terrain(levels=Terrain.flat(4).levels, walls=tuple(walls)),
                      tuple(ObjectSpec(RED_CUBE, x, y) for x, y in objects), AvatarSpec(*avatar)),
                Game(Goal(((Literal("see", AGENT, RED_CUBE),),))),
                EpisodeSpec(trials=1, trial_steps=60))


@pytest.fixture
def env_and_seg():
    made = []

    def make(task: Task):
        env = WorldEnv(task, image_size=64)
        seg = SegmentationCamera(env, 64)
        made.append((env, seg))
        return env, seg

    yield make
    for env, seg in made:
        seg.close()
        env.close()


def test_clip_plane_is_in_metres():
    env = WorldEnv(_task([(5.25, 2.25)], (0.75, 2.25, 0.0)), render=False)
    try:
        m = env.scene.model
        assert m.vis.map.znear * m.stat.extent == pytest.approx(NEAR_CLIP)
        assert NEAR_CLIP <= 0.05
    finally:
        env.close()


def test_facing_a_wall_shows_the_wall_not_what_is_behind_it(env_and_seg):
    # a wall tile at x in [3, 4.5], a red cube behind it; walk into the wall
    env, seg = env_and_seg(_task([(5.25, 2.25)], (1.5, 2.25, 0.0), walls=[(1, 2)]))
    env.reset()
    for _ in range(12):
        ts = env.step(A["forward"])
    eye = env.scene.camera_pose()[0]
    assert eye[0] > 2.6  # pressed against the wall's face (it starts at x = 2.81)
    ids = seg.segmentation()
    terrain = env.scene.terrain_geom
    assert (ids == terrain).mean() == 1.0  # every pixel is the wall: no cube, no sky behind it
    rgb = ts.observation["rgb"]
    assert rgb.reshape(-1, 3).sum(axis=1).min() > 0  # no black (the agent camera's empty sky)
    assert not env.goal_holds  # the cube is not seen through the wall


def test_held_object_is_visible_in_front(env_and_seg):
    env, seg = env_and_seg(_task([(2.25, 2.25)], (1.15, 2.25, 0.0)))
    env.reset()
    for a in ("look_down", "look_down", "grab", "noop", "look_up", "look_up"):
        ts = env.step(A[a])
    sc = env.scene
    assert sc.held >= 0
    held_pixels = seg.segmentation() == sc.slot_geom[sc.held]
    assert held_pixels.mean() > 0.05
    rgb = ts.observation["rgb"].astype(int)
    red = rgb[held_pixels]
    assert np.mean((red[:, 0] > red[:, 1] + 40) & (red[:, 0] > red[:, 2] + 40)) > 0.9
    assert env.goal_holds  # see(agent, red cube) holds for the cube in hand


def test_agent_camera_does_not_draw_the_avatar():
    env = WorldEnv(_task([(5.25, 2.25)], (1.5, 2.25, 0.0)), image_size=64, overview_size=32)
    try:
        assert env.camera.option.geomgroup[AVATAR_GROUP] == 0
        assert env.overview.option.geomgroup[AVATAR_GROUP] == 1  # videos still show it
        env.reset()
        for _ in range(5):
            ts = env.step(A["look_down"])  # the steepest view, where the body would be
        frame = ts.observation["rgb"].copy()
        sc = env.scene
        body = np.flatnonzero(sc.model.geom_group == AVATAR_GROUP)
        assert body.size >= 2
        sc.model.geom_rgba[body, 3] = 0.0  # the same frame without the body must be identical
        again = env.camera.render(sc.data)
        assert np.array_equal(frame, again)
    finally:
        env.close()


def test_see_agrees_with_the_agent_camera():
    """Over random play on `default` tasks, `see` matches "at least one pixel of the object is
    drawn" at the agent's 64x64 on >= 98% of object-states. The rest are objects of which only a
    sliver shows (a corner past a wall edge) that none of the seven probe rays reaches."""
    tasks = TaskGenerator(load_family("default")).generate(seed=5, n=12)
    res = see_agreement(tasks, steps=100, every=5, seed=0)
    assert res.object_states > 800
    assert res.rate >= 0.98, res
    assert res.seen_not_shown <= 0.002 * res.object_states


@pytest.mark.parametrize("family", ["lookalike", "tiny", "default"])
def test_terrain_view_draws_what_the_full_heightfield_draws(family: str) -> None:
    """A small arena's camera draws a visual-only corner of the heightfield (cheaper on a
    software rasteriser): the frames equal the full field's up to 1/255 of rounding, from
    random play, and the view neither collides nor stops visibility rays."""
    from worlds import heightfield as hf
    from worlds.scene import EYE_RISE, RAY_GROUPS, VIEW_GROUP0
    from worlds.task import LEVEL_HEIGHT

    rng = np.random.default_rng(7)
    gen = TaskGenerator(load_family(family))
    env = WorldEnv(gen.sample(rng), image_size=32, seed=3)
    seen_views = set()
    try:
        for _ in range(3):
            env.set_task(gen.sample(rng))
            env.reset()
            sc = env.scene
            size = env.task.world.terrain.size
            assert sc.view == hf.view_index(env.task.world.terrain, EYE_RISE)
            top = max(max(row) for row in env.task.world.terrain.levels)
            if size <= hf.VIEW_ARENA_TILES[-1] and top * LEVEL_HEIGHT + EYE_RISE < hf.WALL_HEIGHT:
                assert sc.view is not None
            seen_views.add(sc.view)
            if sc.view is not None:
                nv = hf.view_samples(hf.VIEW_ARENA_TILES[sc.view])
                hid = sc.view_hfields[sc.view]
                adr = sc.model.hfield_adr[hid]
                view = sc.model.hfield_data[adr:adr + nv * nv].reshape(nv, nv)
                full_field = sc.model.hfield_data[:hf.N_SAMPLES ** 2].reshape(hf.N_SAMPLES, -1)
                np.testing.assert_array_equal(view, full_field[:nv, :nv])
            for _ in range(40):
                ts = env.step(int(rng.integers(0, len(ACTIONS))))
                env._show_terrain_view(env.camera, None)
                full = env.camera.render(sc.data).astype(int)
                env._show_terrain_view(env.camera, sc.view)
                assert np.abs(ts.observation["rgb"].astype(int) - full).max() <= 1
        views = [sc.model.geom(f"terrain_view{k}") for k in range(len(hf.VIEW_ARENA_TILES))]
        assert all(g.contype[0] == 0 and g.conaffinity[0] == 0 for g in views)
        assert all(RAY_GROUPS[VIEW_GROUP0 + k] == 0 for k in range(len(views)))
        if family == "lookalike":
            assert seen_views == {0}
    finally:
        env.close()


def test_terrain_view_only_where_nothing_beyond_the_wall_ring_can_be_seen() -> None:
    """The smallest view that holds the arena, and the full field where the arena is too large
    or an eye on its highest level (jumping from an object) could rise to the wall tops."""
    from worlds import heightfield as hf
    from worlds.scene import EYE_RISE

    def with_level(size: int, level: int) -> Terrain:
        rows = [[0] * size for _ in range(size)]
        rows[0][0] = level
        return Terrain(levels=tuple(tuple(r) for r in rows))

    assert [hf.view_index(Terrain.flat(n), EYE_RISE) for n in (2, 3, 6, 7, 10)] == [
        0, 1, 1, None, None]
    assert hf.view_index(with_level(2, 1), EYE_RISE) == 0
    assert hf.view_index(with_level(2, 2), EYE_RISE) is None
    assert hf.view_samples(hf.VIEW_ARENA_TILES[0]) < hf.view_samples(hf.VIEW_ARENA_TILES[1]) \
        < hf.N_SAMPLES
