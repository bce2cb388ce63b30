"""Curricula compared on the lever family with the same frame budget and seeds.

    python tools/run_curriculum_experiment.py --curricula uniform noop_plr --seeds 0 1 2

Each run trains `experiment=curriculum_levers` with one curriculum, then plays held-out
learnable tasks (never trained on: the split's test side) with the trained agent. Reported per
curriculum, mean and spread over seeds: the share of training episodes spent on learnable tasks
and the held-out learnable score (normalised return), beside the exact no-op, random and oracle
scores of the same held-out tasks. Results go to <out>/results.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch


def compose(overrides: list[str]) -> Any:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    from ada.config import TrainConfig
    from ada.paths import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base=None):
        cfg = hydra_compose("train", overrides=overrides)
    return TrainConfig.from_dict(OmegaConf.to_container(cfg, resolve=True))


def run_one(curriculum: str, seed: int, frames: int | None, out: Path, eval_tasks: int,
            eval_episodes: int, extra: list[str] | None = None) -> dict[str, Any]:
    from ada.bayes.levers import LeverTaskGenerator
    from ada.eval.levers import evaluate_lever_agent
    from ada.trainer import Trainer

    overrides = ["experiment=curriculum_levers", f"curriculum={curriculum}", f"seed={seed}",
                 f"out_dir={out / f'{curriculum}_s{seed}'}", "resume=never", "progress=false"]
    if frames:
        overrides.append(f"total_frames={frames}")
    overrides += extra or []
    cfg = compose(overrides)
    trainer = Trainer(cfg)
    t0 = time.perf_counter()
    trainer.run()
    wall = time.perf_counter() - t0
    hist = trainer.history
    share = float(np.mean([h["curriculum/sampled_kind_learnable"] for h in hist
                           if "curriculum/sampled_kind_learnable" in h]))
    totals = dict(trainer.curriculum.totals) if trainer.curriculum is not None else {}
    heldout = LeverTaskGenerator(cfg.env.family(), cfg.env.split().with_role("test"))
    tasks = heldout.generate(seed=12345, n=eval_tasks, kind="learnable")
    result = evaluate_lever_agent(trainer.learner.agent.cpu(), tasks, eval_episodes,
                                  seed=999)
    trainer.close()
    return {"curriculum": curriculum, "seed": seed, "frames": trainer.learner.frames,
            "wall_seconds": wall, "learnable_share": share, "heldout": result,
            "curriculum_totals": totals}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--curricula", nargs="+", default=["uniform", "noop_plr"],
                   choices=["uniform", "noop", "plr", "noop_plr"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--frames", type=int, default=None, help="override total_frames")
    p.add_argument("--eval-tasks", type=int, default=200)
    p.add_argument("--eval-episodes", type=int, default=4)
    p.add_argument("--out", type=Path, default=Path("outputs/curriculum_experiment"))
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="extra Hydra overrides for every run (e.g. curriculum.plr.scorer=maxmc)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    runs = []
    for c in args.curricula:
        for s in args.seeds:
            r = run_one(c, s, args.frames, args.out, args.eval_tasks, args.eval_episodes,
                        args.set)
            runs.append(r)
            h = r["heldout"]
            print(f"{c:9s} seed {s}: learnable share {r['learnable_share']:.3f}  held-out "
                  f"learnable score {h['agent']:.3f} +- {h['agent_se']:.3f} "
                  f"({r['wall_seconds']:.0f} s)", flush=True)
    print(f"\n{'curriculum':10s} {'learnable share':>22s} {'held-out score':>22s}")
    summary = {}
    for c in args.curricula:
        rs = [r for r in runs if r["curriculum"] == c]
        share = np.array([r["learnable_share"] for r in rs])
        score = np.array([r["heldout"]["agent"] for r in rs])
        summary[c] = {"learnable_share_mean": float(share.mean()),
                      "learnable_share_std": float(share.std(ddof=1)) if len(rs) > 1 else 0.0,
                      "heldout_mean": float(score.mean()),
                      "heldout_std": float(score.std(ddof=1)) if len(rs) > 1 else 0.0,
                      "heldout_min": float(score.min()), "heldout_max": float(score.max())}
        m = summary[c]
        print(f"{c:10s} {m['learnable_share_mean']:12.3f} +- {m['learnable_share_std']:.3f} "
              f"{m['heldout_mean']:12.3f} +- {m['heldout_std']:.3f}")
    h = runs[0]["heldout"]
    print(f"baselines on the same held-out tasks: no-op {h['noop']:.3f}, random "
          f"{h['random']:.3f}, oracle {h['oracle']:.3f}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(
        {"runs": runs, "summary": summary, "overrides": args.set}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
