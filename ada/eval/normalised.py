"""Expert-normalised scores: each task's score divided by what the expert scores on that task.

Raw scores (the fraction of a trial's steps on which the goal held) are not comparable across
tasks: a task whose goal takes long to reach caps every policy's score well below 1. Dividing
by the expert's score on the same task, as the AdA paper reports, puts every task on one scale
(1 = as good as the expert), so the median and low percentile across tasks say how close a
policy comes to solving the tasks rather than which tasks happen to be short.

The reference is the expert's LAST-trial score on the task (averaged over its episodes): the
expert is a privileged planner that does not need earlier trials to learn, and its last trial
is what an adapted agent is compared with. A task on which the expert scored 0 cannot be
divided by; it is left out and counted, never silently given a score.

Everything here is numpy on (tasks, trials) arrays of per-task scores (already averaged over
episodes), so it is cheap to import and exact to test. `ada.eval.trials.aggregate` calls
`normalised_rows` when "expert" is among the evaluated policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

EXPERT = "expert"  # the policy name whose scores are the reference
NORMALISED_FIELDS = ("policy", "trial", "mean", "median", "p20", "n_tasks", "n_excluded")
REFERENCE_TEXT = ("per-task score / the expert's last-trial score on that task; tasks where "
                  "the expert scored 0 are left out (expert_zero_tasks)")


def expert_reference(expert_per_task: np.ndarray) -> np.ndarray:
    """(tasks,) reference scores: the expert's last trial of each (tasks, trials) row."""
    x = np.asarray(expert_per_task, np.float64)
    if x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"expert scores: shape {x.shape} is not a non-empty (tasks, trials) "
                         "array")
    return x[:, -1]


def included_tasks(reference: np.ndarray) -> np.ndarray:
    """Boolean mask of the tasks that can be normalised: a positive reference. Scores are
    fractions of steps (>= 0), so the tasks left out are those where the expert scored 0."""
    return np.asarray(reference, np.float64) > 0


def normalise(per_task: Mapping[str, np.ndarray],
              reference: np.ndarray) -> dict[str, np.ndarray]:
    """policy -> (included tasks, trials) scores divided by the reference, row by row; the
    tasks with a zero reference are dropped (see `included_tasks`)."""
    ref = np.asarray(reference, np.float64)
    keep = included_tasks(ref)
    out: dict[str, np.ndarray] = {}
    for policy, s in per_task.items():
        s = np.asarray(s, np.float64)
        if s.ndim != 2 or s.shape[0] != len(ref):
            raise ValueError(f"scores[{policy!r}]: shape {s.shape} is not ({len(ref)}, trials):"
                             " every policy must play the tasks the expert played")
        out[policy] = s[keep] / ref[keep, None]
    return out


def _stat(values: np.ndarray, fn: Any, *args: Any) -> float | None:
    """A statistic over tasks, or None where no task was left to take it over."""
    return float(fn(values, *args)) if len(values) else None


def normalised_rows(per_task: Mapping[str, np.ndarray], p_low: int = 20,
                    expert: str = EXPERT) -> tuple[list[dict[str, Any]], list[int]]:
    """Per policy and trial, statistics across the included tasks of the normalised score,
    and the indices of the tasks left out (the expert scored 0 on them).

    Rows have the raw rows' keys (policy, trial, mean, median, p20, n_tasks; trial 1-based)
    plus n_excluded; with every task left out the statistics are None. Percentiles use
    numpy's default linear interpolation, as the raw ones do."""
    if expert not in per_task:
        raise ValueError(f"scores: no {expert!r} policy to normalise by (have "
                         f"{list(per_task)})")
    reference = expert_reference(per_task[expert])
    excluded = [int(i) for i in np.flatnonzero(~included_tasks(reference))]
    rows: list[dict[str, Any]] = []
    for policy, s in normalise(per_task, reference).items():
        for k in range(s.shape[1]):
            x = s[:, k]
            rows.append({"policy": policy, "trial": k + 1, "mean": _stat(x, np.mean),
                         "median": _stat(x, np.median), "p20": _stat(x, np.percentile, p_low),
                         "n_tasks": int(len(x)), "n_excluded": len(excluded)})
    return rows, excluded


def _tasks(n: int) -> str:
    return f"{n} task" if n == 1 else f"{n} tasks"


def format_normalised(rows: list[dict[str, Any]]) -> str:
    """policy x trial, each cell "median / p20" of the normalised score, under a header that
    says over how many tasks and how many were left out ("" if there are no rows)."""
    if not rows:
        return ""
    policies = list(dict.fromkeys(r["policy"] for r in rows))
    trials = max(r["trial"] for r in rows)
    n, m = rows[0]["n_tasks"], rows[0]["n_excluded"]

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    cell = {(r["policy"], r["trial"]): f"{fmt(r['median'])} / {fmt(r['p20'])}" for r in rows}
    pw = max(6, *(len(p) for p in policies))
    cw = max(7, *(len(c) for c in cell.values()))
    lines = [f"expert-normalised score per trial: median / p20 over {_tasks(n)} "
             f"({_tasks(m)} where the expert scored 0 left out)",
             "  ".join([f"{'policy':<{pw}}", *(f"{f'trial {k}':<{cw}}"
                                              for k in range(1, trials + 1))]).rstrip()]
    for p in policies:
        lines.append("  ".join([f"{p:<{pw}}", *(f"{cell.get((p, k), ''):<{cw}}"
                                               for k in range(1, trials + 1))]).rstrip())
    return "\n".join(lines)


__all__ = ["EXPERT", "NORMALISED_FIELDS", "REFERENCE_TEXT", "expert_reference",
           "format_normalised", "included_tasks", "normalise", "normalised_rows"]
