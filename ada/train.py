"""Train an agent: `python -m ada.train [experiment=<name>] [overrides]`.

A thin Hydra shell: compose the config tree in configs/ (train.yaml and the groups agent/,
algo/, env/, curriculum/, runtime/, experiment/), validate it into a `TrainConfig` (a wrong
value stops here with the field name and the allowed values), then hand it to `Trainer`.
Outputs land in the run directory: `checkpoints/` (atomic, resumable with `resume=auto` and the
same `out_dir`), `tb/` (TensorBoard: `tensorboard --logdir outputs/train`) and, for 3D-world
runs with `eval_tasks > 0`, `eval/` (held-out per-trial evaluation against random and no-op,
plot and agent videos, as `python -m ada.evaluate` writes them). Which evaluation follows
training is the env kind's (`ada.envs.registry.EnvKind.evaluator`).

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
    from ada.envs import post_training_report
    from ada.learning.checkpoint import CheckpointError
    from ada.trainer import Trainer

    try:
        trainer = Trainer(train_cfg)
    except ConfigError as err:  # what only building can check (a kickstart teacher's file)
        print(f"ada.train: config error: {err}", file=sys.stderr)
        sys.exit(2)
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
    finally:
        trainer.close()
    report.update(post_training_report(train_cfg, trainer.learner.agent))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
