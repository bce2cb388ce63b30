"""The Gymnasium adapter: passes Gymnasium's and Stable-Baselines3's checkers, its spaces hold
every observation exactly, and the multi-trial episode is one Gymnasium episode ending in
terminated=True."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from dm_env import specs as dm_specs
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from worlds.avatar import NUM_ACTIONS
from worlds.gym_adapter import SCALAR_SHAPE, GymWorldEnv
from worlds.task import (
    AvatarSpec,
    EpisodeSpec,
    Game,
    Goal,
    Literal,
    ObjectSpec,
    ObjectType,
    Rule,
    Task,
    Terrain,
    World,
)

RED_CUBE, BLUE_SPHERE = ObjectType("cube", "red"), ObjectType("sphere", "blue")


def _task(trials: int = 2, trial_steps: int = 4) -> Task:
    return Task(
        World(Terrain.flat(3), (ObjectSpec(RED_CUBE, 2.5, 3.0), ObjectSpec(BLUE_SPHERE, 3.5, 3.5)),
              AvatarSpec(1.0, 1.0, 0.8)),
        Game(Goal(((Literal("near", "agent", RED_CUBE),),)),
             (Rule(Literal("near", RED_CUBE, BLUE_SPHERE), None, hidden=True),)),
        EpisodeSpec(trials=trials, trial_steps=trial_steps))


@pytest.fixture
def env():
    e = GymWorldEnv(_task(), image_size=16, render_mode="rgb_array")
    yield e
    e.close()


def test_check_env_passes_without_space_warnings(env):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_close_check=True)
    # proprio is an unbounded dm_env Array, mirrored as (-inf, inf): the checker's advisory about
    # infinite bounds is expected; any other warning (dtype, shape, bounds, obs not in space,
    # determinism) is a failure. The env is deliberately unregistered, so the checker also says
    # it cannot try other render modes through gymnasium.make.
    expected = ("minimum value is -infinity", "maximum value is infinity",
                "environment not having a spec")
    unexpected = [str(w.message) for w in caught
                  if not any(e in str(w.message) for e in expected)]
    assert not unexpected, unexpected


def test_stable_baselines3_check_env_passes(env):
    """SB3 2.x (numpy 2) raised on the 0-d Boxes prev_action and prev_reward; shaped (1,) they
    pass. Its remaining advisories are about choices of the caller: the 16x16 test image is
    below its default CNN's minimum, and `rules` is an (8, 8) token grid by design."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env, warn=True)
    messages = [str(w.message) for w in caught]
    expected = ("minimal resolution for an image", "observation rules has an unconventional")
    assert not [m for m in messages if not any(e in m for e in expected)], messages


def test_spaces_mirror_the_dm_env_specs_and_hold_observations(env):
    specs = env.env.observation_spec()
    assert set(env.observation_space.spaces) == set(specs)
    scalars = {key for key, spec in specs.items() if spec.shape == ()}
    assert scalars == {"prev_action", "prev_reward"}
    shapes = {key: SCALAR_SHAPE if key in scalars else spec.shape for key, spec in specs.items()}
    for key, spec in specs.items():
        box = env.observation_space[key]
        assert isinstance(box, spaces.Box)
        assert box.shape == shapes[key] and box.dtype == spec.dtype, key
        if isinstance(spec, dm_specs.BoundedArray):  # bounds kept, only reshaped
            np.testing.assert_array_equal(box.low, np.broadcast_to(spec.minimum, box.shape))
            np.testing.assert_array_equal(box.high, np.broadcast_to(spec.maximum, box.shape))
    assert env.observation_space["goal"].high.max() == env.observation_space["rules"].high.max()
    assert env.action_space == spaces.Discrete(NUM_ACTIONS)
    obs, info = env.reset(seed=3, options={"task": _task(trials=1, trial_steps=20)})
    assert info == {"trial": 0, "t_in_trial": 0, "goal_holds": info["goal_holds"]}
    seen = [obs]
    for a in range(NUM_ACTIONS):
        obs, *_ = env.step(a)
        seen.append(obs)
    for obs in seen:
        assert env.observation_space.contains(obs)
        for key, value in obs.items():
            assert value.dtype == specs[key].dtype and value.shape == shapes[key], key
    assert obs["prev_action"].tolist() == [NUM_ACTIONS - 1]  # exact round-trip of last action
    obs, reward, *_ = env.step(0)
    assert obs["prev_reward"].tolist() == [reward]  # the reward just earned, shape (1,)
    frame = env.render()
    np.testing.assert_array_equal(frame, obs["rgb"])


def test_episode_spans_all_trials_and_terminates(env):
    env.reset(seed=0)
    ep = env.env.task.episode
    n_steps, trials_seen = 0, []
    while True:
        _, reward, terminated, truncated, info = env.step(0)
        n_steps += 1
        trials_seen.append(info["trial"])
        assert 0.0 <= reward <= 1.0 and not truncated
        if terminated:
            break
        assert n_steps < 100
    assert n_steps == ep.trials * ep.trial_steps == 8
    assert trials_seen[0] == 0 and trials_seen[-1] == ep.trials - 1
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_reset_options_switch_task(env):
    other = _task(trials=1, trial_steps=2)
    env.reset(options={"task": other})
    assert env.env.task is other
    terminated = [env.step(0)[2] for _ in range(2)]
    assert terminated == [False, True]
    with pytest.raises(ValueError, match="options"):
        env.reset(options={"tasks": other})
