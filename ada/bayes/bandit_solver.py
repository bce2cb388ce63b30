"""Exact Bayes-optimal references for the Bernoulli bandit family (`ada.bayes.bandit`).

Everything here is exact (no Monte Carlo, no learning), so it is ground truth for the
meta-learned agent:

- `BayesOptimalBandit`: V*(b, t) and Q*(b, t, a) by memoised recursion over the count lattice.
- `policy_value` / `exact_suboptimality`: the same recursion for any belief-state policy
  (Thompson sampling, greedy, exploit-only, random, or the Bayes-optimal one).
- `thompson_probabilities`: Thompson sampling's action probabilities by quadrature.
- `suboptimality`: the low-variance metric used to score a learned agent along its own rollouts,
  E[sum_t sum_a pi(a | h_t) (V*(b_t) - Q*(b_t, a))], which by the performance-difference identity
  has expectation V*(prior) - V^pi(prior), but whose per-step terms are exact (no reward noise).

Belief-state convention: `counts` is an int array of shape (n_arms, 2) holding (successes,
failures) for each Beta arm; known arms carry no posterior state, so their rows are always zero.
`t` is the number of pulls made so far (0..H-1 at decision time).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np

from ada.bayes.bandit import BanditFamily, BetaArm, KnownArm

PolicyFn = Callable[[np.ndarray, int], np.ndarray]
"""A belief-state policy: (counts of shape (n_arms, 2), t) -> action probabilities (n_arms,)."""

_TIE_TOL = 1e-12  # values closer than this count as ties (ties are split evenly, not broken)


# --------------------------------------------------------------------------------------------
# Exact recursion over the belief lattice
#
# Internally a belief is a flat tuple (s_0, f_0, s_1, f_1, ...) over the Beta arms only, so that
# memo keys are small and known arms cannot blow up the state space.

_Key = tuple[int, ...]


class _Lattice:
    """Belief bookkeeping shared by the optimal DP and the policy evaluators."""

    def __init__(self, family: BanditFamily) -> None:
        self.family = family
        self.horizon = family.horizon
        self.n = family.n_arms
        self.beta_idx = family.beta_arms
        self.slot = {arm: j for j, arm in enumerate(self.beta_idx)}  # arm -> beta slot
        self.prior = [(arm.a, arm.b) if isinstance(arm, BetaArm) else None for arm in family.arms]
        self.known_p = [arm.p if isinstance(arm, KnownArm) else None for arm in family.arms]
        self.zero: _Key = (0,) * (2 * len(self.beta_idx))

    def key(self, counts: np.ndarray | Sequence[Sequence[int]]) -> _Key:
        c = np.asarray(counts, dtype=np.int64).reshape(self.n, 2)
        return tuple(int(v) for i in self.beta_idx for v in c[i])

    def counts(self, key: _Key) -> np.ndarray:
        c = np.zeros((self.n, 2), dtype=np.int64)
        for j, i in enumerate(self.beta_idx):
            c[i] = key[2 * j], key[2 * j + 1]
        return c

    def mean(self, key: _Key, arm: int) -> float:
        p = self.known_p[arm]
        if p is not None:
            return p
        a, b = self.prior[arm]
        j = self.slot[arm]
        s, f = key[2 * j], key[2 * j + 1]
        return (a + s) / (a + b + s + f)

    def successors(self, key: _Key, arm: int) -> tuple[float, _Key, _Key]:
        """(P(success), belief after success, belief after failure) for pulling `arm`."""
        mu = self.mean(key, arm)
        if self.known_p[arm] is not None:
            return mu, key, key
        j = 2 * self.slot[arm]
        win = key[:j] + (key[j] + 1,) + key[j + 1 :]
        loss = key[: j + 1] + (key[j + 1] + 1,) + key[j + 2 :]
        return mu, win, loss


class BayesOptimalBandit:
    """Exact Bayes-optimal values for a `BanditFamily` by finite-horizon DP over posterior counts.

    V*(b, t) = max_a Q*(b, t, a), Q*(b, t, a) = mu_a(b) + E[V*(b', t + 1)], V*(., H) = 0, where b'
    is b updated with the Bernoulli outcome of arm a. Memoised over (counts, t), so only beliefs
    reachable from the prior are ever visited (2 Beta arms, H = 20: ~10^4 states, ~0.1 s).
    """

    def __init__(self, family: BanditFamily) -> None:
        self.family = family
        self._lat = _Lattice(family)
        self._v: dict[tuple[_Key, int], float] = {}
        self._q: dict[tuple[_Key, int], np.ndarray] = {}

    def _q_key(self, key: _Key, t: int) -> np.ndarray:
        memo = self._q.get((key, t))
        if memo is not None:
            return memo
        lat = self._lat
        q = np.empty(lat.n)
        for arm in range(lat.n):
            mu, win, loss = lat.successors(key, arm)
            if t + 1 >= lat.horizon:
                q[arm] = mu
            elif lat.known_p[arm] is not None:  # known arm: the belief does not move
                q[arm] = mu + self._v_key(key, t + 1)
            else:
                q[arm] = mu * (1.0 + self._v_key(win, t + 1)) + (1.0 - mu) * self._v_key(
                    loss, t + 1
                )
        q.setflags(write=False)
        self._q[(key, t)] = q
        return q

    def _v_key(self, key: _Key, t: int) -> float:
        if t >= self._lat.horizon:
            return 0.0
        memo = self._v.get((key, t))
        if memo is None:
            memo = float(self._q_key(key, t).max())
            self._v[(key, t)] = memo
        return memo

    def _check_t(self, t: int) -> None:
        if not 0 <= t <= self.family.horizon:
            raise ValueError(f"t={t} outside [0, {self.family.horizon}]")

    def value(self) -> float:
        """V* at the prior: the Bayes-optimal expected total reward over H pulls."""
        return self._v_key(self._lat.zero, 0)

    def v(self, counts: np.ndarray, t: int) -> float:
        """V*(b, t): optimal expected reward still to come from belief `counts` after t pulls."""
        self._check_t(t)
        return self._v_key(self._lat.key(counts), t)

    def q(self, counts: np.ndarray, t: int) -> np.ndarray:
        """Q*(b, t, .) for every arm (shape (n_arms,)); t must be < H."""
        self._check_t(t)
        if t >= self.family.horizon:
            raise ValueError("no action is taken at t = H")
        return self._q_key(self._lat.key(counts), t).copy()

    def gap(self, counts: np.ndarray, t: int) -> np.ndarray:
        """V*(b, t) - Q*(b, t, a) >= 0 for every arm: the per-step cost of each action."""
        q = self.q(counts, t)
        return q.max() - q

    def policy(self, counts: np.ndarray, t: int) -> np.ndarray:
        """The Bayes-optimal policy: uniform over the argmax of Q* (ties split evenly)."""
        return _argmax_uniform(self.q(counts, t))


def _argmax_uniform(x: np.ndarray) -> np.ndarray:
    best = x >= x.max() - _TIE_TOL
    return best / best.sum()


def _expectation(
    family: BanditFamily,
    policy_fn: PolicyFn,
    step_term: Callable[[_Key, int, np.ndarray], float],
) -> float:
    """E_pi[sum_t step_term(b_t, t, pi(.|b_t))] from the prior, by memoised recursion.

    The generic engine behind `policy_value` (step term: expected reward) and
    `exact_suboptimality` (step term: expected optimality gap). Branches with zero policy
    probability are never expanded, so deterministic policies visit few states.
    """
    lat = _Lattice(family)
    memo: dict[tuple[_Key, int], float] = {}

    def w(key: _Key, t: int) -> float:
        if t >= lat.horizon:
            return 0.0
        hit = memo.get((key, t))
        if hit is not None:
            return hit
        probs = np.asarray(policy_fn(lat.counts(key), t), dtype=np.float64)
        if probs.shape != (lat.n,) or np.any(probs < -1e-12) or abs(probs.sum() - 1.0) > 1e-6:
            raise ValueError(f"policy returned {probs!r} at t={t}; need a distribution over arms")
        total = step_term(key, t, probs)
        for arm in range(lat.n):
            pa = probs[arm]
            if pa <= 0.0:
                continue
            mu, win, loss = lat.successors(key, arm)
            if lat.known_p[arm] is not None:  # known arm: the belief does not move
                total += pa * w(key, t + 1)
            else:
                total += pa * (mu * w(win, t + 1) + (1.0 - mu) * w(loss, t + 1))
        memo[(key, t)] = total
        return total

    return w(lat.zero, 0)


def policy_value(family: BanditFamily, policy_fn: PolicyFn) -> float:
    """Exact expected total reward of a belief-state policy over one episode (no sampling)."""
    lat = _Lattice(family)

    def reward(key: _Key, t: int, probs: np.ndarray) -> float:
        return float(sum(probs[a] * lat.mean(key, a) for a in range(lat.n)))

    return _expectation(family, policy_fn, reward)


def exact_suboptimality(
    family: BanditFamily, policy_fn: PolicyFn, bayes: BayesOptimalBandit | None = None
) -> float:
    """E_pi[sum_t sum_a pi(a|b_t) (V*(b_t) - Q*(b_t, a))], exactly; equals V* - V^pi."""
    bayes = bayes if bayes is not None else BayesOptimalBandit(family)

    def gap(key: _Key, t: int, probs: np.ndarray) -> float:
        q = bayes._q_key(key, t)
        return float(probs @ (q.max() - q))

    return _expectation(family, policy_fn, gap)


# --------------------------------------------------------------------------------------------
# Reference policies (all functions of the belief state)


def random_policy(family: BanditFamily) -> PolicyFn:
    """Uniform over arms, ignoring the history."""
    probs = np.full(family.n_arms, 1.0 / family.n_arms)
    return lambda counts, t: probs


def greedy_policy(family: BanditFamily) -> PolicyFn:
    """Argmax of the posterior mean (pure exploitation of current beliefs); ties split evenly."""
    return lambda counts, t: _argmax_uniform(family.posterior_means(counts))


def exploit_only_policy(family: BanditFamily) -> PolicyFn:
    """Always pull the best known arm (never explore); ties among known arms split evenly.

    Only defined when there is a known arm: it is the 'no exploration' baseline of the
    directed-exploration family, whose gap to V* is the value of information.
    """
    known = family.known_arms
    if not known:
        raise ValueError("exploit-only needs at least one KnownArm in the family")
    p = np.full(family.n_arms, -np.inf)
    for i in known:
        p[i] = family.arms[i].p  # type: ignore[union-attr]
    probs = _argmax_uniform(p)
    return lambda counts, t: probs


def bayes_optimal_policy(family: BanditFamily, bayes: BayesOptimalBandit | None = None) -> PolicyFn:
    """Argmax of Q* (ties split evenly); its suboptimality is 0 by construction."""
    bayes = bayes if bayes is not None else BayesOptimalBandit(family)
    return bayes.policy


_GRID = 2048  # points per sub-interval of the Thompson quadrature (error ~1e-7)


@functools.lru_cache(maxsize=64)
def _theta_grid(p_max: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Quadrature grid in theta (p = sin^2 theta): (theta, log sin, log cos, widths, k).

    Two sub-grids meet exactly at theta_k = asin(sqrt(p_max)), so F_b(p_max) and the lower limit
    of the Beta arms' integrals are grid nodes (no O(h) error from an indicator cutting through a
    cell). Cached because Thompson evaluation calls this once per belief state.
    """
    th_max = math.asin(math.sqrt(p_max))
    lo = np.linspace(0.0, th_max, _GRID) if th_max > 0 else np.zeros(1)
    hi = np.linspace(th_max, math.pi / 2, _GRID)
    theta = np.concatenate([lo[:-1], hi])
    with np.errstate(divide="ignore"):
        log_s, log_c = np.log(np.sin(theta)), np.log(np.cos(theta))
    log_c[-1] = -np.inf  # cos(pi/2) is 6e-17 in floating point, not 0
    for arr in (theta, log_s, log_c):
        arr.setflags(write=False)
    return theta, log_s, log_c, np.diff(theta), len(lo) - 1


def _beta_theta_pdf(log_s: np.ndarray, log_c: np.ndarray, a: float, b: float) -> np.ndarray:
    """Density of theta where p = sin^2(theta) ~ Beta(a, b), on the grid of `_theta_grid`.

    The substitution makes the integrand bounded for a, b >= 1/2 (it removes the endpoint
    singularities of e.g. the KT prior), so the trapezoid rule converges at O(grid^-2).
    """
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + math.log(2.0)
    with np.errstate(invalid="ignore"):
        pdf = np.exp(log_norm + (2 * a - 1) * log_s + (2 * b - 1) * log_c)
    # 0 * log(0) is nan at an endpoint when a or b is 1/2; the limit there is exp(log_norm).
    pdf[np.isnan(pdf)] = math.exp(log_norm)
    return pdf


def thompson_probabilities(
    beta_params: Sequence[tuple[float, float] | None], known_p: Sequence[float | None]
) -> np.ndarray:
    """P(arm a's posterior sample is the largest), exactly up to quadrature error (~1e-7).

    beta_params[a] = (alpha, beta) of arm a's posterior, or None for a known arm, whose sample
    is the point mass known_p[a]. Beta samples tie with probability zero; known arms that tie at
    the maximum split their probability evenly. For Beta arms:
    P(a wins) = int_{x > max known p} f_a(x) prod_{b != a} F_b(x) dx, on a grid in theta.
    """
    n = len(beta_params)
    beta_arms = [i for i in range(n) if beta_params[i] is not None]
    if any(min(beta_params[i]) < 0.5 for i in beta_arms):  # type: ignore[arg-type]
        raise ValueError("Thompson quadrature needs Beta parameters >= 1/2 (bounded integrand)")
    known = [i for i in range(n) if beta_params[i] is None]
    out = np.zeros(n)
    p_max = max(float(known_p[i]) for i in known) if known else 0.0  # type: ignore[arg-type]
    if not beta_arms:
        ties = [i for i in known if known_p[i] >= p_max - _TIE_TOL]  # type: ignore[operator]
        out[ties] = 1.0 / len(ties)
        return out
    theta, log_s, log_c, dth, k = _theta_grid(p_max)
    pdfs = np.stack([_beta_theta_pdf(log_s, log_c, *beta_params[i]) for i in beta_arms])  # type: ignore[misc]
    cdfs = np.concatenate(
        [np.zeros((len(beta_arms), 1)), np.cumsum(0.5 * (pdfs[:, 1:] + pdfs[:, :-1]) * dth, 1)], 1
    )
    cdfs /= cdfs[:, -1:]  # exact normalisation removes the leading quadrature error
    for j, i in enumerate(beta_arms):
        others = np.prod(np.delete(cdfs, j, axis=0)[:, k:], axis=0)
        g = pdfs[j, k:] * others
        out[i] = float(np.sum(0.5 * (g[1:] + g[:-1]) * dth[k:]))
    if known:
        ties = [i for i in known if known_p[i] >= p_max - _TIE_TOL]  # type: ignore[operator]
        p_known_wins = float(np.prod(cdfs[:, k]))
        out[ties] = p_known_wins / len(ties)
    return out / out.sum()


def thompson_policy(family: BanditFamily) -> PolicyFn:
    """Thompson sampling as a belief-state policy: exact probabilities of each arm being sampled.

    Memoised on the counts, as the probabilities do not depend on t.
    """
    lat = _Lattice(family)
    cache: dict[_Key, np.ndarray] = {}

    def policy(counts: np.ndarray, t: int) -> np.ndarray:
        key = lat.key(counts)
        hit = cache.get(key)
        if hit is None:
            params: list[tuple[float, float] | None] = []
            for i in range(lat.n):
                if lat.prior[i] is None:
                    params.append(None)
                else:
                    a, b = lat.prior[i]  # type: ignore[misc]
                    j = 2 * lat.slot[i]
                    params.append((a + key[j], b + key[j + 1]))
            hit = thompson_probabilities(params, lat.known_p)
            cache[key] = hit
        return hit

    return policy


# --------------------------------------------------------------------------------------------
# Scoring rollouts of an agent


def posterior_counts(family: BanditFamily, actions: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """Belief before each pull from logged (actions, rewards) of shape (R, T).

    Returns int64 counts of shape (R, T, n_arms, 2): entry t is the belief the agent acted on at
    step t (so entry 0 is all zeros); known arms' rows stay zero as everywhere in this module.
    """
    actions = np.asarray(actions)
    rewards = np.asarray(rewards)
    if actions.shape != rewards.shape or actions.ndim != 2:
        raise ValueError(f"need matching (R, T) arrays, got {actions.shape} and {rewards.shape}")
    R, T = actions.shape
    inc = np.zeros((R, T, family.n_arms, 2), dtype=np.int64)
    r_idx, t_idx = np.indices((R, T))
    outcome = np.where(rewards > 0.5, 0, 1)
    inc[r_idx, t_idx, actions, outcome] = 1
    inc[:, :, list(family.known_arms)] = 0
    counts = np.zeros_like(inc)
    counts[:, 1:] = np.cumsum(inc, axis=1)[:, :-1]
    return counts


def suboptimality(
    family: BanditFamily,
    counts: np.ndarray,
    action_probs: np.ndarray,
    bayes: BayesOptimalBandit | None = None,
) -> float:
    """Mean over rollouts of sum_t sum_a pi(a | h_t) (V*(b_t) - Q*(b_t, a)).

    counts: (R, T, n_arms, 2) beliefs before each step (see `posterior_counts`); action_probs:
    (R, T, n_arms) the agent's action distribution at each step. Using the agent's probabilities
    rather than its sampled actions and the exact Q* rather than sampled rewards removes most of
    the Monte Carlo variance; the expectation equals V*(prior) - V^pi(prior) when T = H.
    """
    bayes = bayes if bayes is not None else BayesOptimalBandit(family)
    counts = np.asarray(counts)
    action_probs = np.asarray(action_probs, dtype=np.float64)
    R, steps = action_probs.shape[:2]
    want = (R, steps, family.n_arms)
    if counts.shape != (*want, 2) or action_probs.shape != want:
        raise ValueError(f"shape mismatch: counts {counts.shape}, probs {action_probs.shape}")
    if steps > family.horizon:
        raise ValueError(f"rollouts of length {steps} exceed the horizon {family.horizon}")
    lat = bayes._lat
    total = 0.0
    for r in range(R):
        for t in range(steps):
            q = bayes._q_key(lat.key(counts[r, t]), t)
            total += float(action_probs[r, t] @ (q.max() - q))
    return total / R


def rollout(
    family: BanditFamily, policy_fn: PolicyFn, n_rollouts: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample episodes of a belief-state policy: (counts, action_probs, actions, rewards).

    Shapes (R, H, n, 2), (R, H, n), (R, H), (R, H); the same arrays an agent evaluation would log,
    so `suboptimality` can be checked against its exact counterpart.
    """
    H, n = family.horizon, family.n_arms
    counts = np.zeros((n_rollouts, H, n, 2), dtype=np.int64)
    probs = np.zeros((n_rollouts, H, n))
    actions = np.zeros((n_rollouts, H), dtype=np.int64)
    rewards = np.zeros((n_rollouts, H))
    beta = set(family.beta_arms)
    for r in range(n_rollouts):
        p_arms = family.sample_probs(rng)
        c = np.zeros((n, 2), dtype=np.int64)
        for t in range(H):
            counts[r, t] = c
            pi = np.asarray(policy_fn(c.copy(), t), dtype=np.float64)
            probs[r, t] = pi
            a = int(rng.choice(n, p=pi / pi.sum()))
            x = float(rng.random() < p_arms[a])
            actions[r, t], rewards[r, t] = a, x
            if a in beta:
                c[a, 0 if x else 1] += 1
    return counts, probs, actions, rewards


__all__ = ["BayesOptimalBandit", "PolicyFn", "bayes_optimal_policy", "exact_suboptimality",
           "exploit_only_policy", "greedy_policy", "policy_value", "posterior_counts",
           "random_policy", "rollout", "suboptimality", "thompson_policy",
           "thompson_probabilities"]
