"""First-person demonstration prompting: a demonstrator plays the first trial(s), the agent
watches through its own inputs, and acts alone from then on.

AdA prompted its agent this way: a demonstrator took over the avatar for trial 1 while the agent
kept receiving its usual observations and conditioning its memory on them; from trial 2 on the
agent played alone. `PromptedPolicy` is that, as one `ada.acting.Policy`, so every acting path
(evaluation jobs, videos, training actors) can prompt without knowing it:

* at every step the agent's own `step` runs on the observations (first-person `rgb`, `goal`,
  `rules`, `proprio`, `trial`, and `prev_action` / `prev_reward`, which the env fills with what
  was executed, so during the demonstration they carry the demonstrator's action and reward):
  its memory holds the demonstration exactly as it would hold its own play;
* in a demonstration trial (the env's trial index, `obs["trial"][:, 0]`, below `demo_trials`)
  the executed action is the demonstrator's and the agent's own is discarded; from then on it
  is the agent's. Nothing is added to the observation: the agent is told nothing about who
  acts, as in AdA.

The demonstrator is any `Policy`: the privileged expert (`PromptedPolicy` then forwards
`attach`, see `prompted`), random or no-op, or `ReplayDemonstrator`, which replays a recorded
action sequence and checks, step by step, that the env pays the recorded rewards
(`TaskReplayDemonstrator` picks, per episode, a recording of the task each env is playing). The
returned `PolicyStep` keeps the agent's logits and values (what the learner would see) and
`demo` marks the envs whose action came from the demonstrator at that step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ada.acting import Policy, PolicyStep, PrivilegedPolicy, Rngs, SingleEnvActing

REWARD_TOLERANCE = 1e-6  # a replayed step's reward must match the recorded one this closely


def demo_rows(obs: Mapping[str, np.ndarray], demo_trials: int) -> np.ndarray:
    """(B,) bool: the envs whose current step is in a demonstration trial."""
    return np.asarray(obs["trial"])[:, 0] < demo_trials


@dataclass
class PromptedStep(PolicyStep):
    """A `PolicyStep` with `demo` (B,) bool: True where the demonstrator's action was taken."""

    demo: np.ndarray | None = None


class PromptedPolicy(SingleEnvActing):
    """`agent` prompted by `demonstrator` for the first `demo_trials` trials of each episode
    (see the module docstring). The state is the pair (agent's, demonstrator's)."""

    def __init__(self, agent: Policy, demonstrator: Policy, demo_trials: int = 1) -> None:
        if isinstance(demo_trials, bool) or not isinstance(demo_trials, int) or demo_trials < 1:
            raise ValueError(f"demo_trials: {demo_trials!r} must be an integer >= 1")
        self.agent = agent
        self.demonstrator = demonstrator
        self.demo_trials = demo_trials
        # (B,) bool, which envs are prompted in their current episode; None: every env. The
        # training actor sets it per episode (a fraction of episodes shows a demonstration).
        self.active: np.ndarray | None = None

    def initial_state(self, batch_size: int) -> tuple[Any, Any]:
        return (self.agent.initial_state(batch_size),
                self.demonstrator.initial_state(batch_size))

    def step(self, obs: Mapping[str, np.ndarray], state: tuple[Any, Any] | None,
             first: np.ndarray, rngs: Rngs) -> PromptedStep:
        if state is None:
            state = self.initial_state(len(first))
        agent_state, demo_state = state
        own = self.agent.step(obs, agent_state, first, rngs)
        demo = demo_rows(obs, self.demo_trials)
        if self.active is not None:
            demo = demo & self.active
        actions = np.asarray(own.actions, np.int64).copy()
        if demo.any():
            shown = self.demonstrator.step(obs, demo_state, first, rngs)
            demo_state = shown.state
            actions[demo] = np.asarray(shown.actions, np.int64)[demo]
        return PromptedStep(actions, (own.state, demo_state), own.logits, own.values, demo)


class PrivilegedPromptedPolicy(PromptedPolicy):
    """A `PromptedPolicy` whose demonstrator reads the true state (the expert): `Rollout`
    attaches it to the envs through this class's `attach`."""

    def attach(self, envs: Sequence[Any]) -> None:
        assert isinstance(self.demonstrator, PrivilegedPolicy)
        self.demonstrator.attach(envs)


def prompted(agent: Policy, demonstrator: Policy, demo_trials: int = 1) -> PromptedPolicy:
    """`agent` prompted by `demonstrator`; privileged demonstrators get attached to the envs."""
    cls = PrivilegedPromptedPolicy if isinstance(demonstrator, PrivilegedPolicy) \
        else PromptedPolicy
    return cls(agent, demonstrator, demo_trials)


class ReplayMismatchError(RuntimeError):
    """A replayed demonstration's reward differs from the recorded one (another task, seed or
    code version than the recording's)."""


class ReplayDemonstrator(SingleEnvActing):
    """Replays one recorded action sequence per env of the batch (the same recording for every
    env by default), checking each step's reward against the recording.

    `actions[t]` is the action taken at step t of the episode and `rewards[t]` the reward it
    was paid; the reward paid for step t arrives as `obs["prev_reward"]` at step t + 1, where
    it is checked (`ReplayMismatchError` names the step), except for the last step of a trial,
    whose reward the env does not carry into the next trial (`ada.play.recording.replay` checks
    every step). Past the recording's end it raises: a
    demonstration must cover every step it is asked to play."""

    def __init__(self, actions: Sequence[int] | Sequence[Sequence[int]],
                 rewards: Sequence[float] | Sequence[Sequence[float]] | None = None,
                 names: Sequence[str] | None = None) -> None:
        acts = [np.asarray(a, np.int64) for a in _per_env(actions)]
        self.actions = acts
        # what an error calls each recording (who played it), "the recording" by default
        self.names = list(names) if names is not None else ["the recording"] * len(acts)
        if len(self.names) != len(acts):
            raise ValueError(f"names: {len(self.names)} names for {len(acts)} recordings")
        self.rewards = None if rewards is None else [np.asarray(r, np.float64)
                                                     for r in _per_env(rewards)]
        if self.rewards is not None:
            for i, (a, r) in enumerate(zip(self.actions, self.rewards, strict=True)):
                if len(a) != len(r):
                    raise ValueError(f"rewards[{i}]: {len(r)} rewards for {len(a)} actions")

    def initial_state(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(the next step of each env's recording, which recording each env plays)."""
        if len(self.actions) not in (1, batch_size):
            raise ValueError(f"actions: {len(self.actions)} recordings for a batch of "
                             f"{batch_size}")
        return np.zeros(batch_size, np.int64), np.zeros(batch_size, np.int64)

    def _choose(self, env: int) -> int:
        """The recording env `env` plays in the episode starting now."""
        return 0 if len(self.actions) == 1 else env

    def step(self, obs: Mapping[str, np.ndarray], state: tuple[np.ndarray, np.ndarray] | None,
             first: np.ndarray, rngs: Rngs) -> PolicyStep:
        if state is None:
            state = self.initial_state(len(first))
        t, chosen = np.asarray(state[0]).copy(), np.asarray(state[1]).copy()
        for i in np.flatnonzero(np.asarray(first, bool)):
            t[i], chosen[i] = 0, self._choose(int(i))
        prev_reward = np.asarray(obs["prev_reward"], np.float64)
        # a trial's first step carries no previous reward (the env resets it at every trial
        # start), so the reward of a trial's last step cannot be checked here
        trial_start = np.asarray(obs["trial"])[:, 2] >= 1.0
        out = np.zeros(len(first), np.int64)
        for i in range(len(first)):
            r = int(chosen[i])
            if self.rewards is not None and t[i] > 0 and not trial_start[i]:
                want = self.rewards[r][t[i] - 1]
                if abs(prev_reward[i] - want) > REWARD_TOLERANCE:
                    raise ReplayMismatchError(
                        f"demo: step {int(t[i]) - 1} of {self.names[r]} paid {prev_reward[i]:g} "
                        f"in replay, the recording says {want:g} (another task, seed or "
                        "version?)")
            if t[i] >= len(self.actions[r]):
                raise ReplayMismatchError(f"demo: {self.names[r]} has {len(self.actions[r])} "
                                          f"steps, step {int(t[i])} was asked for")
            out[i] = self.actions[r][t[i]]
        return PolicyStep(out, (t + 1, chosen))


class TaskReplayDemonstrator(ReplayDemonstrator):
    """Replays, in each env, a recording of the task that env is playing: for evaluations whose
    envs move from task to task (`ada.eval.jobs`), where no fixed env-to-recording map exists.

    `recordings[key]` holds the (actions, rewards) of every recording of one task, `key(task)`
    the key of a task (see `ada.play.recording.demo_key`), `names[key]` what errors call them.
    The demonstrator reads each env's current task (the envs are attached, as the expert's
    are, but only `env.task` is read) at the first step of every episode; the n-th episode
    started on a task plays recording n mod (recordings of that task), in the order episodes
    start, so repeated episodes of a task cycle through its players. `used` lists (key,
    recording index) in that order."""

    def __init__(self, recordings: Mapping[str, Sequence[tuple[Sequence[int], Sequence[float]]]],
                 key: Callable[[Any], str],
                 names: Mapping[str, Sequence[str]] | None = None) -> None:
        if not recordings or not all(recordings.values()):
            raise ValueError("recordings: no recordings to replay")
        self.keys = list(recordings)
        self.first_of: dict[str, int] = {}
        pairs: list[tuple[Sequence[int], Sequence[float]]] = []
        labels: list[str] = []
        for k in self.keys:
            self.first_of[k] = len(pairs)
            pairs.extend(recordings[k])
            given = list(names[k]) if names is not None else []
            labels += given if len(given) == len(recordings[k]) else [
                f"recording {n} of task key {k}" for n in range(len(recordings[k]))]
        super().__init__([a for a, _ in pairs], [r for _, r in pairs], labels)
        self.counts = {k: len(recordings[k]) for k in self.keys}
        self.key = key
        self.envs: Sequence[Any] = ()
        self.started = dict.fromkeys(self.keys, 0)
        self.used: list[tuple[str, int]] = []

    def attach(self, envs: Sequence[Any]) -> None:
        self.envs = envs

    def initial_state(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(batch_size, np.int64), np.zeros(batch_size, np.int64)

    def _choose(self, env: int) -> int:
        if not self.envs:
            raise ValueError("TaskReplayDemonstrator: attach the envs before stepping")
        k = self.key(self.envs[env].task)
        if k not in self.counts:
            raise ReplayMismatchError(f"demo: no recording of the task in env {env} (key {k})")
        n = self.started[k] % self.counts[k]
        self.started[k] += 1
        self.used.append((k, n))
        return self.first_of[k] + n


def _per_env(x: Sequence[Any]) -> list[Sequence[Any]]:
    """One sequence, or one per env."""
    if len(x) and isinstance(x[0], (Sequence, np.ndarray)):
        return list(x)
    return [x]


__all__ = ["PrivilegedPromptedPolicy", "PromptedPolicy", "PromptedStep", "ReplayDemonstrator",
           "ReplayMismatchError", "TaskReplayDemonstrator", "demo_rows", "prompted"]
