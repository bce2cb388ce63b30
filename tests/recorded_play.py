"""An expert-played probe episode, as the reference of the play and recorded-demo tests: its
actions are what a scripted player presses through the page, its rewards what a recording of
it must replay to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from dm_env import specs

from ada.eval.jobs import Job, run_jobs
from ada.play.recording import Recording
from ada.policies import make_policy
from worlds.avatar import NOOP, NUM_ACTIONS
from worlds.task import Task

PROBE = "see_goal"


@dataclass(frozen=True)
class ExpertRun:
    task: Task
    actions: list[int]
    rewards: list[float]


def expert_run(task: Task, seed: int = 0, policy: str = "expert") -> ExpertRun:
    """`policy` (the expert by default) playing `task` once: its actions and rewards."""
    actions: list[int] = []
    rewards: list[float] = []
    spec = specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")
    run_jobs([task], [Job(0, 0, seed)], make_policy(policy, spec, noop_index=NOOP),
             image_size=16, batch_size=1, on_step=lambda s: actions.append(s.action),
             after_step=lambda slot, env, ts, a: a is not None and rewards.append(
                 float(ts.reward or 0.0)))
    return ExpertRun(task, actions, rewards)


def recording_of(run: ExpertRun, player_kind: str = "scripted", practice: bool = False,
                 player: str = "expert-through-test") -> Recording:
    """`run` as a valid recording (scripted by default: no person played it)."""
    ep = run.task.episode
    n = ep.trial_steps
    return Recording(
        player=player, player_kind=player_kind, task=run.task.to_dict(),
        task_id=run.task.task_id, env_seed=0, trials=ep.trials, trial_steps=n,
        control_hz=ep.control_hz, actions=list(run.actions), rewards=list(run.rewards),
        trial_starts=[i * n for i in range(ep.trials)],
        trial_returns=[sum(run.rewards[i * n:(i + 1) * n]) for i in range(ep.trials)],
        step_seconds=[0.1] * len(run.actions), pause_seconds=[1.0] * ep.trials,
        practice=practice)


__all__ = ["PROBE", "ExpertRun", "expert_run", "recording_of"]
