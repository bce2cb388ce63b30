"""B Bernoulli bandit episodes stepped as arrays: the training-speed twin of `BanditEnv`.

Meta-RL on bandits needs millions of pulls; stepping B dm_env objects in Python would cost more
than the network. `VectorBandit` keeps the same observation spec and dynamics as `BanditEnv`
(a test checks step-by-step equality of observations for equal arm probabilities and draws)
and follows the auto-reset convention of `worlds.env_batch`: when an episode ends, the
returned observation is the first of the next episode and `first` marks it.

Its whole state (arm probabilities, clocks, RNG, frames stepped) is in `state_dict`, so a
training run that checkpoints resumes bit for bit.

`known_p_start` / `warmup_frames` are a training curriculum over the known arms: their p moves
linearly from `known_p_start` to the family's p over the first `warmup_frames` frames this batch
steps, then stays. Why: with a known arm at p=0.6 against a Beta(1,1) arm (prior mean 0.5), a
policy that does not yet condition on its history gains by pulling the known arm at once, and
every seed collapsed onto it within ~0.7M frames. Starting the known arm well below the
unknown arm's prior mean (p=0.2) makes trying the unknown arm pay at once, so the policy learns
to condition on its outcomes (stay after successes, fall back after failures) first; that skill
carries over as p rises to 0.6. A start at p=0.5 (no trap, but no pull towards the unknown arm
either) still collapsed once p passed ~0.54. Evaluation always uses the family itself.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from dm_env import specs

from ada.bayes.bandit import BanditEnv, BanditFamily
from ada.validation import integer, optional_number
from worlds.env_batch import BatchStep, EpisodeRecord


class VectorBandit:
    """`num_envs` independent episodes of `family`, all stepped by one `step` call."""

    def __init__(self, family: BanditFamily, num_envs: int, seed: int | None = None,
                 known_p_start: float | None = None, warmup_frames: int = 0) -> None:
        num_envs = integer("num_envs", num_envs, lo=1)
        optional_number("known_p_start", known_p_start, 0.0, 1.0)
        integer("warmup_frames", warmup_frames, lo=0)
        self.family = family
        self._known = np.array([i in family.known_arms for i in range(family.n_arms)])
        self._known_target = np.array([getattr(arm, "p", 0.0) for arm in family.arms])
        self.known_p_start = known_p_start
        self.warmup_frames = warmup_frames
        self.frames = 0
        self.num_envs = num_envs
        self._rng = np.random.default_rng(seed)
        self._spec_env = BanditEnv(family, seed=0)
        n = family.n_arms
        self.probs = np.zeros((num_envs, n))
        self.t = np.zeros(num_envs, dtype=np.int64)
        self._prev_action = np.full(num_envs, -1, dtype=np.int64)
        self._prev_reward = np.zeros(num_envs, np.float32)
        self._returns = np.zeros(num_envs)

    def observation_spec(self) -> dict[str, specs.BoundedArray]:
        return self._spec_env.observation_spec()

    def action_spec(self) -> specs.DiscreteArray:
        return self._spec_env.action_spec()

    def known_p(self) -> np.ndarray:
        """The known arms' p for episodes starting now (the family's p after the warm-up)."""
        if self.known_p_start is None or self.frames >= self.warmup_frames:
            return self._known_target
        frac = self.frames / self.warmup_frames
        return self.known_p_start + frac * (self._known_target - self.known_p_start)

    def _sample_probs(self, idx: np.ndarray) -> None:
        for i in idx:
            self.probs[i] = self.family.sample_probs(self._rng)
        if self.known_p_start is not None and self._known.any() and len(idx):
            self.probs[np.ix_(idx, np.flatnonzero(self._known))] = self.known_p()[self._known]

    def _observation(self) -> dict[str, np.ndarray]:
        n, h = self.family.n_arms, self.family.horizon
        one_hot = np.zeros((self.num_envs, n), np.float32)
        has_prev = self._prev_action >= 0
        one_hot[np.flatnonzero(has_prev), self._prev_action[has_prev]] = 1.0
        trial = np.zeros((self.num_envs, 3), np.float32)
        trial[:, 1] = 1.0
        trial[:, 2] = (h - self.t) / h
        return {"prev_action": one_hot, "prev_reward": self._prev_reward[:, None].copy(),
                "trial": trial}

    def reset(self) -> dict[str, np.ndarray]:
        self._sample_probs(np.arange(self.num_envs))
        self.t[:] = 0
        self._prev_action[:] = -1
        self._prev_reward[:] = 0.0
        self._returns[:] = 0.0
        return self._observation()

    def step(self, actions: np.ndarray) -> BatchStep:
        actions = np.asarray(actions, dtype=np.int64)
        n = self.family.n_arms
        if actions.shape != (self.num_envs,) or actions.min() < 0 or actions.max() >= n:
            raise ValueError(f"actions must be ({self.num_envs},) arm indices in [0, {n})")
        p = self.probs[np.arange(self.num_envs), actions]
        reward = (self._rng.random(self.num_envs) < p).astype(np.float32)
        self.t += 1
        self.frames += self.num_envs
        self._returns += reward
        self._prev_action[:] = actions
        self._prev_reward[:] = reward
        done = self.t >= self.family.horizon
        episodes = [EpisodeRecord(episode_return=float(self._returns[i]), length=int(self.t[i]),
                                  env=int(i)) for i in np.flatnonzero(done)]
        if done.any():
            idx = np.flatnonzero(done)
            self._sample_probs(idx)
            self.t[idx] = 0
            self._prev_action[idx] = -1
            self._prev_reward[idx] = 0.0
            self._returns[idx] = 0.0
        discount = np.where(done, 0.0, 1.0).astype(np.float32)
        return BatchStep(self._observation(), reward, discount, done.copy(), episodes)

    def state_dict(self) -> dict[str, Any]:
        return {"probs": self.probs.copy(), "t": self.t.copy(),
                "prev_action": self._prev_action.copy(), "prev_reward": self._prev_reward.copy(),
                "returns": self._returns.copy(), "frames": self.frames,
                "rng": copy.deepcopy(self._rng.bit_generator.state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.probs[:] = state["probs"]
        self.t[:] = state["t"]
        self._prev_action[:] = state["prev_action"]
        self._prev_reward[:] = state["prev_reward"]
        self._returns[:] = state["returns"]
        self.frames = int(state.get("frames", 0))
        self._rng.bit_generator.state = copy.deepcopy(state["rng"])

    def close(self) -> None:
        pass


__all__ = ["VectorBandit"]
