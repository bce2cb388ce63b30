"""Task audit: how many generated (or probe) tasks the privileged expert solves, and why not.

Usage: python tools/audit_tasks.py [--family default] [--n 500] [--split test|train|none]
                                   [--probes] [--seed 0] [--trial-steps N] [--out audit.json]

Draws `--n` tasks of `--family` (by default from the held-out side of the default split, as
`ada.evaluate tasks=heldout` does), plays trial 1 of each with the expert, and prints the
fraction solved, how many have a symbolic plan, the median step of the first goal, the failure
causes, the expert's planning time per step against the env's step time, and the tasks solved
per bucket of plan length over trial length (the expert's own estimate of the metres it must
walk, plus 3 m per plan step, over the metres a trial lets it walk). `--probes` audits
the hand-authored probe tasks instead; `--trial-steps` plays a trial of that many steps instead
of each task's own (how much of a failure is time, not skill). `--out` writes the summary and
one row per task as JSON. Exit code 1 if some task has no plan (a generator defect).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worlds.expert.audit import audit_dict, audit_tasks, summarise  # noqa: E402
from worlds.family import load_family  # noqa: E402
from worlds.generator import TaskGenerator  # noqa: E402
from worlds.probes import load_probe, probe_names  # noqa: E402
from worlds.split import Split  # noqa: E402
from worlds.task import with_episode  # noqa: E402


def _tasks(args: argparse.Namespace) -> list:
    if args.probes:
        named = [(name, load_probe(name)) for name in probe_names()]
    else:
        split = None if args.split == "none" else Split().with_role(args.split)
        gen = TaskGenerator(load_family(args.family), split=split)
        named = [(t.task_id, t) for t in gen.generate(args.seed, args.n)]
    if args.trial_steps is not None:
        named = [(name, with_episode(t, 1, args.trial_steps)) for name, t in named]
    return named


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--family", default="default")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--split", choices=("test", "train", "none"), default="test")
    p.add_argument("--probes", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--trial-steps", type=int, default=None)
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--failures", type=int, default=10, help="failed tasks to list")
    args = p.parse_args(argv)
    audits = audit_tasks(_tasks(args))
    s = summarise(audits)
    what = "probes" if args.probes else f"{args.family} ({args.split} split, seed {args.seed})"
    if args.trial_steps is not None:
        what += f", trials of {args.trial_steps} steps"
    print(f"audit of {s['tasks']} tasks of {what}")
    print(f"  symbolic plan:      {s['with_plan']} / {s['tasks']}")
    print(f"  solved in trial 1:  {s['solved']} / {s['tasks']} ({100 * s['solved_fraction']:.1f}%)")
    print(f"  first goal at step: median {s['median_first_goal_step']}")
    print(f"  goal held:          {s['mean_held_fraction']:.3f} of the trial on average")
    print(f"  expert per step:    {s['plan_ms_per_step']:.2f} ms planning vs "
          f"{s['env_ms_per_step']:.2f} ms env step (no rendering)")
    print(f"  physics warnings:   {s['physics_warnings']}")
    print("  failures by cause:  " + (", ".join(f"{k} {v}" for k, v in s["causes"].items())
                                      or "none"))
    for b in s["by_load"]:
        lo, hi = b["load"]
        rate = f"{b['solved']} solved" if b["tasks"] else "-"
        print(f"  plan/trial in [{lo:.1f}, {hi:.1f}): {b['tasks']} tasks, {rate}")
    for a in [a for a in audits if not a.solved][:args.failures]:
        print(f"    {a.name}: {a.cause}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(json.dumps(audit_dict(audits), indent=1))
        tmp.replace(args.out)
        print(f"wrote {args.out}")
    return 0 if s["with_plan"] == s["tasks"] else 1


if __name__ == "__main__":
    sys.exit(main())
