"""The adaptation experiment: does memory buy a trial-1-to-trial-3 gain on `lookalike`?

    python tools/run_adaptation_experiment.py --seeds 0 1 2 --memory 128 0 --frames 4000000

For every (memory length, seed) pair this trains `experiment=lookalike` in its own process
(`--jobs` at a time; inline runtime, one core each), then evaluates every trained agent on ONE
fixed set of held-out tasks with the same episode seeds (`--eval-seed`), beside the random and
no-op baselines. Memory length 0 is the control: the same network without its memory, so it
cannot carry anything from one trial to the next and should show no gain.

The claim under test is a difference between trials of the same agent, so the statistic is the
gain: mean held-out score in the last trial minus trial 1. Reported per run (with the paired
standard error across tasks) and per memory length (mean and standard deviation across seeds).
Outputs in --out: one folder per run (checkpoints/, tb/, train.log, eval/), results.json,
table.md (the README table) and plot.png (mean score per trial, one line per memory length).
A run whose checkpoint already holds the requested frames is not retrained (`resume=auto`
continues a killed one), so the command can be re-run to extend or re-aggregate.

`--prompt` also plays every run on the same tasks and seeds with 2 trials, unprompted and with
the expert playing trial 1 (demonstration prompting, `ada.prompting`), and reports the
prompted trial-2 solve rate beside the unprompted trials 1 and 2 (results.json, "prompted").
`--set demo_prob=0.25 --out outputs/adaptation_demo` trains the demo-trained arms to compare.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from ada.experiment_runs import RunSpec, train_runs, trained_frames  # noqa: E402, F401


def run_dir(out: Path, memory: int, seed: int) -> Path:
    return out / f"mem{memory}_seed{seed}"


def run_spec(memory: int, seed: int, out: Path, extra: Sequence[str]) -> RunSpec:
    return RunSpec(f"memory={memory} seed={seed}", run_dir(out, memory, seed),
                   ("experiment=lookalike", f"seed={seed}", f"agent.memory_length={memory}",
                    f"name=lookalike_mem{memory}", *extra))


def train_all(pairs: list[tuple[int, int]], frames: int, out: Path, jobs: int,
              extra: Sequence[str]) -> dict[tuple[int, int], float]:
    """Trains the pairs, `jobs` processes at a time; returns wall seconds per pair."""
    specs = {run_spec(m, s, out, extra).name: (m, s) for m, s in pairs}
    walls = train_runs([run_spec(m, s, out, extra) for m, s in pairs], frames, jobs)
    return {specs[name]: w for name, w in walls.items()}


def evaluate_run(path: Path, eval_tasks: int, eval_seed: int, videos: int) -> dict[str, Any]:
    """Held-out evaluation of one run (agent, random, no-op): the per-task scores."""
    from ada.evaluate import EvalConfig, run

    res = run(EvalConfig(checkpoint=str(path / "checkpoints"), tasks="heldout",
                         n_tasks=eval_tasks, trials=3, seed=eval_seed, videos=videos,
                         out=str(path / "eval")), log=lambda msg: None)
    scores = res.results.all_scores()  # policy -> (tasks, episodes, trials)
    return {p: s.mean(axis=1) for p, s in scores.items()}  # (tasks, trials)


def prompt_run(path: Path, eval_tasks: int, eval_seed: int) -> dict[str, Any]:
    """The same held-out tasks and seeds, 2 trials, unprompted and with the expert playing
    trial 1 (`ada.evaluate demo=expert`): solve rates of unprompted trials 1 and 2 and of the
    prompted trial 2, and the per-task trial scores of both arms."""
    from ada.eval.prompting import AGENT, PROMPTED
    from ada.evaluate import EvalConfig, run_prompting

    res = run_prompting(EvalConfig(checkpoint=str(path / "checkpoints"), tasks="heldout",
                                   n_tasks=eval_tasks, trials=2, seed=eval_seed, videos=0,
                                   demo="expert", prompt_trials=(2,),
                                   out=str(path / "eval_prompted")), log=lambda msg: None)
    r = res.results.by_k[2]
    own, shown = (r.scores(p).mean(axis=1) for p in (AGENT, PROMPTED))  # (tasks, 2)
    return {"unprompted_solved": [float((own[:, k] >= SOLVED).mean()) for k in (0, 1)],
            "prompted_trial2_solved": float((shown[:, 1] >= SOLVED).mean()),
            "expert_trial1_solved": float((shown[:, 0] >= SOLVED).mean()),
            "unprompted": own.tolist(), "prompted": shown.tolist()}


def gain_stats(per_task: np.ndarray) -> tuple[float, float]:
    """Mean last-minus-first-trial gain across tasks and its paired standard error."""
    d = per_task[:, -1] - per_task[:, 0]
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0


SOLVED = 0.25  # a trial counts as solved when the goal held for at least a quarter of it


def recovery_stats(per_task: np.ndarray, solved: float = SOLVED) -> dict[str, float]:
    """How trial 2 goes after trial 1 failed or succeeded: the direct read-out of memory use.

    With sticky grabs a wrong pick costs the whole trial, so trial scores are nearly 0/1. An
    agent that remembers switches to another look-alike after a failure and repeats a success;
    a memory-less agent can do neither better than its fixed preference, so its rate of
    "solved after failed" stays near its trial-1 rate or below."""
    ok1, ok2 = per_task[:, 0] >= solved, per_task[:, 1] >= solved
    def rate(mask: np.ndarray) -> float:
        return float(ok2[mask].mean()) if mask.any() else float("nan")
    return {"trial1_solved": float(ok1.mean()), "n_trial1_failed": int((~ok1).sum()),
            "trial2_solved_after_fail": rate(~ok1), "trial2_solved_after_success": rate(ok1)}


def summarise(per_run: dict[tuple[int, int], dict[str, np.ndarray]]) -> dict[str, Any]:
    """Per memory length: per-trial mean (and sd across seeds) and the gain across seeds."""
    arms: dict[str, Any] = {}
    for m in sorted({m for m, _ in per_run}, reverse=True):
        seeds = sorted(s for mm, s in per_run if mm == m)
        trial_means = np.array([per_run[(m, s)]["agent"].mean(axis=0) for s in seeds])
        stats = np.array([gain_stats(per_run[(m, s)]["agent"]) for s in seeds])
        gains = stats[:, 0]
        rec = [recovery_stats(per_run[(m, s)]["agent"]) for s in seeds]
        arms[f"memory {m}"] = {
            "memory_length": m, "seeds": seeds,
            "per_trial_mean": trial_means.mean(axis=0).tolist(),
            "per_trial_sd": (trial_means.std(axis=0, ddof=1) if len(seeds) > 1
                             else np.zeros(trial_means.shape[1])).tolist(),
            "per_seed_per_trial": trial_means.tolist(),
            "gain_per_seed": gains.tolist(),
            "gain_se_per_seed": stats[:, 1].tolist(),
            "gain_mean": float(gains.mean()),
            "gain_sd": float(gains.std(ddof=1)) if len(seeds) > 1 else 0.0,
            "recovery_per_seed": rec,
            "trial2_solved_after_fail": float(np.nanmean(
                [r["trial2_solved_after_fail"] for r in rec])),
        }
    first = next(iter(per_run.values()))  # same tasks and seeds in every run
    for b in ("random", "noop"):
        if b in first:
            arms[b] = {"per_trial_mean": first[b].mean(axis=0).tolist(),
                       "gain_mean": gain_stats(first[b])[0],
                       "trial2_solved_after_fail":
                           recovery_stats(first[b])["trial2_solved_after_fail"]}
    return arms


def table_markdown(arms: dict[str, Any], frames: int, n_tasks: int) -> str:
    trials = len(next(iter(arms.values()))["per_trial_mean"])
    head = "| policy | seeds | " + " | ".join(f"trial {k + 1}" for k in range(trials))
    lines = [head + f" | gain trial 1 -> {trials} | trial 2 solved after trial 1 failed |",
             "|---" * (trials + 4) + "|"]
    for name, a in arms.items():
        sd = a.get("per_trial_sd")
        cells = [f"{mu:.3f}" + (f" ± {s:.3f}" if sd and len(a["seeds"]) > 1 else "")
                 for mu, s in zip(a["per_trial_mean"], sd or [0.0] * trials, strict=True)]
        if "gain_per_seed" in a:
            g = f"{a['gain_mean']:+.3f}" + (f" ± {a['gain_sd']:.3f}" if len(a["seeds"]) > 1
                                             else "")
            g += " (per seed: " + ", ".join(f"{x:+.3f}" for x in a["gain_per_seed"]) + ")"
            seeds = ", ".join(str(s) for s in a["seeds"])
        else:
            g, seeds = f"{a['gain_mean']:+.3f}", "-"
        rec = a.get("trial2_solved_after_fail", float("nan"))
        lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + f" | {g} | {rec:.2f} |")
    lines.append("")
    lines.append(f"Held-out `lookalike` tasks: {n_tasks}, one episode of 3 trials each, the same "
                 f"tasks and episode seeds for every row; {frames:,} training frames per run; "
                 "± is the standard deviation across seeds. A trial counts as solved when it "
                 f"scores >= {SOLVED}; the last column is the fraction of tasks with a failed "
                 "trial 1 whose trial 2 was solved (mean over seeds): memory use shows there.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--memory", nargs="+", type=int, default=[128, 0],
                   help="agent.memory_length values; 0 is the memory-less control")
    p.add_argument("--frames", type=int, default=4_000_000)
    p.add_argument("--jobs", type=int, default=2, help="training processes at a time")
    p.add_argument("--eval-tasks", type=int, default=100)
    p.add_argument("--eval-seed", type=int, default=12345)
    p.add_argument("--videos", type=int, default=1, help="agent videos per run")
    p.add_argument("--out", type=Path, default=Path("outputs/adaptation"))
    p.add_argument("--prompt", action="store_true",
                   help="also evaluate each run prompted by the expert's trial 1 (2 trials)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="extra Hydra overrides for every run (e.g. runtime.device=cuda)")
    args = p.parse_args(argv)
    for name in ("frames", "jobs", "eval_tasks"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}: {getattr(args, name)} must be >= 1")
    if any(m < 0 for m in args.memory):
        p.error(f"--memory: {args.memory} must all be >= 0")
    out = args.out.resolve()
    pairs = [(m, s) for s in args.seeds for m in args.memory]
    walls = train_all(pairs, args.frames, out, args.jobs, args.set)
    import torch

    torch.set_num_threads(1)
    per_run = {}
    for m, s in pairs:
        per_run[(m, s)] = evaluate_run(run_dir(out, m, s), args.eval_tasks, args.eval_seed,
                                       args.videos)
        g, se = gain_stats(per_run[(m, s)]["agent"])
        print(f"memory={m:4d} seed={s}: per trial "
              + " ".join(f"{x:.3f}" for x in per_run[(m, s)]["agent"].mean(axis=0))
              + f"  gain {g:+.3f} ± {se:.3f} (paired se over tasks)", flush=True)
    prompted = {}
    if args.prompt:
        for m, s in pairs:
            pr = prompt_run(run_dir(out, m, s), args.eval_tasks, args.eval_seed)
            prompted[f"mem{m}_seed{s}"] = pr
            t1, t2 = pr["unprompted_solved"]
            print(f"memory={m:4d} seed={s}: solved unprompted trial 1 {t1:.2f}, trial 2 "
                  f"{t2:.2f}; prompted trial 2 {pr['prompted_trial2_solved']:.2f} (expert's "
                  f"trial 1 {pr['expert_trial1_solved']:.2f})", flush=True)
    arms = summarise(per_run)
    table = table_markdown(arms, args.frames, args.eval_tasks)
    print("\n" + table)
    from ada.eval.trials import Summary, plot_summary

    rows = [{"policy": name, "trial": k + 1, "mean": mu}
            for name, a in arms.items() for k, mu in enumerate(a["per_trial_mean"])]
    plot_summary(Summary(rows, {n: a["gain_mean"] for n, a in arms.items()}), out / "plot.png")
    (out / "table.md").write_text(table)
    (out / "results.json").write_text(json.dumps({
        "frames": args.frames, "eval_tasks": args.eval_tasks, "eval_seed": args.eval_seed,
        "overrides": args.set, "arms": arms, "prompted": prompted,
        "train_wall_seconds": {f"mem{m}_seed{s}": w for (m, s), w in walls.items()},
        "per_task": {f"mem{m}_seed{s}": {k: v.tolist() for k, v in r.items()}
                     for (m, s), r in per_run.items()}}, indent=2) + "\n")
    print(f"wrote {out / 'table.md'}, {out / 'plot.png'}, {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
