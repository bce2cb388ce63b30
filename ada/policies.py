"""The baseline policies (random, no-op, expert) and `make_policy`, which builds any by name.

Every policy implements `ada.acting.Policy` (batched `step`, explicit recurrent state) and so
is driven by the one acting loop, `ada.acting.Rollout`; `act` steps a single env. The learned
agent's policy is `ada.agent_policy.AgentPolicy`. The expert (`worlds.expert`) is privileged:
`Rollout` attaches it to the envs it acts in, and it plays only the 3D world. Nothing here knows
about tensors, so this module stays free of torch and cheap to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ada.acting import Policy, PolicyStep, Rngs, SingleEnvActing

POLICY_NAMES: tuple[str, ...] = ("random", "noop", "expert")


class RandomPolicy(SingleEnvActing):
    """Uniform over the action set: the floor every learned agent must beat, and the cheapest
    way to exercise an environment end to end."""

    def __init__(self, num_actions: int) -> None:
        if num_actions < 1:
            raise ValueError(f"num_actions: {num_actions!r} must be >= 1")
        self.num_actions = int(num_actions)

    def initial_state(self, batch_size: int) -> None:
        return None

    def step(self, obs: Mapping[str, np.ndarray], state: Any, first: np.ndarray,
             rngs: Rngs) -> PolicyStep:
        if isinstance(rngs, np.random.Generator):
            actions = rngs.integers(self.num_actions, size=len(first))
        else:
            actions = np.array([rng.integers(self.num_actions) for rng in rngs], np.int64)
        return PolicyStep(np.asarray(actions, np.int64), state)


class NoopPolicy(SingleEnvActing):
    """Always the no-op action: shows what the world does on its own (rules firing without the
    agent, objects settling) and gives a deterministic video for checking rendering."""

    def __init__(self, noop_index: int = 0) -> None:
        if noop_index < 0:
            raise ValueError(f"noop_index: {noop_index!r} must be >= 0")
        self.noop_index = int(noop_index)

    def initial_state(self, batch_size: int) -> None:
        return None

    def step(self, obs: Mapping[str, np.ndarray], state: Any, first: np.ndarray,
             rngs: Rngs) -> PolicyStep:
        return PolicyStep(np.full(len(first), self.noop_index, np.int64), state)


class ExpertPolicy(SingleEnvActing):
    """The privileged planner of `worlds.expert`, one `Expert` per env of the batch it is
    attached to. Its choices are deterministic given the world: it uses no RNG, so its
    episodes replay exactly from the job seed (which fixes the env)."""

    def __init__(self) -> None:
        self.experts: list[Any] = []

    def attach(self, envs: Any) -> None:
        # imported here so that importing the baselines does not load MuJoCo
        from worlds.env import WorldEnv
        from worlds.expert import Expert

        if not all(isinstance(e, WorldEnv) for e in envs):
            raise ValueError("policy: 'expert' plays only the 3D world (env.kind=world)")
        self.experts = [Expert(e) for e in envs]

    def initial_state(self, batch_size: int) -> None:
        return None

    def step(self, obs: Mapping[str, np.ndarray], state: Any, first: np.ndarray,
             rngs: Rngs) -> PolicyStep:
        if len(self.experts) != len(first):
            raise RuntimeError(f"expert: attached to {len(self.experts)} envs, asked to act "
                               f"for {len(first)} (run it through ada.acting.Rollout)")
        return PolicyStep(np.array([e.act() for e in self.experts], np.int64), state)


def make_policy(name: str, action_spec: Any, *, noop_index: int = 0) -> Policy:
    """Builds a named policy for a discrete `action_spec` (a dm_env DiscreteArray, or anything
    with `num_values`). `noop_index` is the environment's no-op action (0 in worlds.avatar)."""
    if name not in POLICY_NAMES:
        raise ValueError(f"policy: {name!r} is not one of {list(POLICY_NAMES)}")
    num_actions = getattr(action_spec, "num_values", None)
    if not isinstance(num_actions, (int, np.integer)):
        raise ValueError(f"action_spec: {action_spec!r} is not a discrete spec with num_values")
    if name == "random":
        return RandomPolicy(int(num_actions))
    if name == "expert":
        return ExpertPolicy()
    if not 0 <= noop_index < num_actions:
        raise ValueError(f"noop_index: {noop_index!r} is not in [0, {int(num_actions) - 1}]")
    return NoopPolicy(noop_index)
