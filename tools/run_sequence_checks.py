"""Run the full-strength sequence-prediction checks for some seeds and print a table.

    python tools/run_sequence_checks.py                       # both checks, seeds 0 1 2
    python tools/run_sequence_checks.py --checks piecewise --seeds 0 --json out.json

Runs are sequential and single-threaded (the bars are stated for a 2-core CPU, one thread).
Each row: training wall seconds and updates, agent and Bayes loss, excess per sequence and per
step (+- standard error, paired on the same evaluation sequences), the references' excess, the
bar and pass/fail. A check passes when the median over seeds passes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import torch

from ada.bayes.sequence_trainer import SEQUENCE_CHECKS, run_sequence_check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", nargs="+", default=list(SEQUENCE_CHECKS),
                        choices=sorted(SEQUENCE_CHECKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="write all results to this file")
    parser.add_argument("--verbose", action="store_true", help="log the training loss")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    def log(update: int, stats: dict) -> None:
        print(f"  update {update}: loss {stats['loss']:.4f} lr {stats['lr']:.2e} "
              f"{stats['seconds']:.0f}s", flush=True)

    results = []
    for name in args.checks:
        for seed in args.seeds:
            r = run_sequence_check(name, seed, log if args.verbose else None)
            results.append(r)
            refs = " ".join(f"{k}={v['excess_per_sequence']:.3f}/{v['excess_per_step']:.4f}"
                            for k, v in r["references"].items())
            print(f"{name} seed={seed} train={r['train']['wall_seconds']:.0f}s "
                  f"updates={r['train']['updates']} agent={r['agent_loss']:.3f} "
                  f"bayes={r['bayes_loss']:.3f} nats/seq ({r['agent_loss_per_step']:.4f} vs "
                  f"{r['bayes_loss_per_step']:.4f} /step) "
                  f"excess/seq={r['excess_per_sequence']:.4f}+-{r['excess_per_sequence_se']:.4f} "
                  f"excess/step={r['excess_per_step']:.5f}+-{r['excess_per_step_se']:.5f} "
                  f"{r['metric']}<={r['bar']} {'PASS' if r['passed'] else 'FAIL'} | "
                  f"references excess/seq/step: {refs}", flush=True)
    failed = False
    print("\ncheck        metric               median     bar     seeds passed  result")
    for name in args.checks:
        rows = [r for r in results if r["name"] == name]
        median = statistics.median(r["value"] for r in rows)
        bar = rows[0]["bar"]
        ok = median <= bar
        failed |= not ok
        print(f"{name:12s} {rows[0]['metric']:20s} {median:9.5f} {bar:7.3f} "
              f"{sum(r['passed'] for r in rows)}/{len(rows):<10d} {'PASS' if ok else 'FAIL'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
