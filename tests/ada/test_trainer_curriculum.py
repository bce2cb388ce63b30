"""Curricula wired into training: task sources, episode feedback, logging, checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ada.config import ConfigError, TrainConfig
from ada.trainer import Trainer

BASE: dict[str, Any] = {
    "agent": {"size": "tiny", "memory_length": 20},
    "env": {"kind": "levers", "n_levers": 4, "horizon": 10},
    "algo": {"learning_rate": 1e-3, "discount": 1.0},
    "runtime": {"envs_per_actor": 16, "unroll_length": 10}, "log_every": 10,
    "checkpoint_every": 1000, "progress": False,
}


def config(tmp_path: Path, curriculum: dict[str, Any], frames: int, **kw: Any) -> TrainConfig:
    return TrainConfig.from_dict({**BASE, "curriculum": curriculum, "total_frames": frames,
                                  "out_dir": str(tmp_path), **kw})


def test_noop_plr_trains_on_learnable_tasks_and_logs_its_state(tmp_path: Path) -> None:
    cur = {"kind": "noop_plr", "plr": {"capacity": 64, "min_fill": 0.5}}
    trainer = Trainer(config(tmp_path, cur, 160 * 60))
    emitted: list[str] = []
    sample = trainer.curriculum.sample

    def recording(rng: np.random.Generator) -> Any:
        task = sample(rng)
        emitted.append(task.task_id)
        return task

    trainer.curriculum.sample = recording  # type: ignore[method-assign]
    episodes: list[Any] = []
    collect = trainer.collect

    def collecting() -> Any:
        batch, metrics = collect()
        episodes.extend(batch.episodes)
        return batch, metrics

    trainer.collect = collecting  # type: ignore[method-assign]
    try:
        trainer.run()
    finally:
        trainer.close()
    # the env only ever plays what the curriculum chose (no silent auto-reset draws)
    played = [e.task_id for e in episodes]
    assert played and set(played) <= set(emitted)
    assert all(played.count(t) <= emitted.count(t) for t in set(played))
    kinds = [e.kind for e in episodes]
    assert "trivial" not in kinds and kinds.count("learnable") / len(kinds) > 0.5
    last = trainer.history[-1]
    for key in ("curriculum/buffer_size", "curriculum/replay_fraction",
                "curriculum/admission_rate", "curriculum/buffer_score_p50",
                "curriculum/sampled_kind_learnable", "curriculum/share_frontier",
                "curriculum/candidate_episodes_total"):
        assert key in last, key
    assert last["curriculum/buffer_size"] > 0 and last["curriculum/replay_fraction"] > 0


def test_resume_restores_the_curriculum_exactly(tmp_path: Path) -> None:
    cur = {"kind": "plr", "plr": {"capacity": 32, "min_fill": 0.25, "no_grad_new": True}}
    a = Trainer(config(tmp_path / "a", cur, 160 * 12))
    try:
        a.run(max_updates=6)
        a.save()
        state = a.curriculum.state_dict()
        assert a.history[-1].get("learn/masked_fraction", 0.0) > 0.0  # robust PLR masks
    finally:
        a.close()
    b = Trainer(config(tmp_path / "a", cur, 160 * 12))
    try:
        assert b.maybe_resume() is not None
        assert b.curriculum.state_dict() == state
    finally:
        b.close()


def test_bandit_env_refuses_a_task_curriculum(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"curriculum\.kind: 'plr' is not allowed with "
                                          r"env\.kind=bandit"):
        TrainConfig.from_dict({"env": {"kind": "bandit"}, "curriculum": {"kind": "plr"}})
    with pytest.raises(ConfigError, match=r"curriculum\.plr\.replay_prob"):
        config(tmp_path, {"kind": "plr", "plr": {"replay_prob": 1.5}}, 100)
    with pytest.raises(ConfigError, match=r"env\.weights"):
        TrainConfig.from_dict({"env": {"kind": "levers", "weights": [1, -1, 1]}})


def test_world_training_with_noop_plr_filters_by_physics(tmp_path: Path) -> None:
    cfg = TrainConfig.from_dict({
        "agent": {"size": "tiny"}, "env": {"kind": "world", "family": "tiny", "image_size": 16},
        "curriculum": {"kind": "noop_plr"},
        "runtime": {"envs_per_actor": 2, "unroll_length": 5}, "total_frames": 20,
        "out_dir": str(tmp_path), "progress": False, "log_every": 1})
    trainer = Trainer(cfg)
    try:
        trainer.run()
    finally:
        trainer.close()
    last = trainer.history[-1]
    assert last["curriculum/noop_eval_frames_total"] >= 2 * 60  # one no-op trial per candidate
    assert any("curriculum/sampled_rule_depth" in h and "curriculum/sampled_objects" in h
               for h in trainer.history)
    split = trainer.space.split
    assert all(not split.is_heldout(t.split_key) for t in trainer.curriculum.pending.values()
               for t in [t[0]])
