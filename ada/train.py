"""Train an agent: `python -m ada.train [experiment=<name>] [overrides]`.

A thin Hydra shell: compose the config tree in configs/ (train.yaml and the groups agent/,
algo/, env/, runtime/, experiment/), validate it into a `TrainConfig` (a wrong value stops here
with the field name and the allowed values), then hand it to `Trainer`. Outputs land in the
run directory: `checkpoints/` (atomic, resumable with `resume=auto` and the same `out_dir`)
and `tb/` (TensorBoard: `tensorboard --logdir outputs/train`).

Examples:

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


def config_from_hydra(cfg: DictConfig) -> TrainConfig:
    container: Any = OmegaConf.to_container(cfg, resolve=True)
    container.pop("hydra", None)
    return TrainConfig.from_dict(container)


@hydra.main(config_path="../configs", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    try:
        train_cfg = config_from_hydra(cfg)
    except ConfigError as err:
        print(f"ada.train: config error: {err}", file=sys.stderr)
        sys.exit(2)
    from ada.trainer import Trainer

    trainer = Trainer(train_cfg)
    try:
        summary = trainer.run()
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
        print(json.dumps(report, indent=2))
    finally:
        trainer.close()


if __name__ == "__main__":
    main()
