"""Held-out evaluation on the lever family: the score a curriculum is judged by.

The agent plays fixed tasks (typically the held-out learnable ones, never trained on) for a
number of episodes each, acting as in training (sampling its policy, memory reset at every
episode). Results are grouped by the `task_id` the env reports for each finished episode, so
they cannot be attributed to the wrong task. Baselines are exact: the no-op policy scores
probs[0] per step, the uniformly random policy the mean of probs, and an oracle that knows the
good lever max(probs).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ada.acting import Rollout
from ada.agent_policy import AgentPolicy
from ada.bayes.levers import LeverTask
from ada.bayes.levers_vec import VectorLevers
from agents.agent import Agent


def evaluate_lever_agent(agent: Agent, tasks: list[LeverTask], episodes_per_task: int,
                         seed: int) -> dict[str, Any]:
    """Mean normalised score of the agent on `tasks` (each played `episodes_per_task` times),
    with the exact no-op, random and oracle scores of the same tasks."""
    if not tasks:
        raise ValueError("evaluate_lever_agent: no tasks")
    shapes = {(t.n_levers, t.horizon) for t in tasks}
    if len(shapes) != 1:
        raise ValueError(f"tasks mix lever counts/horizons {sorted(shapes)}; evaluate them "
                         "separately")
    n_levers, horizon = shapes.pop()
    by_id = {t.task_id: t for t in tasks}
    queue = [t for _ in range(episodes_per_task) for t in tasks]
    cursor = iter(queue + [tasks[0]] * len(tasks))  # envs restart once more after the last

    def source(_rng: np.random.Generator) -> LeverTask:
        return next(cursor)

    num_envs = len(tasks)
    env = VectorLevers(source, num_envs, n_levers, horizon, seed=seed)
    rollout = Rollout(env, AgentPolicy(agent), np.random.default_rng(seed))
    scores: dict[str, list[float]] = defaultdict(list)
    done = 0
    while done < len(queue):
        for ep in rollout.step().out.episodes:
            if done < len(queue):
                scores[str(ep.task_id)].append(ep.episode_return / horizon)
                done += 1
    env.close()
    per_task = {tid: float(np.mean(s)) for tid, s in scores.items()}
    agent_scores = np.array([per_task[t.task_id] for t in tasks if t.task_id in per_task])
    probs = [np.asarray(by_id[tid].probs) for tid in per_task]
    return {
        "tasks": len(per_task), "episodes": done,
        "agent": float(agent_scores.mean()),
        "agent_se": float(agent_scores.std(ddof=1) / np.sqrt(len(agent_scores)))
        if len(agent_scores) > 1 else 0.0,
        "agent_p20": float(np.quantile(agent_scores, 0.2)),
        "noop": float(np.mean([p[0] for p in probs])),
        "random": float(np.mean([p.mean() for p in probs])),
        "oracle": float(np.mean([p.max() for p in probs])),
    }


__all__ = ["evaluate_lever_agent"]
