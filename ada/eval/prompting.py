"""Prompted against unprompted: does a demonstration of trial 1 raise the agent's last trial?

AdA's protocol (its prompting section): for k total trials, a demonstrator plays trial 1 while
the agent watches; the agent plays trials 2..k alone, and only the last trial is scored. The
same agent unprompted plays all k trials itself. `evaluate_prompting` plays, for each k, the
same tasks on the same job seeds (`ada.eval.trials.evaluate_policies`) with

* `agent`: the agent alone, k trials;
* `prompted`: `ada.prompting.prompted(agent, demonstrator)`, k trials (its trial 1 is the
  demonstrator's play, so the demonstrator's own trial-1 score is read off it);
* `expert`: the reference of the expert-normalised score (its last-trial score per task).

`prompting_summary` reduces that to, per k: the last-trial score of both arms (raw and
expert-normalised; mean, median, 20th percentile across tasks), the paired difference
prompted minus unprompted per task (mean, s.e., tasks higher / lower), and the
demonstrator's trial-1 score. A task where the expert scores 0 is left out of the normalised
statistics and counted, as everywhere in `ada.eval`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ada.acting import Policy
from ada.eval.normalised import EXPERT, expert_reference, included_tasks
from ada.eval.trials import P_LOW, EvalResults, evaluate_policies, paired_difference
from ada.prompting import prompted
from worlds.task import Task

AGENT, PROMPTED = "agent", "prompted"


@dataclass
class PromptingResults:
    """`by_k[k]`: the evaluation with k trials per episode (policies agent, prompted, expert)."""

    by_k: dict[int, EvalResults]
    demonstrator: str
    # for recorded demonstrators: where the recordings came from and whom each task shows
    demonstrations: dict[str, Any] | None = None


def evaluate_prompting(tasks: Sequence[Task] | Mapping[str, Task],
                       make_agent: Callable[[], Policy], make_demonstrator: Callable[[], Policy],
                       demonstrator: str, ks: Sequence[int], episodes_per_task: int, seed: int,
                       image_size: int, *, trial_steps: int | None = None,
                       batch_size: int = 8,
                       log: Callable[[str], None] = lambda _msg: None) -> PromptingResults:
    """Plays every task with k trials, for every k in `ks`, unprompted and prompted (see the
    module docstring). `make_agent` / `make_demonstrator` build a fresh policy per run."""
    if not ks:
        raise ValueError("trials: no numbers of trials to evaluate")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise ValueError(f"trials: {k!r}: prompting needs k >= 2 trials (trial 1 is the "
                             "demonstration)")
    by_k: dict[int, EvalResults] = {}
    for k in ks:
        policies: dict[str, Policy | str] = {
            AGENT: make_agent(), PROMPTED: prompted(make_agent(), make_demonstrator()),
            EXPERT: EXPERT}
        by_k[k] = evaluate_policies(tasks, policies, k, episodes_per_task, seed, image_size,
                                    trial_steps=trial_steps, batch_size=batch_size,
                                    on_policy_done=lambda p, k=k: log(f"  k={k}: done {p}"))
    return PromptingResults(by_k, demonstrator)


def _stats(x: np.ndarray) -> dict[str, float | None]:
    if x.size == 0:
        return {"mean": None, "median": None, "p20": None}
    return {"mean": float(x.mean()), "median": float(np.median(x)),
            "p20": float(np.percentile(x, P_LOW))}


def prompting_summary(results: PromptingResults) -> list[dict[str, Any]]:
    """One row per k (see the module docstring); scores are per-task means over episodes."""
    rows = []
    for k, res in results.by_k.items():
        per_task = {p: res.scores(p).mean(axis=1) for p in res.policies}  # (tasks, trials)
        ref = expert_reference(per_task[EXPERT])
        keep = included_tasks(ref)
        last = {p: per_task[p][:, -1] for p in (AGENT, PROMPTED)}
        row: dict[str, Any] = {"k": k, "n_tasks": len(ref), "expert_zero_tasks":
                               int((~keep).sum()),
                               "demonstrator": results.demonstrator,
                               "demonstrator_trial1": _stats(per_task[PROMPTED][:, 0])}
        for p in (AGENT, PROMPTED):
            name = "unprompted" if p == AGENT else "prompted"
            row[name] = _stats(last[p])
            row[f"{name}_normalised"] = _stats(last[p][keep] / ref[keep])
        row["prompted_minus_unprompted"] = paired_difference(last[PROMPTED][:, None],
                                                             last[AGENT][:, None])
        rows.append(row)
    return rows


def format_prompting(rows: list[dict[str, Any]]) -> str:
    """The summary as the CLI prints it: one block per k."""
    def f(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    def cell(s: dict[str, float | None]) -> str:
        return f"{f(s['mean'])} / {f(s['median'])} / {f(s['p20'])}"

    lines = [f"last-trial score, prompted (trial 1 shown by {rows[0]['demonstrator']}) vs "
             "unprompted: mean / median / p20 over tasks"]
    for r in rows:
        d = r["prompted_minus_unprompted"]
        lines += [
            f"k={r['k']} ({r['n_tasks']} tasks; demonstrator's trial 1: "
            f"{cell(r['demonstrator_trial1'])})",
            f"  unprompted  {cell(r['unprompted'])}   normalised "
            f"{cell(r['unprompted_normalised'])}",
            f"  prompted    {cell(r['prompted'])}   normalised {cell(r['prompted_normalised'])}",
            f"  prompted - unprompted: {d['mean']:+.3f} +- {d['se']:.3f} (paired s.e.); higher "
            f"on {d['higher']}, lower on {d['lower']}"
            + (f"; {r['expert_zero_tasks']} tasks with an expert score of 0 left out of the "
               "normalised scores" if r["expert_zero_tasks"] else "")]
    return "\n".join(lines)


def write_prompting(results: PromptingResults, rows: list[dict[str, Any]],
                    out: str | Path) -> Path:
    """prompting.json: the summary rows and, per k, the raw returns and seeds (written to a
    temporary name and renamed, so a reader never sees half a file)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"demonstrator": results.demonstrator, "demonstrations": results.demonstrations,
              "summary": rows, "runs": {
        str(k): {"tasks": res.names, "seeds": res.seeds.tolist(),
                 "returns": {p: res.returns[p].tolist() for p in res.policies},
                 "trial_steps": res.trial_steps.tolist()}
        for k, res in results.by_k.items()}}
    path = out / "prompting.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)
    return path


__all__ = ["AGENT", "PROMPTED", "PromptingResults", "evaluate_prompting", "format_prompting",
           "prompting_summary", "write_prompting"]
