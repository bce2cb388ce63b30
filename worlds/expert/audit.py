"""What the generator emits, as the expert finds it: which tasks it can solve, and why not.

`audit_task` plays trial 1 of one task with the expert (no rendering: the expert reads the
true state, and `see` is decided by visibility rays, not pixels) and records whether a symbolic
plan exists from the initial objects, whether and when the goal first held, the fraction of the
trial it held, the plan length, the expert's planning time per step next to the env's step time,
and for a failure its cause as `worlds.expert.TrialReport.cause` names it. `summarise` turns
many of these into the rates and the cause table that `tools/audit_tasks.py` prints.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from worlds.avatar import MOVE_SPEED
from worlds.env import WorldEnv
from worlds.expert.expert import Expert
from worlds.expert.symbolic import has_plan
from worlds.task import Task, with_episode


@dataclass(frozen=True)
class TaskAudit:
    """The expert's trial 1 on one task."""

    name: str
    task_id: str
    has_plan: bool
    plan_steps: int | None
    solved: bool
    first_goal_step: int | None  # control step (0-based) at whose end the goal first held
    held_fraction: float  # fraction of the trial's steps at whose end the goal held
    trial_steps: int
    cause: str | None  # why it never reached the goal (None when it did)
    plan_ms: float  # mean expert decision time per control step
    env_ms: float  # mean env step time (physics, rules, goal; no rendering)
    physics_warnings: int
    load: float | None  # the expert's plan estimate over the metres the trial lets it walk


def walk_capacity(task: Task) -> float:
    """Metres the avatar covers walking straight for one whole trial of `task`."""
    seconds = task.episode.trial_steps / task.episode.control_hz
    return seconds * MOVE_SPEED * task.world.dynamics.avatar_speed


def audit_task(name: str, task: Task, env: WorldEnv | None = None) -> TaskAudit:
    """Plays trial 1 of `task` with the expert in `env` (built, unrendered, if not given)."""
    one = with_episode(task, 1, None)
    own = env is None
    env = env if env is not None else WorldEnv(one, image_size=8, render=False)
    try:
        env.set_task(one)
        env.reset()
        expert = Expert(env)
        estimate = expert.estimate()
        first, held, plan_s, env_s = None, 0, 0.0, 0.0
        steps = one.episode.trial_steps
        for t in range(steps):
            t0 = time.perf_counter()
            action = expert.act()
            t1 = time.perf_counter()
            env.step(action)
            plan_s += t1 - t0
            env_s += time.perf_counter() - t1
            if env.goal_holds:
                held += 1
                if first is None:
                    first = t
        report = expert.reports[0] if expert.reports else None
        planned = has_plan(one)
        cause = None if first is not None else (report.cause() if report else "no_plan")
        return TaskAudit(
            name=name, task_id=task.task_id, has_plan=planned,
            plan_steps=report.plan_steps if report else None, solved=first is not None,
            first_goal_step=first, held_fraction=held / steps, trial_steps=steps, cause=cause,
            plan_ms=1e3 * plan_s / steps, env_ms=1e3 * env_s / steps,
            physics_warnings=env.physics_warnings,
            load=None if estimate is None else estimate / walk_capacity(one))
    finally:
        if own:
            env.close()


def audit_tasks(named: Iterable[tuple[str, Task]]) -> list[TaskAudit]:
    """`audit_task` over many tasks, reusing one env (a task switch writes arrays only)."""
    env: WorldEnv | None = None
    out = []
    try:
        for name, task in named:
            if env is None:
                env = WorldEnv(with_episode(task, 1, None), image_size=8, render=False)
            out.append(audit_task(name, task, env))
    finally:
        if env is not None:
            env.close()
    return out


def summarise(audits: list[TaskAudit]) -> dict[str, Any]:
    """Rates over the audited tasks, the failure causes, and the expert's cost per step."""
    n = len(audits)
    if n == 0:
        raise ValueError("audits: nothing to summarise")
    solved = [a for a in audits if a.solved]
    firsts = sorted(a.first_goal_step for a in solved if a.first_goal_step is not None)
    return {
        "tasks": n,
        "with_plan": sum(a.has_plan for a in audits),
        "solved": len(solved),
        "solved_fraction": len(solved) / n,
        "median_first_goal_step": firsts[len(firsts) // 2] if firsts else None,
        "mean_held_fraction": sum(a.held_fraction for a in audits) / n,
        "causes": dict(Counter(a.cause for a in audits if a.cause is not None).most_common()),
        "plan_ms_per_step": sum(a.plan_ms for a in audits) / n,
        "env_ms_per_step": sum(a.env_ms for a in audits) / n,
        "physics_warnings": sum(a.physics_warnings for a in audits),
        "by_load": by_load(audits),
    }


LOAD_BUCKETS = ((0.0, 0.5), (0.5, 0.7), (0.7, 1.0), (1.0, float("inf")))


def by_load(audits: list[TaskAudit]) -> list[dict[str, Any]]:
    """Tasks and solved tasks per bucket of `load` (the expert's plan estimate, metres walked
    plus a fixed cost per plan step, over the metres a trial lets it walk): how much of a
    failure rate is tasks too long for their trial."""
    out = []
    for lo, hi in LOAD_BUCKETS:
        inside = [a for a in audits if a.load is not None and lo <= a.load < hi]
        out.append({"load": [lo, hi], "tasks": len(inside),
                    "solved": sum(a.solved for a in inside)})
    return out


def audit_dict(audits: list[TaskAudit]) -> dict[str, Any]:
    """The JSON record: the summary and one row per task."""
    return {"summary": summarise(audits), "tasks": [asdict(a) for a in audits]}


__all__ = ["LOAD_BUCKETS", "TaskAudit", "audit_dict", "audit_task", "audit_tasks", "by_load",
           "summarise", "walk_capacity"]
