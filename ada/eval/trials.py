"""Multi-trial evaluation: does a policy do better in trial k than in trial 1 of the same task?

Adaptation is the whole point of the agent: within one episode the world resets at every trial
boundary but the agent's memory does not, so a meta-learned agent should score more in later
trials. This module measures exactly that, and nothing here is specific to the learned agent:

* `evaluate_policies` plays every task (its episode overridden to `trials` trials) with every
  policy on the SAME seeds: each (task, episode) pair is a job (`ada.eval.jobs`) whose seed
  fixes both the env's and the policy's random stream, so the agent and the baselines face
  identical episodes and `ada.render.render_episode(task, policy, seed=job_seed)` replays an
  evaluated episode. Any `ada.acting.Policy` plays (the agent is `ada.agent_policy.AgentPolicy`:
  memory reset at the first step of every episode, carried across the trials inside it).
* `aggregate` turns per-trial scores (trial return / trial_steps: the fraction of steps on which
  the goal held, comparable across tasks of different lengths) into mean, median and 20th
  percentile across tasks per policy and trial, plus the gain from trial 1 to trial k. The
  median and p20 are there because a mean over tasks can hide that most tasks did not improve.
  When "expert" is among the policies, it also gives the expert-normalised scores
  (`ada.eval.normalised`: each task's score over the expert's last-trial score on it).
* `write_results` writes results.json, per_trial.csv, per_task.csv and plot.png, plus
  per_trial_normalised.csv when the expert was evaluated.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ada.acting import Policy
from ada.eval.jobs import Job, job_seed, run_jobs
from ada.eval.normalised import (
    EXPERT,
    NORMALISED_FIELDS,
    REFERENCE_TEXT,
    expert_reference,
    normalised_rows,
)
from ada.policies import make_policy
from worlds.avatar import NOOP, NUM_ACTIONS
from worlds.task import Task, with_episode

P_LOW = 20  # the low percentile reported next to mean and median


# ---- results ---------------------------------------------------------------------------------
@dataclass
class EvalResults:
    """Everything one evaluation produced. `returns[policy]` is (n_tasks, episodes, trials);
    `tasks` are the tasks as evaluated (episode spec overridden) and `seeds[t, e]` the job
    seeds, the same for every policy."""

    names: list[str]
    tasks: list[Task]
    policies: list[str]
    returns: dict[str, np.ndarray]
    seeds: np.ndarray
    trials: int
    episodes_per_task: int
    seed: int
    image_size: int
    meta: dict[str, Any] = field(default_factory=dict)
    # step_rewards[policy][task][episode]: the reward at every step of that episode
    step_rewards: dict[str, list[list[np.ndarray]]] = field(default_factory=dict)

    @property
    def trial_steps(self) -> np.ndarray:
        return np.array([t.episode.trial_steps for t in self.tasks], np.float64)

    def scores(self, policy: str) -> np.ndarray:
        """(n_tasks, episodes, trials) fraction of each trial's steps on which the goal held."""
        return self.returns[policy] / self.trial_steps[:, None, None]

    def all_scores(self) -> dict[str, np.ndarray]:
        return {p: self.scores(p) for p in self.policies}


@dataclass(frozen=True)
class Summary:
    """`rows`: one dict per (policy, trial) with mean, median, p20 and n_tasks (trial is
    1-based); `gain[policy]`: mean score in the last trial minus mean score in trial 1;
    `versus[other]`: the first policy (the agent) against each other policy, paired by task
    (see `paired_difference`). `normalised`: the rows' statistics of the expert-normalised
    score, with n_excluded (`ada.eval.normalised.normalised_rows`), and `expert_zero` the
    indices of the tasks left out of them; both empty unless "expert" was evaluated."""

    rows: list[dict[str, Any]]
    gain: dict[str, float]
    versus: dict[str, dict[str, float]] = field(default_factory=dict)
    normalised: list[dict[str, Any]] = field(default_factory=list)
    expert_zero: list[int] = field(default_factory=list)


def paired_difference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Policy a minus policy b on the same tasks and seeds, each task's score averaged over
    its trials: mean, paired standard error, and how many tasks a scored higher / lower.

    Sparse-reward tasks give most tasks a 0 for every policy, so the means alone hide whether
    a gap is a few lucky tasks or a consistent edge; the paired s.e. and the win/loss counts
    say which, and they are what "clearly beats random" is judged on."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"paired_difference: shapes {a.shape} and {b.shape} are not the same "
                         "(tasks, trials) shape")
    d = a.mean(axis=1) - b.mean(axis=1)
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return {"mean": float(d.mean()), "se": se, "higher": int((d > 0).sum()),
            "lower": int((d < 0).sum()), "n_tasks": int(len(d))}


def aggregate(scores: Mapping[str, np.ndarray]) -> Summary:
    """Per policy and trial: statistics across tasks of the per-task mean over episodes.

    Averaging episodes first gives every task one number, so a task evaluated with more
    episodes does not weigh more, and the percentiles are percentiles of tasks.
    Percentiles use numpy's default linear interpolation. With an "expert" policy among
    `scores`, the same statistics of the expert-normalised score fill `Summary.normalised`.
    """
    rows: list[dict[str, Any]] = []
    gain: dict[str, float] = {}
    per_policy: dict[str, np.ndarray] = {}
    for policy, s in scores.items():
        s = np.asarray(s, np.float64)
        if s.ndim != 3 or 0 in s.shape:
            raise ValueError(f"scores[{policy!r}]: shape {s.shape} is not a non-empty "
                             "(tasks, episodes, trials) array")
        per_task = s.mean(axis=1)  # (tasks, trials)
        for k in range(per_task.shape[1]):
            x = per_task[:, k]
            rows.append({"policy": policy, "trial": k + 1, "mean": float(x.mean()),
                         "median": float(np.median(x)),
                         "p20": float(np.percentile(x, P_LOW)), "n_tasks": int(len(x))})
        gain[policy] = float(per_task[:, -1].mean() - per_task[:, 0].mean())
        per_policy[policy] = per_task
    names = list(per_policy)
    versus = {o: paired_difference(per_policy[names[0]], per_policy[o]) for o in names[1:]
              if per_policy[o].shape == per_policy[names[0]].shape}
    if EXPERT not in per_policy:
        return Summary(rows, gain, versus)
    normalised, expert_zero = normalised_rows(per_policy, P_LOW)
    return Summary(rows, gain, versus, normalised, expert_zero)


def evaluate_policies(tasks: Sequence[Task] | Mapping[str, Task],
                      policies: Mapping[str, Policy | str], trials: int,
                      episodes_per_task: int, seed: int, image_size: int, *,
                      trial_steps: int | None = None, batch_size: int = 8,
                      on_policy_done: Callable[[str], None] | None = None) -> EvalResults:
    """Plays each task with each policy for `episodes_per_task` episodes of `trials` trials.

    `tasks` is a list (named by task id) or a name -> task mapping. A policy given by name
    ("random", "noop", "expert") is built with `ada.policies.make_policy`. `trial_steps`
    overrides the tasks' steps per trial (None keeps each task's own). Every policy plays the
    same jobs.
    """
    if isinstance(tasks, Mapping):
        names, base = list(tasks), list(tasks.values())
    else:
        base = list(tasks)
        names = [t.task_id for t in base]
    if not base:
        raise ValueError("tasks: no tasks to evaluate")
    if not policies:
        raise ValueError("policies: no policies to evaluate")
    for name, value in (("trials", trials), ("episodes_per_task", episodes_per_task)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {value!r} must be an integer >= 1")
    evaluated = [with_episode(t, trials, trial_steps) for t in base]
    jobs = [Job(t, e, job_seed(seed, t, e))
            for e in range(episodes_per_task) for t in range(len(evaluated))]
    seeds = np.zeros((len(evaluated), episodes_per_task), np.int64)
    for job in jobs:
        seeds[job.task, job.episode] = job.seed
    returns: dict[str, np.ndarray] = {}
    step_rewards: dict[str, list[list[np.ndarray]]] = {}
    for pname, policy in policies.items():
        if isinstance(policy, str):
            policy = make_policy(policy, _action_spec(), noop_index=NOOP)
        per_step: list[np.ndarray] = []
        per_job = run_jobs(evaluated, jobs, policy, image_size=image_size,
                           batch_size=batch_size, step_rewards=per_step)
        r = np.zeros((len(evaluated), episodes_per_task, trials), np.float64)
        steps: list[list[Any]] = [[None] * episodes_per_task for _ in evaluated]
        for job, rs, sr in zip(jobs, per_job, per_step, strict=True):
            r[job.task, job.episode] = rs
            steps[job.task][job.episode] = sr
        returns[pname] = r
        step_rewards[pname] = steps
        if on_policy_done is not None:
            on_policy_done(pname)
    return EvalResults(names=names, tasks=evaluated, policies=list(policies), returns=returns,
                       seeds=seeds, trials=trials, episodes_per_task=episodes_per_task,
                       seed=seed, image_size=image_size, step_rewards=step_rewards)


def _action_spec() -> Any:
    from dm_env import specs

    return specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")


# ---- output ----------------------------------------------------------------------------------
PER_TRIAL_FIELDS = ("policy", "trial", "mean", "median", "p20", "n_tasks")
PER_TASK_FIELDS = ("policy", "task_index", "task", "task_id", "trial", "score", "return",
                   "episodes")


def results_dict(results: EvalResults, summary: Summary | None = None,
                 sections: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-ready record of the evaluation: settings, tasks, summary and raw numbers, and
    with the expert evaluated, the "normalised" section and the "expert_zero_tasks" (the
    tasks it left out, named, so that they can be looked at rather than only counted)."""
    summary = summary if summary is not None else aggregate(results.all_scores())
    record: dict[str, Any] = {
        "meta": {"trials": results.trials, "episodes_per_task": results.episodes_per_task,
                 "seed": results.seed, "image_size": results.image_size,
                 "score": "trial return / trial_steps (fraction of steps the goal held)",
                 **results.meta},
        "policies": results.policies,
        "tasks": [{"index": i, "name": n, "task_id": t.task_id,
                   "trial_steps": t.episode.trial_steps, "trials": t.episode.trials}
                  for i, (n, t) in enumerate(zip(results.names, results.tasks, strict=True))],
        "per_trial": summary.rows,
        "gain": summary.gain,
        "versus": summary.versus,
        "seeds": results.seeds.tolist(),
        "returns": {p: results.returns[p].tolist() for p in results.policies},
        "scores": {p: results.scores(p).tolist() for p in results.policies},
    }
    if summary.normalised:
        reference = expert_reference(results.scores(EXPERT).mean(axis=1))
        record["normalised"] = {
            "score": REFERENCE_TEXT, "reference": reference.tolist(),
            "n_tasks": summary.normalised[0]["n_tasks"], "n_excluded": len(summary.expert_zero),
            "per_trial": summary.normalised}
        record["expert_zero_tasks"] = [
            {"index": i, "name": results.names[i], "task_id": results.tasks[i].task_id}
            for i in summary.expert_zero]
    record.update(sections or {})
    return record


def write_results(results: EvalResults, out_dir: str | Path, summary: Summary | None = None,
                  sections: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Writes results.json, per_trial.csv, per_task.csv and plot.png into `out_dir`, and
    per_trial_normalised.csv when the expert was evaluated."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summary if summary is not None else aggregate(results.all_scores())
    paths = {"json": out / "results.json", "per_trial": out / "per_trial.csv",
             "per_task": out / "per_task.csv", "plot": out / "plot.png"}
    record = results_dict(results, summary, sections)
    paths["json"].write_text(json.dumps(record, indent=2) + "\n")
    with paths["per_trial"].open("w", newline="") as f:
        w = csv.DictWriter(f, PER_TRIAL_FIELDS)
        w.writeheader()
        w.writerows(summary.rows)
    with paths["per_task"].open("w", newline="") as f:
        w = csv.DictWriter(f, PER_TASK_FIELDS)
        w.writeheader()
        for p in results.policies:
            score, ret = results.scores(p).mean(axis=1), results.returns[p].mean(axis=1)
            for i, (name, task) in enumerate(zip(results.names, results.tasks, strict=True)):
                for k in range(results.trials):
                    w.writerow({"policy": p, "task_index": i, "task": name,
                                "task_id": task.task_id, "trial": k + 1,
                                "score": float(score[i, k]), "return": float(ret[i, k]),
                                "episodes": results.episodes_per_task})
    if summary.normalised:
        paths["per_trial_normalised"] = out / "per_trial_normalised.csv"
        with paths["per_trial_normalised"].open("w", newline="") as f:
            w = csv.DictWriter(f, NORMALISED_FIELDS)
            w.writeheader()
            w.writerows(summary.normalised)
    plot_summary(summary, paths["plot"])
    return paths


# ---- plot (Pillow only: matplotlib is not a dependency) ----------------------------------------
PLOT_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                (140, 86, 75), (227, 119, 194), (127, 127, 127))


def _nice_top(value: float) -> float:
    """The smallest of a few round numbers above `value`, so small scores are not flattened
    against a fixed [0, 1] axis."""
    for top in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0):
        if value <= top + 1e-12:
            return top
    return float(np.ceil(value))


def plot_summary(summary: Summary, path: str | Path, size: tuple[int, int] = (640, 420)) -> None:
    """Mean score against trial index, one line per policy, as a PNG."""
    from PIL import Image, ImageDraw, ImageFont

    W, H = size
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    try:
        font: Any = ImageFont.load_default(size=13)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        font = ImageFont.load_default()
    policies = list(dict.fromkeys(r["policy"] for r in summary.rows))
    labels = [f"{p} ({summary.gain.get(p, 0.0):+.3f})" for p in policies]
    legend = max([draw.textlength(t, font=font) for t in labels] + [110.0]) + 50
    left, right, top, bottom = 64, W - int(legend), 36, H - 48
    trials = max(r["trial"] for r in summary.rows)
    ymax = _nice_top(max(max(r["mean"] for r in summary.rows), 0.0))

    def xy(trial: float, y: float) -> tuple[float, float]:
        fx = 0.5 if trials == 1 else (trial - 1) / (trials - 1)
        return left + fx * (right - left), bottom - (y / ymax) * (bottom - top)

    draw.text((left, 10), "mean score per trial (fraction of steps the goal held)",
              fill=(0, 0, 0), font=font)
    for i in range(6):  # horizontal grid and y labels
        y = ymax * i / 5
        _, py = xy(1, y)
        draw.line([(left, py), (right, py)], fill=(225, 225, 225))
        draw.text((8, py - 7), f"{y:.3g}", fill=(60, 60, 60), font=font)
    for k in range(1, trials + 1):
        px, _ = xy(k, 0)
        draw.line([(px, bottom), (px, bottom + 5)], fill=(0, 0, 0))
        draw.text((px - 4, bottom + 8), str(k), fill=(60, 60, 60), font=font)
    draw.text(((left + right) / 2 - 16, H - 20), "trial", fill=(0, 0, 0), font=font)
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=(0, 0, 0))
    for j, policy in enumerate(policies):
        colour = PLOT_COLOURS[j % len(PLOT_COLOURS)]
        pts = [xy(r["trial"], r["mean"]) for r in sorted(
            (r for r in summary.rows if r["policy"] == policy), key=lambda r: r["trial"])]
        if len(pts) > 1:
            draw.line(pts, fill=colour, width=2)
        for px, py in pts:
            draw.ellipse([(px - 3, py - 3), (px + 3, py + 3)], fill=colour)
        ly = top + 18 * j
        draw.line([(right + 12, ly + 7), (right + 32, ly + 7)], fill=colour, width=3)
        draw.text((right + 38, ly), labels[j], fill=(0, 0, 0), font=font)
    draw.text((right + 12, top + 18 * len(policies) + 4), f"(gain trial 1 -> {trials})",
              fill=(90, 90, 90), font=font)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


__all__ = ["EvalResults", "Summary", "aggregate", "evaluate_policies", "paired_difference",
           "plot_summary", "results_dict", "write_results"]
