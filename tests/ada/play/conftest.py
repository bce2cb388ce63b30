"""An expert-played probe episode, as the play tests' reference: its actions are what a
scripted player presses through the page, its rewards what the recording must replay to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from dm_env import specs

from ada.eval.jobs import Job, StepInfo, run_jobs
from ada.play.recording import Recording
from ada.policies import make_policy
from worlds.avatar import NOOP, NUM_ACTIONS
from worlds.probes import load_probe
from worlds.task import Task, with_episode

PROBE = "see_goal"


@dataclass(frozen=True)
class ExpertRun:
    task: Task
    actions: list[int]
    rewards: list[float]


def expert_run(task: Task, seed: int = 0) -> ExpertRun:
    actions: list[int] = []
    rewards: list[float] = []
    spec = specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")
    run_jobs([task], [Job(0, 0, seed)], make_policy("expert", spec, noop_index=NOOP),
             image_size=16, batch_size=1, on_step=lambda s: actions.append(s.action),
             after_step=lambda slot, env, ts, a: a is not None and rewards.append(
                 float(ts.reward or 0.0)))
    return ExpertRun(task, actions, rewards)


@pytest.fixture(scope="session")
def probe_task() -> Task:
    """A probe the expert solves quickly, cut to 2 trials of 40 steps."""
    return with_episode(load_probe(PROBE), 2, 40)


@pytest.fixture(scope="session")
def expert_episode(probe_task: Task) -> ExpertRun:
    run = expert_run(probe_task)
    assert sum(run.rewards) > 0, "the reference episode must earn reward"
    return run


def _recording(run: ExpertRun, player_kind: str = "scripted", practice: bool = False) -> Recording:
    ep = run.task.episode
    n = ep.trial_steps
    return Recording(
        player="expert-through-test", player_kind=player_kind, task=run.task.to_dict(),
        task_id=run.task.task_id, env_seed=0, trials=ep.trials, trial_steps=n,
        control_hz=ep.control_hz, actions=list(run.actions), rewards=list(run.rewards),
        trial_starts=[i * n for i in range(ep.trials)],
        trial_returns=[sum(run.rewards[i * n:(i + 1) * n]) for i in range(ep.trials)],
        step_seconds=[0.1] * len(run.actions), pause_seconds=[1.0] * ep.trials,
        practice=practice)


@pytest.fixture(scope="session")
def make_recording():
    """A valid recording of an expert run, labelled scripted (it was not a person)."""
    return _recording


__all__ = ["ExpertRun", "StepInfo", "expert_run"]
