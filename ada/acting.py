"""The one acting path: a policy steps a batch of envs, one call per step, one way to sample.

Everything that plays episodes goes through `Rollout`: the training actors
(`ada.runtime.actor`), held-out evaluation (`ada.eval.trials`), the lever and bandit
evaluations (`ada.eval.levers`, `ada.eval.bandit`) and the video tool (`ada.render`). A
`Rollout` owns what persists between steps (the observation to act on, the `first` flags and
the policy's recurrent state) and each `step()` is

    policy.step(obs, state, first, rngs)  ->  env.step(actions)  ->  a `Transition`

with the env batch's auto-reset convention (`worlds.env_batch`): when an episode ends, the
next observation is already the first of the next episode and `first` marks it.

Actions are drawn by `sample_actions` only: Gumbel-max over the policy's logits (exact sampling
from their softmax) with uniforms from numpy Generators, so a run's whole randomness is in
states that checkpoint and replay. `rngs` is either one Generator for the whole batch (the
training actor: draws a (B, A) block per step) or one Generator per env (evaluation: an env's
actions do not depend on what else is in the batch, so an evaluated episode replays alone).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from worlds.env_batch import BatchStep, EnvBatch

Rngs = np.random.Generator | Sequence[np.random.Generator]


def uniforms(rngs: Rngs, batch: int, width: int) -> np.ndarray:
    """(batch, width) uniforms: one block from a single Generator, or a row per env's own."""
    if isinstance(rngs, np.random.Generator):
        return rngs.random((batch, width))
    if len(rngs) != batch:
        raise ValueError(f"rngs: {len(rngs)} generators for a batch of {batch}")
    return np.stack([rng.random(width) for rng in rngs]) if batch else np.zeros((0, width))


def sample_actions(logits: np.ndarray, rngs: Rngs, greedy: bool = False) -> np.ndarray:
    """(B,) actions from (B, A) logits: argmax if `greedy`, else Gumbel-max sampling."""
    logits = np.asarray(logits)
    if greedy:
        return logits.argmax(-1)
    u = uniforms(rngs, logits.shape[0], logits.shape[-1])
    return np.argmax(logits - np.log(-np.log(u + 1e-20) + 1e-20), axis=-1)


@dataclass
class PolicyStep:
    """One batched decision: actions (B,), the next state and, for learned policies, the
    logits (B, A) and values (B,) they came from (the learner and curricula need them)."""

    actions: np.ndarray
    state: Any
    logits: np.ndarray | None = None
    values: np.ndarray | None = None


@runtime_checkable
class Policy(Protocol):
    """What `Rollout` needs from anything that acts: agent, random, no-op, expert, demo."""

    def initial_state(self, batch_size: int) -> Any:
        """The recurrent state at the start of an episode (None for memoryless policies)."""
        ...

    def step(self, obs: Mapping[str, np.ndarray], state: Any, first: np.ndarray,
             rngs: Rngs) -> PolicyStep:
        """Acts on (B, ...) observations; `first` (B,) marks the first step of an episode
        (not of a trial), where a memory policy must forget the previous episode."""
        ...


@runtime_checkable
class PrivilegedPolicy(Protocol):
    """A policy that reads the true state of the envs it acts in (the expert): `Rollout`
    hands it the env batch's `envs` before the first step. It still acts only through the
    actions it returns."""

    def attach(self, envs: Sequence[Any]) -> None:
        ...


class SingleEnvActing:
    """`act` for one env on top of `step`: for callers that hold one observation dict."""

    def act(self: Any, observation: Mapping[str, np.ndarray], state: Any, first: bool,
            rng: np.random.Generator) -> tuple[int, Any]:
        obs = {k: np.asarray(v)[None] for k, v in observation.items()}
        out = self.step(obs, state, np.array([first], dtype=bool), [rng])
        return int(out.actions[0]), out.state


@dataclass
class Transition:
    """One step of a rollout: what was acted on, the decision, and what the env returned."""

    obs: dict[str, np.ndarray]
    first: np.ndarray
    decision: PolicyStep
    out: BatchStep
    decision_s: float = 0.0  # seconds the policy took (the rest of the step is the env's)


class Rollout:
    """A policy stepping an env batch (see the module docstring)."""

    def __init__(self, env: EnvBatch, policy: Policy, rngs: Rngs) -> None:
        self.env = env
        self.policy = policy
        self.rngs = rngs
        self.obs: dict[str, np.ndarray] | None = None
        self.first = np.ones(env.num_envs, dtype=bool)
        self.state: Any = policy.initial_state(env.num_envs)
        if isinstance(policy, PrivilegedPolicy):
            envs = getattr(env, "envs", None)
            if envs is None:
                raise ValueError(f"policy: {type(policy).__name__} reads the true state of "
                                 f"each env, and {type(env).__name__} does not expose its envs")
            policy.attach(envs)

    def reset(self) -> dict[str, np.ndarray]:
        """Start every env's episode afresh (the policy's state too)."""
        self.obs = self.env.reset()
        self.first = np.ones(self.env.num_envs, dtype=bool)
        self.state = self.policy.initial_state(self.env.num_envs)
        return self.obs

    def step(self) -> Transition:
        if self.obs is None:
            self.reset()
        assert self.obs is not None
        obs, first = self.obs, self.first
        t0 = time.perf_counter()
        decision = self.policy.step(obs, self.state, first, self.rngs)
        decision_s = time.perf_counter() - t0
        out = self.env.step(decision.actions)
        self.state = decision.state
        self.obs, self.first = out.obs, np.asarray(out.first, dtype=bool)
        return Transition(obs, first, decision, out, decision_s)


__all__ = ["Policy", "PolicyStep", "PrivilegedPolicy", "Rngs", "Rollout", "SingleEnvActing",
           "Transition", "sample_actions", "uniforms"]
