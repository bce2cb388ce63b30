"""Training configs: Hydra composition of every experiment, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ada.config import ConfigError, TrainConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
EXPERIMENTS = sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml"))


def compose_train(overrides: list[str], quickstart: bool = False) -> dict:
    """train.yaml composed without the default experiment (the quickstart) unless asked."""
    if not quickstart and not any(o.startswith("experiment=") for o in overrides):
        overrides = ["~experiment", *overrides]
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = compose("train", overrides=overrides, return_hydra_config=False)
    container = OmegaConf.to_container(cfg, resolve=False)
    container["out_dir"] = "outputs/test"
    return container


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_and_validates(experiment: str) -> None:
    cfg = TrainConfig.from_dict(compose_train([f"experiment={experiment}"]))
    assert cfg.name == experiment and cfg.total_updates >= 1


def test_default_config_validates() -> None:
    cfg = TrainConfig.from_dict(compose_train([]))
    assert cfg.env.kind == "bandit" and cfg.runtime.backend == "inline"


def test_no_arguments_compose_the_quickstart() -> None:
    cfg = TrainConfig.from_dict(compose_train([], quickstart=True))
    assert cfg.name == "quickstart" and cfg.env.kind == "world" and cfg.env.family == "tiny"
    assert cfg.runtime.backend == "ray" and cfg.curriculum.kind == "noop"
    assert cfg.eval_tasks > 0 and cfg.eval_videos >= 1


@pytest.mark.parametrize("override,match", [
    ("algo.entropy_cost=-1", r"algo\.entropy_cost: -1.*allowed are numbers >= 0"),
    ("algo.advantage_norm=layer", r"algo\.advantage_norm: 'layer'.*\['none', 'batch'\]"),
    ("runtime.backend=mpi", r"runtime\.backend: 'mpi'.*\['inline', 'ray'\]"),
    ("runtime.unroll_length=0", r"runtime\.unroll_length: 0.*integers >= 1"),
    ("agent.width=30", r"agent\.width: 30 must be even and divisible by heads"),
    ("+agent.depth=3", r"agent: unknown field\(s\) \['depth'\]"),
    ("env.horizon=0", r"env\.horizon"),
    ("env.known_p_start=0.5", r"env\.known_p_start: 0\.5 is not allowed without a known arm"),
    ("env.warmup_frames=-1", r"env\.warmup_frames: -1.*integers >= 0"),
    ("+algo.lr=0.1", r"algo: unknown field\(s\) \['lr'\]"),
    ("total_frames=0", r"total_frames: 0.*integers >= 1"),
    ("resume=/no/such/file.pt", r"resume: '/no/such/file.pt'.*'auto'"),
])
def test_bad_values_fail_naming_the_field(override: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_dict(compose_train([override]))


def test_env_kind_and_world_family_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"env\.kind: 'maze'.*\['bandit', 'world', 'levers'\]"):
        TrainConfig.from_dict(compose_train(["env.kind=maze"]))
    with pytest.raises(ConfigError, match=r"env\.family.*known families"):
        TrainConfig.from_dict(compose_train(["env=world", "env.family=nope"]))
    world = TrainConfig.from_dict(compose_train(["env=world"]))
    assert world.env.family == "tiny"


def test_worker_nice_is_validated() -> None:
    from ada.config import TrainConfig
    from ada.validation import ConfigError

    assert TrainConfig.from_dict({"runtime": {"worker_nice": 5}}).runtime.worker_nice == 5
    with pytest.raises(ConfigError, match=r"^runtime.worker_nice: 25 is not allowed"):
        TrainConfig.from_dict({"runtime": {"worker_nice": 25}})
