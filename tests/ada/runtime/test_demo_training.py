"""Training with demonstrations: a fraction of episodes starts with the expert's trial 1, whose
steps train the value and the memory but never the policy."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ada.config import TrainConfig
from ada.learning.learner import Learner, VTraceConfig
from ada.policies import ExpertPolicy
from ada.runtime.actor import Actor
from ada.runtime.weights import InlineWeightSource, cpu_state
from ada.validation import ConfigError
from agents.agent import Agent, agent_config
from worlds.env import WorldEnv
from worlds.env_batch import SerialEnvBatch

torch.set_num_threads(1)
STEPS = 6  # per trial; 2 trials an episode


@pytest.fixture
def make_actor(make_hold_task):
    actors: list[Actor] = []

    def make(demo_prob: float, envs: int = 4, seed: int = 1) -> Actor:
        task = make_hold_task(trials=2, trial_steps=STEPS)
        actors.append(build_actor(task, demo_prob, envs, seed))
        return actors[-1]

    yield make
    for actor in actors:
        actor.env.close()


def build_actor(task, demo_prob: float, envs: int, seed: int) -> Actor:
    batch = SerialEnvBatch([WorldEnv(task, image_size=16) for _ in range(envs)])
    torch.manual_seed(0)
    agent = Agent(batch.observation_spec(), batch.action_spec(), agent_config("tiny"))
    return Actor(batch, agent, InlineWeightSource(0, cpu_state(agent)), 2 * STEPS, seed=seed,
                 demo_prob=demo_prob, demonstrator=ExpertPolicy() if demo_prob else None)


def test_demo_episodes_are_the_experts_trial_and_masked_for_the_policy(make_actor) -> None:
    actor = make_actor(1.0)
    traj = actor.unroll()  # one whole episode per env: trial 1 shown, trial 2 the agent's
    assert traj.policy_mask is not None
    np.testing.assert_array_equal(traj.policy_mask[:STEPS], 0.0)
    np.testing.assert_array_equal(traj.policy_mask[STEPS:], 1.0)
    # the demonstrated action carries all the behaviour probability
    logp = torch.log_softmax(torch.as_tensor(traj.behaviour_logits[:STEPS]), -1)
    taken = logp.gather(-1, torch.as_tensor(traj.actions[:STEPS])[..., None])
    np.testing.assert_allclose(taken.numpy(), 0.0, atol=1e-6)
    assert len(set(traj.actions[:STEPS, 0].tolist())) > 1  # the expert walked and grabbed
    # the policy term ignores the demonstrated steps, the value term does not
    learner = Learner(copy.deepcopy(actor.agent), VTraceConfig(popart=False), 10)
    _, metrics, _ = learner.loss(traj)
    assert metrics["demo/fraction"] == pytest.approx(0.5)
    agent_only = copy.copy(traj)
    agent_only.policy_mask = None
    _, full, _ = learner.loss(agent_only)
    assert full["loss/policy"] != pytest.approx(metrics["loss/policy"])
    assert full["loss/value"] == pytest.approx(metrics["loss/value"])  # value uses both


def test_demo_prob_draws_per_episode_and_zero_changes_nothing(make_actor) -> None:
    mixed = make_actor(0.5, envs=6)
    plain, zero = make_actor(0.0, envs=6), make_actor(0.0, envs=6)
    traj = mixed.unroll()
    assert traj.policy_mask is not None
    shown = traj.policy_mask[0] == 0.0
    assert 0 < shown.sum() < 6  # some episodes prompted, some not (seeded)
    np.testing.assert_array_equal(traj.policy_mask[STEPS:], 1.0)
    a, b = plain.unroll(), zero.unroll()
    assert a.policy_mask is None
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.behaviour_logits, b.behaviour_logits)


def test_demo_draws_resume_where_they_stopped(make_actor) -> None:
    # world envs restart their episodes on a resume (they do not save themselves); the draw of
    # which episodes are prompted continues the same stream
    actor, twin = make_actor(0.5, envs=3), make_actor(0.5, envs=3)
    actor.unroll()
    state = copy.deepcopy(actor.state_dict())
    assert state["demo"] is not None
    first = actor.unroll()
    twin.load_state_dict(state)
    again = twin.unroll()
    np.testing.assert_array_equal(first.policy_mask, again.policy_mask)


def test_demo_prob_is_validated() -> None:
    base = {"env": {"kind": "world", "family": "tiny"}}
    assert TrainConfig.from_dict({**base, "demo_prob": 0.25}).demo_prob == 0.25
    with pytest.raises(ConfigError, match=r"^demo_prob: 1.5 is not allowed"):
        TrainConfig.from_dict({**base, "demo_prob": 1.5})
    with pytest.raises(ConfigError, match=r"^demo_prob: 0.5 needs env.kind=world"):
        TrainConfig.from_dict({"env": {"kind": "bandit"}, "demo_prob": 0.5})


def test_a_run_with_demonstrations_trains_and_logs_their_share(tmp_path) -> None:
    from ada.learning.checkpoint import latest_checkpoint
    from ada.trainer import Trainer

    cfg = TrainConfig.from_dict({
        "agent": {"size": "tiny"}, "env": {"kind": "world", "family": "tiny", "image_size": 16},
        "runtime": {"envs_per_actor": 2, "unroll_length": 8}, "total_frames": 48,
        "demo_prob": 1.0, "out_dir": str(tmp_path), "progress": False, "log_every": 1,
        "name": "demo"})
    seen: list[float] = []
    trainer = Trainer(cfg)
    try:
        learner_step = trainer.learner.step

        def spy(traj):
            metrics = learner_step(traj)
            seen.append(metrics["demo/fraction"])
            return metrics

        trainer.learner.step = spy
        trainer.run()
    finally:
        trainer.close()
    assert latest_checkpoint(tmp_path / "checkpoints") is not None
    assert seen and all(f > 0.9 for f in seen)  # 8-step unrolls inside 60-step first trials


def test_prompted_episodes_are_scored_and_logged_without_the_demonstration(make_actor) -> None:
    from ada.trainer import episode_scalars
    from curriculum import EpisodeStats

    traj = make_actor(1.0).unroll()
    assert len(traj.episodes) == 4
    for ep in traj.episodes:
        assert ep.demo_steps == STEPS and ep.rewards is not None and ep.values is not None
        stats = EpisodeStats.from_episode(ep)
        assert stats.length == STEPS and stats.max_return == pytest.approx(ep.max_return / 2)
        np.testing.assert_array_equal(stats.rewards, ep.rewards[STEPS:])
        np.testing.assert_array_equal(stats.values, ep.values[STEPS:])
        assert stats.episode_return == pytest.approx(ep.trial_returns[1])
        assert stats.trial_returns == (ep.trial_returns[1],)
    # the expert grabbed in its trial 1: a score counting it would call these tasks half solved
    assert sum(ep.trial_returns[0] for ep in traj.episodes) > 0
    plain = make_actor(0.0).unroll().episodes
    assert all(ep.demo_steps == 0 for ep in plain)
    logged = episode_scalars([*plain, *traj.episodes])
    assert logged["episode/count"] == 8 and logged["episode/prompted_count"] == 4
    assert logged["episode/prompted_trial_1_return"] == pytest.approx(
        np.mean([ep.trial_returns[0] for ep in traj.episodes]))
    assert logged["episode/return"] == pytest.approx(np.mean([ep.episode_return for ep in plain]))
