"""Train an agent: `python -m ada.train [experiment=<name>] [overrides]`.

A thin Hydra shell: compose the config tree in configs/ (train.yaml and the groups agent/,
algo/, env/, curriculum/, runtime/, experiment/), validate it into a `TrainConfig` (a wrong
value stops here with the field name and the allowed values), then hand it to `Trainer`.
Outputs land in the run directory: `checkpoints/` (atomic, resumable with `resume=auto` and the
same `out_dir`), `tb/` (TensorBoard: `tensorboard --logdir outputs/train`) and, for 3D-world
runs with `eval_tasks > 0`, `eval/` (held-out per-trial evaluation against random and no-op,
plot and agent videos, as `python -m ada.evaluate` writes them).

Examples:

    python -m ada.train                                 # the quickstart (experiment=quickstart)
    python -m ada.train experiment=bayes_bandit
    python -m ada.train experiment=bayes_bandit seed=1 total_frames=500000
    python -m ada.train env=bandit agent=bandit algo.entropy_cost=0.003
    python -m ada.train experiment=bayes_bandit out_dir=outputs/mine   # rerun: resumes
"""

from __future__ import annotations

import json
import sys
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from ada.config import ConfigError, TrainConfig
from ada.paths import config_dir


def config_from_hydra(cfg: DictConfig) -> TrainConfig:
    container: Any = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    return TrainConfig.from_dict(container)


@hydra.main(config_path=str(config_dir()), config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        train_cfg = config_from_hydra(cfg)
    except ConfigError as err:
        print(f"ada.train: config error: {err}", file=sys.stderr)
        sys.exit(2)
    from ada.learning.checkpoint import CheckpointError
    from ada.trainer import Trainer

    trainer = Trainer(train_cfg)
    try:
        try:
            summary = trainer.run()
        except CheckpointError as err:  # resume= names a file that cannot be continued
            print(f"ada.train: checkpoint error: {err}", file=sys.stderr)
            sys.exit(2)
        report: dict[str, Any] = {"out_dir": train_cfg.out_dir, "updates": summary["updates"],
                                  "frames": summary["frames"]}
        if summary["history"]:
            last = summary["history"][-1]
            report.update({k: last[k] for k in ("episode/return", "fps") if k in last})
        if train_cfg.eval_episodes and train_cfg.env.kind == "bandit":
            from ada.eval.bandit import evaluate_bandit_agent

            report["eval"] = evaluate_bandit_agent(
                trainer.learner.agent, train_cfg.env.family(), train_cfg.eval_episodes,
                seed=train_cfg.seed + 10_000)
    finally:
        trainer.close()
    if train_cfg.eval_tasks and train_cfg.env.kind == "world":
        report["heldout_eval"] = heldout_evaluation(train_cfg)
    print(json.dumps(report, indent=2))


def heldout_evaluation(cfg: TrainConfig) -> dict[str, Any]:
    """The trained agent vs random and no-op on held-out tasks, trial by trial (ada.evaluate),
    written to out_dir/eval; returns the per-trial means, the trial-1-to-k gains and the agent
    minus each baseline paired by task (mean, s.e., tasks higher / lower)."""
    from pathlib import Path

    from ada.evaluate import EvalConfig, format_table, run

    out = Path(cfg.out_dir) / "eval"
    result = run(EvalConfig(checkpoint=str(Path(cfg.out_dir) / "checkpoints"),
                            tasks="heldout", n_tasks=cfg.eval_tasks, trials=cfg.eval_trials,
                            seed=cfg.seed, videos=cfg.eval_videos, out=str(out)),
                 log=lambda msg: print(msg, file=sys.stderr))
    print(format_table(result.summary), file=sys.stderr)
    means: dict[str, list[float]] = {}
    for row in result.summary.rows:
        means.setdefault(row["policy"], []).append(round(row["mean"], 4))
    return {"out": str(out), "tasks": cfg.eval_tasks, "mean_per_trial": means,
            "gain": {k: round(v, 4) for k, v in result.summary.gain.items()},
            "agent_minus": {k: {f: round(x, 4) for f, x in v.items()}
                            for k, v in result.summary.versus.items()},
            "videos": [str(p) for p in result.videos]}


if __name__ == "__main__":
    main()
