"""Bernoulli bandits with exact Bayes-optimal references (Ortega et al. 2019; Mikulik et al. 2020).

The bandit is the smallest world in which a memory-based meta-learner can be *checked* against
the Bayes-optimal agent: its task distribution (independent per-arm priors, fixed horizon H) is
known, so the Bayes-adaptive MDP over posterior counts is finite and can be solved exactly by
dynamic programming. Everything here is exact (no Monte Carlo, no learning) so that it can serve
as ground truth for the meta-learned agent:

- `BanditFamily`: the task distribution (per-arm prior: Beta(a, b) or a known fixed p; horizon).
- `BanditEnv`: a `dm_env.Environment` sampling one task per episode; its observation keys
  (`prev_action`, `prev_reward`, `trial`) match the 3D world so that one agent can read both.
The exact references live in `ada.bayes.bandit_solver`:

- `BayesOptimalBandit`: V*(b, t) and Q*(b, t, a) by memoised recursion over the count lattice.
- `policy_value` / `exact_suboptimality`: the same recursion for any belief-state policy
  (Thompson sampling, greedy, exploit-only, random, or the Bayes-optimal one).
- `suboptimality`: the low-variance metric used to score a learned agent along its own rollouts,
  E[sum_t sum_a pi(a | h_t) (V*(b_t) - Q*(b_t, a))], which by the performance-difference identity
  has expectation V*(prior) - V^pi(prior), but whose per-step terms are exact (no reward noise).

Belief-state convention used throughout: `counts` is an int array of shape (n_arms, 2) holding
(successes, failures) for each Beta arm; known arms carry no posterior state, so their rows are
always zero (a policy must not need them: t and the Beta rows are the sufficient statistic).
`t` is the number of pulls made so far (0..H-1 at decision time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import dm_env
import numpy as np
from dm_env import specs


@dataclass(frozen=True)
class BetaArm:
    """An arm whose success probability is unknown, drawn from Beta(a, b) per episode."""

    a: float = 1.0
    b: float = 1.0

    def __post_init__(self) -> None:
        if not (self.a > 0 and self.b > 0 and math.isfinite(self.a) and math.isfinite(self.b)):
            raise ValueError(f"Beta prior needs finite a, b > 0, got a={self.a}, b={self.b}")


@dataclass(frozen=True)
class KnownArm:
    """An arm with a fixed success probability p, identical in every episode (no exploration)."""

    p: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"known arm needs 0 <= p <= 1, got p={self.p}")


Arm = BetaArm | KnownArm


@dataclass(frozen=True)
class BanditFamily:
    """A distribution over Bernoulli bandit tasks: independent per-arm priors and a horizon H.

    The value of a policy is the expected *total* reward over the H pulls of an episode, with the
    expectation over both the task prior and the reward noise (undiscounted).
    """

    arms: tuple[Arm, ...]
    horizon: int = 20

    def __post_init__(self) -> None:
        if len(self.arms) < 1:
            raise ValueError("a bandit needs at least one arm")
        for i, arm in enumerate(self.arms):
            if not isinstance(arm, (BetaArm, KnownArm)):
                raise ValueError(f"arms[{i}] = {arm!r} is neither BetaArm nor KnownArm")
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, int) or self.horizon < 1:
            raise ValueError(f"horizon must be a positive int, got {self.horizon!r}")
        object.__setattr__(self, "arms", tuple(self.arms))

    @classmethod
    def beta(
        cls, n_arms: int = 2, a: float = 1.0, b: float = 1.0, horizon: int = 20
    ) -> BanditFamily:
        """n i.i.d. Beta(a, b) arms (the classic meta-RL bandit family)."""
        return cls(tuple(BetaArm(a, b) for _ in range(n_arms)), horizon)

    @classmethod
    def directed_exploration(
        cls, p_known: float = 0.5, a: float = 1.0, b: float = 1.0, horizon: int = 20
    ) -> BanditFamily:
        """Arm 0 known (fixed p), arm 1 unknown Beta(a, b): exploring arm 1 has pure info value."""
        return cls((KnownArm(p_known), BetaArm(a, b)), horizon)

    @property
    def n_arms(self) -> int:
        return len(self.arms)

    @property
    def beta_arms(self) -> tuple[int, ...]:
        """Indices of the arms with a posterior (the ones whose counts are state)."""
        return tuple(i for i, arm in enumerate(self.arms) if isinstance(arm, BetaArm))

    @property
    def known_arms(self) -> tuple[int, ...]:
        return tuple(i for i, arm in enumerate(self.arms) if isinstance(arm, KnownArm))

    def posterior_means(self, counts: np.ndarray) -> np.ndarray:
        """E[p_a | counts] for every arm (known arms: their p)."""
        counts = np.asarray(counts)
        means = np.empty(self.n_arms)
        for i, arm in enumerate(self.arms):
            if isinstance(arm, KnownArm):
                means[i] = arm.p
            else:
                s, f = counts[i]
                means[i] = (arm.a + s) / (arm.a + arm.b + s + f)
        return means

    def sample_probs(self, rng: np.random.Generator) -> np.ndarray:
        """One task: a success probability per arm drawn from the prior."""
        return np.array(
            [arm.p if isinstance(arm, KnownArm) else rng.beta(arm.a, arm.b) for arm in self.arms]
        )


# --------------------------------------------------------------------------------------------
# Environment


class BanditEnv(dm_env.Environment):
    """One Bernoulli bandit task per episode, H pulls long, as a `dm_env.Environment`.

    The observation carries what a memory-based agent needs to infer the task from its own
    history (previous action and reward) plus the same `trial` clock as the 3D world, so that
    the bandit is a drop-in test world for the same agent: trial = (trial index, number of
    trials, fraction of the trial left) = (0, 1, (H - t) / H), with t the pulls made so far.
    The episode terminates (discount 0) after H pulls; a `step` after the last resets.
    """

    def __init__(self, family: BanditFamily, seed: int | None = None) -> None:
        self._family = family
        self._rng = np.random.default_rng(seed)
        self._probs = family.sample_probs(self._rng)
        self._t = 0
        self._counts = np.zeros((family.n_arms, 2), dtype=np.int64)
        self._needs_reset = True

    @property
    def family(self) -> BanditFamily:
        return self._family

    @property
    def arm_probs(self) -> np.ndarray:
        """The current task's true success probabilities (hidden from the agent)."""
        return self._probs.copy()

    @property
    def counts(self) -> np.ndarray:
        """Posterior counts before the next pull (Beta rows only; known rows stay 0)."""
        return self._counts.copy()

    @property
    def t(self) -> int:
        """Pulls made so far in this episode."""
        return self._t

    def _observation(self, prev_action: int | None, prev_reward: float) -> dict[str, np.ndarray]:
        one_hot = np.zeros(self._family.n_arms, dtype=np.float32)
        if prev_action is not None:
            one_hot[prev_action] = 1.0
        h = self._family.horizon
        return {
            "prev_action": one_hot,
            "prev_reward": np.array([prev_reward], dtype=np.float32),
            "trial": np.array([0.0, 1.0, (h - self._t) / h], dtype=np.float32),
        }

    def reset(self) -> dm_env.TimeStep:
        self._probs = self._family.sample_probs(self._rng)
        self._t = 0
        self._counts[:] = 0
        self._needs_reset = False
        return dm_env.restart(self._observation(None, 0.0))

    def step(self, action: int | np.ndarray) -> dm_env.TimeStep:
        if self._needs_reset:
            return self.reset()
        a = int(action)
        if not 0 <= a < self._family.n_arms:
            raise ValueError(f"action {action!r} is not an arm index in [0, {self._family.n_arms})")
        r = float(self._rng.random() < self._probs[a])
        if isinstance(self._family.arms[a], BetaArm):
            self._counts[a, 0 if r else 1] += 1
        self._t += 1
        obs = self._observation(a, r)
        reward = np.float32(r)
        if self._t >= self._family.horizon:
            self._needs_reset = True
            # Built by hand: dm_env.termination would make the discount a float64 0.0.
            return dm_env.TimeStep(dm_env.StepType.LAST, reward, np.float32(0.0), obs)
        return dm_env.transition(reward, obs, discount=np.float32(1.0))

    def observation_spec(self) -> dict[str, specs.BoundedArray]:
        n = self._family.n_arms
        return {
            "prev_action": specs.BoundedArray((n,), np.float32, 0.0, 1.0, name="prev_action"),
            "prev_reward": specs.BoundedArray((1,), np.float32, 0.0, 1.0, name="prev_reward"),
            "trial": specs.BoundedArray(
                (3,),
                np.float32,
                minimum=np.array([0.0, 1.0, 0.0], np.float32),
                maximum=np.array([0.0, 1.0, 1.0], np.float32),
                name="trial",
            ),
        }

    def action_spec(self) -> specs.DiscreteArray:
        return specs.DiscreteArray(self._family.n_arms, dtype=np.int32, name="action")

    def reward_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), np.float32, 0.0, 1.0, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), np.float32, 0.0, 1.0, name="discount")


__all__ = ["BanditEnv", "BanditFamily", "BetaArm", "KnownArm"]
