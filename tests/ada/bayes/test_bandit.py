"""Exact Bayes-optimal bandit references: published values, DP consistency, env conformance."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from dm_env import StepType

from ada.bayes.bandit import BanditEnv, BanditFamily, BetaArm, KnownArm
from ada.bayes.bandit_solver import (
    BayesOptimalBandit,
    bayes_optimal_policy,
    exact_suboptimality,
    exploit_only_policy,
    greedy_policy,
    policy_value,
    posterior_counts,
    random_policy,
    rollout,
    suboptimality,
    thompson_policy,
    thompson_probabilities,
)

TWO_BETA = BanditFamily.beta(2, horizon=20)
DIRECTED_05 = BanditFamily.directed_exploration(0.5, horizon=20)
DIRECTED_06 = BanditFamily.directed_exploration(0.6, horizon=20)


@functools.cache
def _bayes(family: BanditFamily) -> BayesOptimalBandit:
    return BayesOptimalBandit(family)


@functools.cache
def _thompson_value(family: BanditFamily) -> float:
    # The slowest reference (one quadrature per belief); computed once per family.
    return policy_value(family, thompson_policy(family))


# ------------------------------------------------------------------ published numbers (H = 20)


def test_two_beta_arms_reference_values() -> None:
    v_star = _bayes(TWO_BETA).value()
    assert v_star == pytest.approx(12.4313, abs=1e-3)
    greedy = policy_value(TWO_BETA, greedy_policy(TWO_BETA))
    assert v_star - greedy == pytest.approx(0.066, abs=1e-3)
    assert v_star - _thompson_value(TWO_BETA) == pytest.approx(0.50, abs=5e-3)
    # Random: each arm's prior mean is 1/2, so 20 * 0.5 exactly.
    assert policy_value(TWO_BETA, random_policy(TWO_BETA)) == pytest.approx(10.0, abs=1e-12)
    assert v_star - 10.0 == pytest.approx(2.43, abs=5e-3)


def test_directed_exploration_reference_values() -> None:
    v_star = _bayes(DIRECTED_05).value()
    assert v_star == pytest.approx(11.9122, abs=1e-3)
    exploit = policy_value(DIRECTED_05, exploit_only_policy(DIRECTED_05))
    assert exploit == pytest.approx(10.0, abs=1e-12)
    assert v_star - exploit == pytest.approx(1.91, abs=5e-3)
    assert v_star - _thompson_value(DIRECTED_05) == pytest.approx(0.48, abs=5e-3)

    v6 = _bayes(DIRECTED_06).value()
    assert v6 - policy_value(DIRECTED_06, exploit_only_policy(DIRECTED_06)) == pytest.approx(
        0.99, abs=5e-3
    )


# ------------------------------------------------------------------ DP consistency

SMALL_FAMILIES = [
    BanditFamily.beta(3, horizon=6),
    BanditFamily((BetaArm(0.5, 0.5), BetaArm(2.0, 1.0)), horizon=8),
    BanditFamily((KnownArm(0.3), KnownArm(0.7), BetaArm(1.0, 1.0)), horizon=7),
]


@pytest.mark.parametrize("family", [TWO_BETA, DIRECTED_05, DIRECTED_06, *SMALL_FAMILIES])
def test_bayes_optimal_dominates_every_policy(family: BanditFamily) -> None:
    v_star = _bayes(family).value()
    policies = [greedy_policy(family), random_policy(family)]
    if family.known_arms:
        policies.append(exploit_only_policy(family))
    values = [policy_value(family, pi) for pi in policies]
    values.append(_thompson_value(family))
    assert all(v <= v_star + 1e-9 for v in values), (v_star, values)
    # The optimal policy evaluated by the generic engine reproduces V* exactly.
    assert policy_value(family, bayes_optimal_policy(family, _bayes(family))) == pytest.approx(
        v_star, abs=1e-9
    )


@pytest.mark.parametrize("family", [TWO_BETA, *SMALL_FAMILIES])
def test_q_star_satisfies_bellman_recursion(family: BanditFamily) -> None:
    bayes = _bayes(family)
    rng = np.random.default_rng(0)
    H = family.horizon
    beta = list(family.beta_arms)
    for _ in range(50):
        t = int(rng.integers(0, H))
        counts = np.zeros((family.n_arms, 2), dtype=np.int64)
        # A random belief reachable in t pulls: spread t outcomes over arms.
        for _pull in range(t):
            arm = int(rng.integers(family.n_arms))
            if arm in beta:
                counts[arm, int(rng.integers(2))] += 1
        q = bayes.q(counts, t)
        assert bayes.v(counts, t) == pytest.approx(q.max(), abs=1e-12)
        means = family.posterior_means(counts)
        for a in range(family.n_arms):
            if a in beta:
                win, loss = counts.copy(), counts.copy()
                win[a, 0] += 1
                loss[a, 1] += 1
                v_win, v_loss = bayes.v(win, t + 1), bayes.v(loss, t + 1)
                expect = means[a] * (1 + v_win) + (1 - means[a]) * v_loss
            else:
                expect = means[a] + bayes.v(counts, t + 1)
            assert q[a] == pytest.approx(expect, abs=1e-12)
        assert bayes.v(counts, H) == 0.0


def _expectimax_on_grid(family: BanditFamily) -> float:
    """Independent V*: recursion over raw histories, posteriors by quadrature over a theta grid."""
    grid = (np.arange(4000) + 0.5) / 4000
    priors = []
    for arm in family.arms:
        if isinstance(arm, KnownArm):
            priors.append(None)
        else:
            w = grid ** (arm.a - 1) * (1 - grid) ** (arm.b - 1)
            priors.append(w / w.sum())

    def p_success(history: tuple[tuple[int, int], ...], a: int) -> float:
        if priors[a] is None:
            return family.arms[a].p  # type: ignore[union-attr]
        w = priors[a].copy()
        for arm, r in history:
            if arm == a:
                w = w * (grid if r else 1 - grid)
        return float((w * grid).sum() / w.sum())

    def v(history: tuple[tuple[int, int], ...]) -> float:
        if len(history) == family.horizon:
            return 0.0
        best = -np.inf
        for a in range(family.n_arms):
            p = p_success(history, a)
            best = max(best, p * (1 + v((*history, (a, 1)))) + (1 - p) * v((*history, (a, 0))))
        return best

    return v(())


@pytest.mark.parametrize(
    "family",
    [
        BanditFamily.beta(2, horizon=4),
        BanditFamily.directed_exploration(0.55, horizon=4),
        BanditFamily((BetaArm(2.0, 1.0), BetaArm(1.0, 3.0)), horizon=4),
    ],
)
def test_dp_matches_independent_history_expectimax(family: BanditFamily) -> None:
    reference = _expectimax_on_grid(family)
    assert BayesOptimalBandit(family).value() == pytest.approx(reference, abs=1e-5)


@pytest.mark.parametrize("family", [TWO_BETA, DIRECTED_05, SMALL_FAMILIES[2]])
def test_exact_suboptimality_is_value_gap(family: BanditFamily) -> None:
    bayes = _bayes(family)
    assert exact_suboptimality(family, bayes.policy, bayes) == pytest.approx(0.0, abs=1e-12)
    rnd = exact_suboptimality(family, random_policy(family), bayes)
    assert rnd > 0.1
    # Performance-difference identity: E_pi sum_t (V* - Q*(., a_t)) = V* - V^pi.
    for pi in (random_policy(family), greedy_policy(family)):
        assert exact_suboptimality(family, pi, bayes) == pytest.approx(
            bayes.value() - policy_value(family, pi), abs=1e-9
        )


def test_rollout_suboptimality_estimates_exact_value() -> None:
    family, bayes = TWO_BETA, _bayes(TWO_BETA)
    pi = thompson_policy(family)
    counts, probs, actions, rewards = rollout(family, pi, 300, np.random.default_rng(0))
    # The logged counts are exactly what posterior_counts rebuilds from actions and rewards.
    np.testing.assert_array_equal(posterior_counts(family, actions, rewards), counts)
    estimate = suboptimality(family, counts, probs, bayes)
    # Per-rollout std is ~0.13 for Thompson, so 300 rollouts give sem ~0.008.
    assert estimate == pytest.approx(0.4995, abs=0.03)
    # The Bayes-optimal agent's own rollouts score exactly zero.
    c2, p2, _, _ = rollout(family, bayes.policy, 20, np.random.default_rng(1))
    assert suboptimality(family, c2, p2, bayes) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        suboptimality(family, counts[:, :, :1], probs, bayes)


# ------------------------------------------------------------------ Thompson probabilities


def test_thompson_two_beta_arms_matches_closed_form() -> None:
    # P(X_B > X_A) for integer parameters (Evan Miller's formula), X_A ~ Beta(aA, bA).
    from math import exp, lgamma, log

    def lbeta(x: float, y: float) -> float:
        return lgamma(x) + lgamma(y) - lgamma(x + y)

    cases = [((1, 1), (1, 1)), ((3, 2), (2, 5)), ((7, 1), (4, 4)), ((12, 9), (1, 3))]
    for (aa, ba), (ab, bb) in cases:
        exact = sum(
            exp(lbeta(aa + i, ba + bb) - log(bb + i) - lbeta(1 + i, bb) - lbeta(aa, ba))
            for i in range(ab)
        )
        probs = thompson_probabilities([(aa, ba), (ab, bb)], [None, None])
        assert probs[1] == pytest.approx(exact, abs=1e-6)
        assert probs.sum() == pytest.approx(1.0, abs=1e-12)


def test_thompson_known_arms_and_ties() -> None:
    # Beta(1, 1) vs known p: the known arm wins iff the uniform sample is below p.
    for p in (0.0, 0.25, 0.6, 1.0):
        probs = thompson_probabilities([None, (1.0, 1.0)], [p, None])
        assert probs[0] == pytest.approx(p, abs=1e-6)
    # Symmetric arms split evenly, including the endpoint-singular KT prior.
    np.testing.assert_allclose(
        thompson_probabilities([(0.5, 0.5)] * 2, [None] * 2), [0.5, 0.5], atol=1e-6
    )
    np.testing.assert_allclose(
        thompson_probabilities([(2.0, 3.0)] * 3, [None] * 3), [1 / 3] * 3, atol=1e-6
    )
    # Tied known arms share; a dominated known arm gets nothing.
    np.testing.assert_allclose(
        thompson_probabilities([None, None, None], [0.4, 0.4, 0.1]), [0.5, 0.5, 0.0]
    )


# ------------------------------------------------------------------ environment


@pytest.mark.parametrize("family", [TWO_BETA, DIRECTED_06, BanditFamily.beta(4, horizon=5)])
def test_env_conforms_to_specs(family: BanditFamily) -> None:
    env = BanditEnv(family, seed=0)
    obs_spec, act_spec = env.observation_spec(), env.action_spec()
    rng = np.random.default_rng(0)
    H = family.horizon
    for _episode in range(3):
        ts = env.reset()
        assert ts.step_type == StepType.FIRST
        np.testing.assert_array_equal(ts.observation["prev_action"], 0.0)
        np.testing.assert_array_equal(ts.observation["trial"], [0.0, 1.0, 1.0])
        steps = 0
        while True:
            assert set(ts.observation) == set(obs_spec)
            for key, spec in obs_spec.items():
                spec.validate(ts.observation[key])
            action = int(rng.integers(family.n_arms))
            act_spec.validate(np.int32(action))
            ts = env.step(action)
            steps += 1
            env.reward_spec().validate(ts.reward)
            env.discount_spec().validate(ts.discount)
            assert ts.observation["prev_action"][action] == 1.0
            assert ts.observation["prev_action"].sum() == 1.0
            assert ts.observation["prev_reward"][0] == ts.reward
            assert ts.observation["trial"][2] == pytest.approx((H - steps) / H)
            assert env.counts.sum() <= steps
            if ts.last():
                break
            assert ts.step_type == StepType.MID and ts.discount == 1.0
        assert steps == H and ts.discount == 0.0
        for key, spec in obs_spec.items():
            spec.validate(ts.observation[key])
    # After the last step, step() starts a new episode (dm_env convention).
    assert env.step(0).first()
    with pytest.raises(ValueError):
        env.step(family.n_arms)


def test_env_samples_tasks_from_prior_and_is_seeded() -> None:
    env = BanditEnv(DIRECTED_06, seed=3)
    probs = []
    for _ in range(400):
        env.reset()
        probs.append(env.arm_probs)
    probs = np.array(probs)
    assert np.all(probs[:, 0] == 0.6)
    assert probs[:, 1].mean() == pytest.approx(0.5, abs=0.05)  # Beta(1, 1): sd 0.29 / 20
    a, b = BanditEnv(TWO_BETA, seed=7), BanditEnv(TWO_BETA, seed=7)
    a.reset()
    b.reset()
    ra = [float(a.step(i % 2).reward) for i in range(20)]
    rb = [float(b.step(i % 2).reward) for i in range(20)]
    assert ra == rb
    # Counts only track Beta arms (known rows stay zero).
    env.reset()
    for _ in range(5):
        env.step(0)
    assert env.counts[0].sum() == 0 and env.t == 5


def test_family_validation() -> None:
    with pytest.raises(ValueError):
        BetaArm(0.0, 1.0)
    with pytest.raises(ValueError):
        KnownArm(1.5)
    with pytest.raises(ValueError):
        BanditFamily((), horizon=5)
    with pytest.raises(ValueError):
        BanditFamily.beta(2, horizon=0)
    with pytest.raises(ValueError):
        exploit_only_policy(TWO_BETA)


def test_greedy_splits_ties_and_value_counts_all_pulls() -> None:
    family = BanditFamily.beta(2, horizon=1)
    np.testing.assert_allclose(greedy_policy(family)(np.zeros((2, 2)), 0), [0.5, 0.5])
    # H = 1: every policy earns the prior mean; the DP must not add phantom steps.
    assert BayesOptimalBandit(family).value() == pytest.approx(0.5)
    for h in (2, 3):
        fam = BanditFamily.beta(2, horizon=h)
        assert policy_value(fam, random_policy(fam)) == pytest.approx(h * 0.5, abs=1e-12)
