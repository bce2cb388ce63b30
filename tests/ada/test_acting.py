"""The one acting path (ada.acting): sampling, the batched Policy interface, Rollout."""

from __future__ import annotations

import numpy as np
import pytest

from ada.acting import Rollout, sample_actions
from ada.bayes.bandit import BanditFamily, BetaArm
from ada.bayes.bandit_vec import VectorBandit
from ada.policies import NoopPolicy, RandomPolicy


def test_gumbel_max_samples_the_softmax_and_greedy_is_the_argmax() -> None:
    logits = np.log(np.array([[0.1, 0.6, 0.3]] * 20_000))
    a = sample_actions(logits, np.random.default_rng(0))
    freq = np.bincount(a, minlength=3) / len(a)
    np.testing.assert_allclose(freq, [0.1, 0.6, 0.3], atol=0.015)
    assert (sample_actions(logits[:3], np.random.default_rng(0), greedy=True) == 1).all()


def test_one_generator_per_env_makes_an_envs_actions_independent_of_the_batch() -> None:
    logits = np.zeros((3, 5))
    alone = [sample_actions(logits[:1], [np.random.default_rng(7)])[0] for _ in range(1)]
    batched = sample_actions(logits, [np.random.default_rng(s) for s in (1, 7, 2)])
    assert batched[1] == alone[0]
    # one Generator for the batch draws one (B, A) block: the same as B rows in turn
    block = sample_actions(logits, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    rows = np.stack([rng.random(5) for _ in range(3)])
    assert (block == np.argmax(-np.log(-np.log(rows + 1e-20) + 1e-20), axis=-1)).all()
    with pytest.raises(ValueError, match="2 generators for a batch of 3"):
        sample_actions(logits, [np.random.default_rng(0)] * 2)


def test_rollout_steps_an_env_batch_with_auto_reset_and_marks_first() -> None:
    family = BanditFamily((BetaArm(1, 1), BetaArm(1, 1)), horizon=3)
    env = VectorBandit(family, 4, seed=0)
    rollout = Rollout(env, RandomPolicy(2), np.random.default_rng(0))
    firsts, ended = [], 0
    for _ in range(7):
        step = rollout.step()
        firsts.append(step.first.copy())
        ended += len(step.out.episodes)
        assert step.decision.actions.shape == (4,) and set(step.decision.actions) <= {0, 1}
    assert [f.all() for f in firsts] == [True, False, False, True, False, False, True]
    assert ended == 2 * 4
    noop = Rollout(VectorBandit(family, 2, seed=0), NoopPolicy(0), np.random.default_rng(0))
    assert (noop.step().decision.actions == 0).all()


def test_single_env_act_is_the_batched_step_of_one_row() -> None:
    policy = RandomPolicy(6)
    a, state = policy.act({}, None, True, np.random.default_rng(5))
    expected = int(np.random.default_rng(5).integers(6))
    assert (a, state) == (expected, None)
