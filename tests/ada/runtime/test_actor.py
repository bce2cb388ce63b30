"""Actors, env batches and stored-state unrolls."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ada.bayes.bandit import BanditEnv, BanditFamily, KnownArm
from ada.bayes.bandit_vec import VectorBandit
from ada.runtime.actor import Actor
from ada.runtime.trajectory import Trajectory
from ada.runtime.weights import InlineWeightSource, cpu_state
from agents.agent import Agent, agent_config
from worlds.env_batch import SerialEnvBatch

FAMILY = BanditFamily.beta(2, horizon=5)


def make_agent(env, memory_length: int = 6) -> Agent:
    torch.manual_seed(0)
    return Agent(env.observation_spec(), env.action_spec(),
                 agent_config("tiny", memory_length=memory_length))


def test_vector_bandit_matches_bandit_env_step_by_step() -> None:
    """Same arm probabilities and the same uniform draws give the same observations."""
    family = BanditFamily((KnownArm(0.3), KnownArm(0.8)), horizon=4)
    vec = VectorBandit(family, 1, seed=3)
    env = BanditEnv(family, seed=3)
    assert vec.observation_spec() == env.observation_spec()
    obs_v, ts = vec.reset(), env.reset()
    actions = [1, 0, 1, 1, 0, 1]
    for a in actions:
        for k in ts.observation:
            np.testing.assert_array_equal(obs_v[k][0], ts.observation[k])
        out = vec.step(np.array([a]))
        ts = env.step(a)
        if ts.last():
            assert out.first[0] and out.discount[0] == 0.0
            ts = env.reset()
        obs_v = out.obs
    # equal rewards in distribution: arm 1 pays more often than arm 0 over many pulls
    big = VectorBandit(family, 4000, seed=0)
    big.reset()
    r0 = big.step(np.zeros(4000, int)).reward.mean()
    r1 = big.step(np.ones(4000, int)).reward.mean()
    assert abs(r0 - 0.3) < 0.03 and abs(r1 - 0.8) < 0.03


def test_serial_env_batch_auto_resets_and_reports_episodes() -> None:
    envs = SerialEnvBatch([BanditEnv(FAMILY, seed=i) for i in range(3)])
    obs = envs.reset()
    assert obs["trial"].shape == (3, 3)
    for t in range(FAMILY.horizon):
        out = envs.step(np.zeros(3, int))
        last = t == FAMILY.horizon - 1
        assert out.first.all() == last and (out.discount == 0).all() == last
    assert len(out.episodes) == 3 and all(e.length == FAMILY.horizon for e in out.episodes)
    np.testing.assert_allclose(out.obs["trial"][:, 2], 1.0)  # first obs of the new episode


@pytest.mark.parametrize("make_env", [
    lambda: VectorBandit(FAMILY, 4, seed=1),
    lambda: SerialEnvBatch([BanditEnv(FAMILY, seed=i) for i in range(4)]),
])
def test_learner_recomputes_the_actor_logits_from_stored_state(make_env) -> None:
    """Unrolls of 3 steps cut 5-step episodes at varying places; replaying each unroll from its
    stored memory must give the logits the actor acted with (the learner sees the actor's
    context), and dropping the stored memory must not."""
    env = make_env()
    agent = make_agent(env)
    actor = Actor(env, copy.deepcopy(agent), InlineWeightSource(0, cpu_state(agent)), 3, seed=0)
    worst, worst_without = 0.0, 0.0
    for _ in range(6):
        traj = actor.unroll()
        data = traj.tensors()
        with torch.no_grad():
            logits, _, _ = agent(data["obs"], traj.memory(), data["first"])
            blank, _, _ = agent(data["obs"], agent.initial_memory(traj.batch_size),
                                data["first"])
        worst = max(worst, float((logits[:3] - data["behaviour_logits"]).abs().max()))
        worst_without = max(worst_without,
                            float((blank[:3] - data["behaviour_logits"]).abs().max()))
    assert worst < 1e-5
    assert worst_without > 1e-3


def test_trajectory_layout_and_concat() -> None:
    env = VectorBandit(FAMILY, 2, seed=0)
    agent = make_agent(env)
    actor = Actor(env, copy.deepcopy(agent), InlineWeightSource(7, cpu_state(agent)), 5, seed=0)
    a, b = actor.unroll(), actor.unroll()
    assert a.obs["prev_action"].shape == (6, 2, 2) and a.actions.shape == (5, 2)
    assert a.first[0].all() and a.first[5].all()  # 5-step episodes align with 5-step unrolls
    assert (a.discounts[4] == 0).all() and a.policy_version == 7
    assert len(a.episodes) == 2
    both = Trajectory.concat([a, b])
    assert both.batch_size == 4 and both.memory_hidden.shape[2] == 4
    with pytest.raises(ValueError, match="lengths"):
        Trajectory.concat([a, Actor(env, agent, InlineWeightSource(0, cpu_state(agent)), 2,
                                    seed=0).unroll()])


def test_actor_state_round_trip_repeats_the_same_unroll() -> None:
    env = VectorBandit(FAMILY, 3, seed=2)
    agent = make_agent(env)
    weights = InlineWeightSource(0, cpu_state(agent))
    actor = Actor(env, copy.deepcopy(agent), weights, 4, seed=5)
    actor.unroll()
    state = copy.deepcopy(actor.state_dict())
    first = actor.unroll()
    actor.load_state_dict(state)
    again = actor.unroll()
    np.testing.assert_array_equal(first.actions, again.actions)
    np.testing.assert_array_equal(first.rewards, again.rewards)
    np.testing.assert_array_equal(first.memory_hidden, again.memory_hidden)


def lever_env(num_envs: int, seed: int = 0):
    from ada.bayes.levers import LeverFamily, LeverTaskGenerator
    from ada.bayes.levers_vec import VectorLevers

    gen = LeverTaskGenerator(LeverFamily(n_levers=2, horizon=4))
    return VectorLevers(gen.sample, num_envs, 2, 4, seed=seed)


def test_episodes_carry_the_values_and_rewards_the_actor_saw() -> None:
    """Episodes span unroll boundaries (unroll 3, horizon 4): the attached per-step values
    must be the value head's outputs on the episode's own steps, in order."""
    env = lever_env(2)
    agent = make_agent(env)
    actor = Actor(env, copy.deepcopy(agent), InlineWeightSource(0, cpu_state(agent)), 3, seed=0)
    trajs = [actor.unroll() for _ in range(4)]  # 12 steps: 3 episodes per env
    episodes = [e for t in trajs for e in t.episodes]
    assert len(episodes) == 6
    obs = {k: np.concatenate([t.obs[k][:-1] for t in trajs]) for k in trajs[0].obs}
    first = np.concatenate([t.first[:-1] for t in trajs])
    rewards = np.concatenate([t.rewards for t in trajs])
    with torch.no_grad():
        _, values, _ = agent({k: torch.as_tensor(v) for k, v in obs.items()},
                             agent.initial_memory(2), torch.as_tensor(first))
    for i in range(2):
        mine = [e for e in episodes if e.env == i]
        for j, e in enumerate(mine):
            steps = slice(4 * j, 4 * j + 4)
            np.testing.assert_allclose(e.values, values[steps, i].numpy(), atol=1e-5)
            np.testing.assert_array_equal(e.rewards, rewards[steps, i])
            assert e.episode_return == pytest.approx(float(rewards[steps, i].sum()))


def test_learn_mask_follows_grad_allowed_per_episode() -> None:
    env = lever_env(3, seed=1)
    agent = make_agent(env)
    calls: list[str] = []

    def allowed(task_id: str) -> bool:
        calls.append(task_id)
        return int(task_id, 16) % 2 == 0

    actor = Actor(env, copy.deepcopy(agent), InlineWeightSource(0, cpu_state(agent)), 4,
                  seed=0, grad_allowed=allowed)
    traj = actor.unroll()  # one whole episode per env (horizon 4 = unroll 4)
    ids = [e.task_id for e in sorted(traj.episodes, key=lambda e: e.env)]
    expected = np.array([float(int(t, 16) % 2 == 0) for t in ids], np.float32)
    assert traj.learn_mask is not None
    np.testing.assert_array_equal(traj.learn_mask, np.tile(expected, (4, 1)))
    assert calls == ids  # asked once per episode, at its first step
    assert Actor(env, agent, InlineWeightSource(0, cpu_state(agent)), 2,
                 seed=0).unroll().learn_mask is None
