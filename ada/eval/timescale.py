"""Human-timescale figures: how many trials, and how many seconds of play, until a policy first
succeeds on a task, and what it scores after each minute of play.

"Adapts as fast as a person" is a statement about time, so these are measured the same way for
every player, agent, baselines and people: on the reward of every step of the episode, in
game time (a step lasts 1 / control_hz seconds, the rate at which a person plays the page), so
a person's pauses to read the goal between trials do not count against them and the agent's
compute speed does not count for it. A success is a step on which the goal holds (reward > 0).

Per task, the value is the median over its episodes (players, for people); across tasks the
median is taken with never-solved tasks counted as infinitely slow, so the median is reported
as None ("not reached") when half the tasks or more were never solved. `score_after_minute[m]`
is, per task, the fraction of steps rewarded in the first m minutes of play (the whole
episode when it is shorter), then mean and median across tasks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from worlds.task import Task


def first_success(rewards: np.ndarray, trial_steps: int, control_hz: int
                  ) -> tuple[float, float]:
    """(trial, seconds) of the first rewarded step: trial 1-based, seconds of play up to and
    including that step; (inf, inf) if no step was rewarded."""
    hits = np.flatnonzero(np.asarray(rewards) > 0)
    if not len(hits):
        return math.inf, math.inf
    t = int(hits[0])
    return float(t // trial_steps + 1), (t + 1) / control_hz


def score_after(rewards: np.ndarray, minutes: int, control_hz: int) -> float:
    """The fraction of rewarded steps in the first `minutes` minutes of play."""
    r = np.asarray(rewards, np.float64)[: minutes * 60 * control_hz]
    return float((r > 0).mean()) if len(r) else 0.0


def _median(values: Sequence[float]) -> float | None:
    m = float(np.median(values)) if len(values) else math.inf
    return None if math.isinf(m) else m


def timescale(tasks: Sequence[Task], episodes: Sequence[Sequence[np.ndarray]]
              ) -> dict[str, Any]:
    """The figures of one policy; `episodes[i]` are the per-step rewards of task i's episodes
    (tasks without any are left out, as people play only some tasks)."""
    trials, seconds, per_task = [], [], []
    for task, eps in zip(tasks, episodes, strict=True):
        if not eps:
            continue
        ep = task.episode
        firsts = [first_success(r, ep.trial_steps, ep.control_hz) for r in eps]
        trials.append(float(np.median([f[0] for f in firsts])))
        seconds.append(float(np.median([f[1] for f in firsts])))
        per_task.append((ep, eps))
    n = len(trials)
    out: dict[str, Any] = {
        "trials_to_first_success": {"median": _median(trials), "solved": int(
            np.isfinite(trials).sum()), "n_tasks": n},
        "seconds_to_first_success": {"median": _median(seconds), "solved": int(
            np.isfinite(seconds).sum()), "n_tasks": n},
        "score_after_minute": []}
    if not n:
        return out
    longest = max(ep.trials * ep.trial_steps / ep.control_hz for ep, _ in per_task)
    for m in range(1, max(1, math.ceil(longest / 60)) + 1):
        s = [float(np.mean([score_after(r, m, ep.control_hz) for r in eps]))
             for ep, eps in per_task]
        out["score_after_minute"].append({"minute": m, "mean": float(np.mean(s)),
                                          "median": float(np.median(s)), "n_tasks": n})
    return out


def format_timescale(figures: dict[str, dict[str, Any]]) -> str:
    """One line per policy: median trials and seconds to the first success, solved tasks."""
    def show(x: float | None, unit: str) -> str:
        return "not reached" if x is None else f"{x:.3g}{unit}"

    lines = ["time to first success (game time, median over tasks; unsolved count as never):"]
    for p, f in figures.items():
        t, s = f["trials_to_first_success"], f["seconds_to_first_success"]
        after = ", ".join(f"{a['minute']} min {a['mean']:.3f}" for a in f["score_after_minute"])
        lines.append(f"  {p}: trial {show(t['median'], '')}, {show(s['median'], ' s')} of play; "
                     f"solved {t['solved']}/{t['n_tasks']} tasks; mean score after {after}")
    return "\n".join(lines)


__all__ = ["first_success", "format_timescale", "score_after", "timescale"]
