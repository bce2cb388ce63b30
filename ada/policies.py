"""The minimal policy interface shared by the video tool, evaluation and (later) learned agents.

A policy maps one dm_env observation to one discrete action and threads an explicit recurrent
state, so that a memory-based agent (a Transformer-XL keeping its memory across the trials of an
episode) and a memoryless baseline are driven by the same loop:

    state = policy.initial_state(1)
    ts = env.reset()
    while not ts.last():
        action, state = policy.act(ts.observation, state, ts.first(), rng)
        ts = env.step(action)

`first` is True on the first observation of an episode (not of a trial): it is where a memory
agent must clear its memory. A learned agent implements the same two methods; nothing here knows
about tensors, so this module stays free of torch and cheap to import.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

POLICY_NAMES: tuple[str, ...] = ("random", "noop")


@runtime_checkable
class Policy(Protocol):
    """What the episode loops need from an actor: an initial state and one step of acting."""

    def initial_state(self, batch_size: int) -> Any:
        """The recurrent state at the start of an episode (None for memoryless policies)."""
        ...

    def act(self, timestep_observation: dict[str, np.ndarray], state: Any, first: bool,
            rng: np.random.Generator) -> tuple[int, Any]:
        """Chooses an action for one observation; returns (action, next state)."""
        ...


class RandomPolicy:
    """Uniform over the action set: the floor every learned agent must beat, and the cheapest
    way to exercise an environment end to end."""

    def __init__(self, num_actions: int) -> None:
        if num_actions < 1:
            raise ValueError(f"num_actions: {num_actions!r} must be >= 1")
        self.num_actions = int(num_actions)

    def initial_state(self, batch_size: int) -> None:
        return None

    def act(self, timestep_observation: dict[str, np.ndarray], state: Any, first: bool,
            rng: np.random.Generator) -> tuple[int, Any]:
        return int(rng.integers(self.num_actions)), state


class NoopPolicy:
    """Always the no-op action: shows what the world does on its own (rules firing without the
    agent, objects settling) and gives a deterministic video for checking rendering."""

    def __init__(self, noop_index: int = 0) -> None:
        if noop_index < 0:
            raise ValueError(f"noop_index: {noop_index!r} must be >= 0")
        self.noop_index = int(noop_index)

    def initial_state(self, batch_size: int) -> None:
        return None

    def act(self, timestep_observation: dict[str, np.ndarray], state: Any, first: bool,
            rng: np.random.Generator) -> tuple[int, Any]:
        return self.noop_index, state


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
    if not 0 <= noop_index < num_actions:
        raise ValueError(f"noop_index: {noop_index!r} is not in [0, {int(num_actions) - 1}]")
    return NoopPolicy(noop_index)
