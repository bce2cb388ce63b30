"""The open-ended experiment: does kickstarting from the expert make `default` learnable?

    python tools/run_open_ended_experiment.py --seeds 0 --frames 1000000 2000000 4000000

Trains `experiment=open_ended` (the `default` family: terrain, rules, hidden rules, dead ends)
for every arm x memory length x seed, one process per run (`--jobs` at a time, inline, one core
each): `kickstart` (algo.kickstart.teacher=expert, the config's schedule) and `scratch` (the same
run without a teacher), with the memory agent (`--memory`, first value) and the memory-0
control. Runs grow budget by budget (`--frames`, ascending; `resume=auto` extends each run), and
after each budget every run plays the same `--eval-tasks` held-out `default` tasks with the same
episode seeds, 3 trials, beside random, no-op and the expert (those three once: they do not
train). At the last budget every run also plays the probe tasks.

Reported (results.json, table.md, plot.png in `--out`): per run and trial, the mean, median and
20th percentile of the raw and the expert-normalised score; kickstart minus scratch paired by
task at equal frames (mean, s.e., tasks higher / lower) and whether it clears 3 s.e.; each run's
20th percentile against random's; trial 3 minus trial 1 (the adaptation gain, paired s.e.) for
the memory agent and its memory-0 control; the trend of all of it over the budgets; per-probe
expert-normalised scores. Every number carries its frames, wall time and machine. Per-task raw
scores of every run and budget are in results.json (copy it to docs/ with the README numbers).
Evaluations are cached per run, budget and evaluation set (`scores_<frames>_<tasks>x<seed>.json`),
so a re-run only does what is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from ada.experiment_runs import RunSpec, train_runs, trained_frames  # noqa: E402

ARMS = {"kickstart": ("algo.kickstart.teacher=expert",),
        "scratch": ("algo.kickstart.teacher=none",)}
BASELINES = ("random", "noop", "expert")
BAR_SE = 3.0  # kickstart must beat scratch by more than this many paired standard errors


def run_name(arm: str, memory: int, seed: int) -> str:
    return f"{arm}_mem{memory}_seed{seed}"


def run_specs(out: Path, arms: list[str], memories: list[int], seeds: list[int],
              extra: list[str]) -> list[RunSpec]:
    return [RunSpec(run_name(a, m, s), out / run_name(a, m, s),
                    ("experiment=open_ended", f"seed={s}", f"agent.memory_length={m}",
                     f"name={run_name(a, m, s)}", *ARMS[a], *extra))
            for s in seeds for a in arms for m in memories]


def _evaluate(run_dir: Path, tasks: str, n_tasks: int | None, seed: int,
              baselines: tuple[str, ...], out: Path, videos: int) -> dict[str, Any]:
    """One `ada.evaluate` run: task names and, per policy, (tasks, trials) scores."""
    from ada.evaluate import EvalConfig, run

    res = run(EvalConfig(checkpoint=str(run_dir / "checkpoints"), tasks=tasks, n_tasks=n_tasks,
                         trials=3, seed=seed, baselines=baselines, videos=videos, out=str(out)),
              log=lambda msg: None)
    return {"names": res.results.names,
            "scores": {p: s.mean(axis=1).tolist() for p, s in res.results.all_scores().items()}}


def cached(path: Path, compute: Any) -> dict[str, Any]:
    """The JSON at `path`, or `compute()` written there (temp file + rename) first."""
    if path.is_file():
        return json.loads(path.read_text())
    data = compute()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
    return data


def gain_stats(per_task: np.ndarray) -> dict[str, float]:
    """Trial 3 minus trial 1 across tasks: mean and paired standard error."""
    d = per_task[:, -1] - per_task[:, 0]
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0
    return {"mean": float(d.mean()), "se": se}


def budget_summary(scores: dict[str, np.ndarray], arms: list[str], memories: list[int],
                   seeds: list[int]) -> dict[str, Any]:
    """Everything reported at one budget from {policy or run: (tasks, trials)} scores."""
    from ada.eval.trials import P_LOW, aggregate, paired_difference

    summary = aggregate({k: v[:, None, :] for k, v in scores.items()})
    rows = {(r["policy"], r["trial"]): r for r in summary.rows}
    norm = {(r["policy"], r["trial"]): r for r in summary.normalised}
    trials = next(iter(scores.values())).shape[1]
    per_policy = {p: {"raw": [rows[(p, k)] for k in range(1, trials + 1)],
                      "normalised": [norm.get((p, k)) for k in range(1, trials + 1)],
                      "gain_3_minus_1": gain_stats(scores[p])} for p in scores}
    versus = {}
    if {"kickstart", "scratch"} <= set(arms):
        for m in memories:
            for s in seeds:
                a, b = run_name("kickstart", m, s), run_name("scratch", m, s)
                if a in scores and b in scores:
                    d = paired_difference(scores[a], scores[b])
                    d["clears_bar"] = bool(d["mean"] > BAR_SE * d["se"])
                    versus[f"{a} - {b}"] = d
    random_p20 = [float(np.percentile(scores["random"][:, k], P_LOW)) for k in range(trials)]
    beats_random_p20 = {p: [rows[(p, k + 1)]["p20"] > random_p20[k] for k in range(trials)]
                        for p in scores if p not in BASELINES}
    return {"per_policy": per_policy, "kickstart_minus_scratch": versus,
            "beats_random_p20": beats_random_p20,
            "expert_zero_tasks": len(summary.expert_zero)}


def table_markdown(final: dict[str, Any], trend: dict[int, dict[str, Any]], frames: int,
                   n_tasks: int, machine: str) -> str:
    lines = [f"Held-out `default` tasks: {n_tasks}, 3 trials, the same tasks and episode seeds "
             f"for every row; {frames:,} training frames per run; {machine}.", "",
             "| policy | trial 1 | trial 2 | trial 3 | normalised median per trial | "
             "gain 3 - 1 (± s.e.) |", "|---|---|---|---|---|---|"]
    for p, d in final["per_policy"].items():
        cells = [f"{r['mean']:.3f} / {r['median']:.3f} / {r['p20']:.3f}" for r in d["raw"]]
        med = " / ".join("-" if r is None or r["median"] is None else f"{r['median']:.2f}"
                         for r in d["normalised"])
        g = d["gain_3_minus_1"]
        lines.append(f"| {p} | " + " | ".join(cells) + f" | {med} | {g['mean']:+.3f} ± "
                     f"{g['se']:.3f} |")
    lines += ["", "Cells: mean / median / 20th percentile of the raw score (fraction of steps "
              "the goal held).", "", "| kickstart - scratch (paired by task) | mean ± s.e. | "
              f"higher / lower | > {BAR_SE:g} s.e. |", "|---|---|---|---|"]
    for name, d in final["kickstart_minus_scratch"].items():
        lines.append(f"| {name} | {d['mean']:+.4f} ± {d['se']:.4f} | {d['higher']} / "
                     f"{d['lower']} | {'yes' if d['clears_bar'] else 'no'} |")
    lines += ["", "| frames | " + " | ".join(final["per_policy"]) + " |",
              "|---" * (len(final["per_policy"]) + 1) + "|"]
    for f, s in sorted(trend.items()):
        cells = [" / ".join(f"{r['mean']:.3f}" for r in s["per_policy"][p]["raw"])
                 if p in s["per_policy"] else "-" for p in final["per_policy"]]
        lines.append(f"| {f:,} | " + " | ".join(cells) + " |")
    lines += ["", "Trend: mean score per trial (1 / 2 / 3) at each budget."]
    return "\n".join(lines) + "\n"


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--arms", nargs="+", choices=sorted(ARMS), default=["kickstart", "scratch"])
    p.add_argument("--memory", nargs="+", type=int, default=[384, 0],
                   help="agent.memory_length values; 0 is the memory-less control")
    p.add_argument("--frames", nargs="+", type=int, default=[1_000_000, 2_000_000, 4_000_000],
                   help="budgets, ascending: every run is evaluated at each")
    p.add_argument("--jobs", type=int, default=2, help="training processes at a time")
    p.add_argument("--eval-tasks", type=int, default=200)
    p.add_argument("--probe-tasks", type=int, default=None, help="first N probes (all: none)")
    p.add_argument("--eval-seed", type=int, default=12345)
    p.add_argument("--out", type=Path, default=Path("outputs/open_ended"))
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="extra Hydra overrides for every run (e.g. runtime.device=cuda)")
    args = p.parse_args(argv)
    frames = sorted(set(args.frames))
    if frames[0] < 1 or args.jobs < 1 or args.eval_tasks < 1:
        p.error("--frames, --jobs and --eval-tasks must be >= 1")
    if any(m < 0 for m in args.memory):
        p.error(f"--memory: {args.memory} must all be >= 0")
    out = args.out.resolve()
    specs = run_specs(out, args.arms, args.memory, args.seeds, args.set)
    import torch

    torch.set_num_threads(1)
    walls: dict[str, float] = {}
    trend: dict[int, dict[str, Any]] = {}
    per_task: dict[str, Any] = {}
    tag = f"{args.eval_tasks}x{args.eval_seed}"  # caches belong to one evaluation set
    for budget in frames:
        for name, w in train_runs(specs, budget, args.jobs).items():
            walls[name] = walls.get(name, 0.0) + w
        base = cached(out / f"baselines_heldout_{tag}.json", lambda: _evaluate(
            specs[0].out_dir, "heldout", args.eval_tasks, args.eval_seed, BASELINES,
            out / "baselines_heldout", 0))
        scores = {b: np.asarray(base["scores"][b]) for b in BASELINES}
        for spec in specs:
            got = trained_frames(spec.out_dir)
            r = cached(spec.out_dir / f"scores_{got}_{tag}.json",
                       lambda spec=spec, got=got: _evaluate(
                spec.out_dir, "heldout", args.eval_tasks, args.eval_seed, (),
                spec.out_dir / f"eval_{got}", 1))
            if r["names"] != base["names"]:
                raise RuntimeError(f"{spec.name}: evaluated on other tasks than the baselines "
                                   "(a different env config?); use one --out per config")
            scores[spec.name] = np.asarray(r["scores"]["agent"])
            per_task[f"{spec.name}@{got}"] = r["scores"]["agent"]
        trend[budget] = budget_summary(scores, args.arms, args.memory, args.seeds)
        print(f"budget {budget:,} frames: " + ", ".join(
            f"{n} {np.mean(v):.3f}" for n, v in scores.items()), flush=True)
    probes = {}
    for spec in specs:
        r = cached(spec.out_dir / f"probes_{frames[-1]}_{args.probe_tasks}x{args.eval_seed}.json",
                   lambda spec=spec: _evaluate(
            spec.out_dir, "probes", args.probe_tasks, args.eval_seed, ("expert",),
            spec.out_dir / "eval_probes", 0))
        agent, expert = (np.asarray(r["scores"][k])[:, -1] for k in ("agent", "expert"))
        probes[spec.name] = {n: (float(a / e) if e > 0 else None)
                             for n, a, e in zip(r["names"], agent, expert, strict=True)}
    final = trend[frames[-1]]
    table = table_markdown(final, trend, frames[-1], args.eval_tasks, machine())
    print("\n" + table)
    from ada.eval.trials import Summary, plot_summary

    rows = [{"policy": n, "trial": k + 1, "mean": r["mean"]}
            for n, d in final["per_policy"].items() for k, r in enumerate(d["raw"])]
    plot_summary(Summary(rows, {n: d["gain_3_minus_1"]["mean"]
                                for n, d in final["per_policy"].items()}), out / "plot.png")
    (out / "table.md").write_text(table)
    (out / "results.json").write_text(json.dumps({
        "frames": frames, "eval_tasks": args.eval_tasks, "eval_seed": args.eval_seed,
        "overrides": args.set, "machine": machine(), "train_wall_seconds": walls,
        "trend": {str(f): s for f, s in trend.items()}, "probes_expert_normalised": probes,
        "tasks": base["names"], "baselines_per_task": base["scores"],
        "per_task": per_task}, indent=1) + "\n")
    print(f"wrote {out / 'table.md'}, {out / 'plot.png'}, {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
