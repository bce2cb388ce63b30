"""Bayes-optimality checks: `python -m ada.bayes_check [--checks ...] [--seeds 0 1 2]`.

Meta-training a memory-based agent on a task distribution should make it approximately
Bayes-optimal for that distribution (Ortega et al. 2019; Mikulik et al. 2020; Genewein et al.
2023). These checks train the project's agent on families where the Bayes-optimal answer is known
exactly and print the gap next to the reference figures:

- bandit:        2 arms, Beta(1,1), H=20 (meta-RL with V-trace; experiment=bayes_bandit)
- directed:      arm 0 known at p=0.5, arm 1 Beta(1,1), H=20 (experiment=bayes_directed)
- directed_p06:  the same with p=0.6: the learner must not collapse onto the safe arm
- stationary:    Beta(1,1) coin, n=256 as 4 segments of 64 with the memory cache carried
- piecewise:     switching coin, h=0.01, n=512, segments of 64 (log-loss training)

Each check is run for every seed; its verdict is the median over seeds against the bar. Bandit
metrics are exact suboptimalities (`ada.eval.bandit`); sequence metrics are excess log losses over
the exact Bayes predictor on 8,192 fresh sequences (`ada.bayes.sequence_trainer`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ada.config import TrainConfig
from ada.paths import config_dir

CONFIG_DIR = config_dir()
BANDIT_CHECKS = {"bandit": "bayes_bandit", "directed": "bayes_directed",
                 "directed_p06": "bayes_directed_p06"}
SEQUENCE_CHECK_NAMES = ("stationary", "piecewise")
CHECKS = (*BANDIT_CHECKS, *SEQUENCE_CHECK_NAMES)
BANDIT_BAR = 0.05


def bandit_config(experiment: str, seed: int, out_dir: Path, overrides: list[str]) -> TrainConfig:
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={experiment}", f"seed={seed}",
                                          f"out_dir={out_dir}", "resume=never",
                                          "progress=false", *overrides])
    container: Any = OmegaConf.to_container(cfg, resolve=True)
    return TrainConfig.from_dict(container)


def run_bandit_check(name: str, seed: int, out_root: Path,
                     overrides: list[str] | None = None) -> dict[str, Any]:
    """Train the experiment's agent, then score it exactly against the Bayes-optimal policy."""
    from ada.bayes.bandit_solver import exact_suboptimality, exploit_only_policy
    from ada.eval.bandit import evaluate_bandit_agent, reference_table
    from ada.trainer import Trainer

    cfg = bandit_config(BANDIT_CHECKS[name], seed, out_root / f"{name}_seed{seed}",
                        overrides or [])
    family = cfg.env.family()
    t0 = time.perf_counter()
    trainer = Trainer(cfg)
    try:
        trainer.run()
    finally:
        trainer.close()
    train_s = time.perf_counter() - t0
    result = evaluate_bandit_agent(trainer.learner.agent, family, cfg.eval_episodes or 8192,
                                   seed=seed + 10_000)
    refs = reference_table(family)
    if family.known_arms:
        refs["exploit_only_gap"] = exact_suboptimality(family, exploit_only_policy(family))
    value = result["suboptimality_sampled"]
    bar = BANDIT_BAR if name != "directed_p06" else 0.5 * refs["exploit_only_gap"]
    result.update(name=name, seed=seed, metric="suboptimality_sampled", value=value, bar=bar,
                  passed=bool(value <= bar), references=refs,
                  train={"wall_seconds": train_s, "frames": trainer.learner.frames,
                         "updates": trainer.learner.updates})
    return result


def run_check(name: str, seed: int, out_root: Path, fast: bool = False,
              overrides: list[str] | None = None) -> dict[str, Any]:
    if name in BANDIT_CHECKS:
        return run_bandit_check(name, seed, out_root,
                                (["total_frames=200000"] if fast else []) + (overrides or []))
    from ada.bayes.sequence_trainer import (
        FAST_SEQUENCE_CHECKS,
        SEQUENCE_CHECKS,
        run_sequence_check,
    )

    cfg = (FAST_SEQUENCE_CHECKS if fast else SEQUENCE_CHECKS)[name]
    return run_sequence_check(cfg, seed) | {"name": name}


def summarise(name: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    values = [r["value"] for r in results]
    median = statistics.median(values)
    bar = results[0]["bar"]
    return {"check": name, "metric": results[0]["metric"], "median": median, "values": values,
            "bar": bar, "passed": median <= bar,
            "train_seconds": [round(r["train"]["wall_seconds"], 1) for r in results]}


def format_row(s: dict[str, Any], results: list[dict[str, Any]]) -> str:
    r0 = results[0]
    if s["check"] in BANDIT_CHECKS:
        refs = r0["references"]
        ref = (f"Bayes V*={refs['bayes_value']:.4f}; gaps: greedy {refs['greedy_gap']:.3f}, "
               f"Thompson {refs['thompson_gap']:.3f}, random {refs['random_gap']:.3f}")
        if "exploit_only_gap" in refs:
            ref += f", exploit-only {refs['exploit_only_gap']:.3f}"
        greedy = statistics.median(r["suboptimality_greedy"] for r in results)
        ref += f" | agent argmax {greedy:.4f}"
    else:
        ref = ", ".join(f"{k} {v:.4f}" for k, v in r0.items()
                        if k.startswith("excess_") and isinstance(v, float))[:160]
    vals = " ".join(f"{v:.4f}" for v in s["values"])
    verdict = "PASS" if s["passed"] else "FAIL"
    return (f"{s['check']:<13} {s['metric']:<28} median {s['median']:.4f} (seeds: {vals}) "
            f"bar {s['bar']:.4f} {verdict}  train s {s['train_seconds']}\n    {ref}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", nargs="+", default=list(CHECKS), choices=CHECKS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("outputs/bayes_check"))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="Hydra overrides for the bandit checks' training runs")
    parser.add_argument("--fast", action="store_true",
                        help="about a minute per run: a smoke test, not the pass bars")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    summaries, lines = [], []
    for name in args.checks:
        results = []
        for seed in args.seeds:
            res = run_check(name, seed, args.out, fast=args.fast, overrides=args.set)
            results.append(res)
            print(f"[{name} seed {seed}] {res['metric']} = {res['value']:.4f} "
                  f"(bar {res['bar']:.4f})", flush=True)
        summary = summarise(name, results)
        summaries.append({**summary, "runs": results})
        lines.append(format_row(summary, results))
        (args.out / "results.json").write_text(json.dumps(summaries, indent=2, default=str))
    print("\n".join(["", f"Bayes-optimality checks (median over seeds {args.seeds})", *lines]))
    return 0 if all(s["passed"] for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
