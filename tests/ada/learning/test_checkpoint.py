"""Atomic checkpoints, clear errors on bad files, and exact resume of a training run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ada.config import TrainConfig
from ada.learning.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from ada.trainer import Trainer


def small_config(out_dir: Path, **overrides) -> TrainConfig:
    cfg = {
        "agent": {"size": "tiny", "memory_length": 5},
        "algo": {"learning_rate": 1e-3, "discount": 1.0, "entropy_cost": 0.01},
        "env": {"kind": "bandit", "horizon": 5},
        "runtime": {"envs_per_actor": 8, "unroll_length": 3, "num_actors": 2},
        "total_frames": 8 * 3 * 2 * 6, "out_dir": str(out_dir), "progress": False,
        "checkpoint_every": 1000, "log_every": 2,
    }
    cfg.update(overrides)
    return TrainConfig.from_dict(cfg)


def params(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.learner.agent.state_dict().items()}


def test_resume_continues_bit_for_bit(tmp_path: Path) -> None:
    """6 updates straight == 3 updates, checkpoint, a fresh Trainer resumes, 3 more updates."""
    straight = Trainer(small_config(tmp_path / "a", resume="never"))
    straight.run()
    assert straight.learner.updates == 6

    first = Trainer(small_config(tmp_path / "b"))
    first.run(max_updates=3)
    first.close()
    assert latest_checkpoint(tmp_path / "b" / "checkpoints").name == "ckpt_00000003.pt"
    resumed = Trainer(small_config(tmp_path / "b"))
    resumed.run()
    assert resumed.learner.updates == 6
    a, b = params(straight), params(resumed)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
    sa, sb = straight.learner.optimizer.state_dict(), resumed.learner.optimizer.state_dict()
    torch.testing.assert_close(sa["state"][0]["exp_avg"], sb["state"][0]["exp_avg"], rtol=0,
                               atol=0)
    assert (tmp_path / "b" / "tb").is_dir() and any((tmp_path / "b" / "tb").iterdir())


def test_resume_refuses_a_different_network(tmp_path: Path) -> None:
    Trainer(small_config(tmp_path)).run(max_updates=1)
    other = small_config(tmp_path, agent={"size": "tiny", "memory_length": 4})
    with pytest.raises(CheckpointError, match="config field 'agent' differs"):
        Trainer(other).run()


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ckpt.pt"
    learner = {"agent": {}, "optimizer": {}, "updates": 1, "frames": 2}
    save_checkpoint(path, learner=learner, actors=[], config={}, step=1)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", explode)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, learner=learner, actors=[], config={}, step=2)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert load_checkpoint(path)["step"] == 1


def test_bad_checkpoints_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no file"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": 1}, foreign)
    with pytest.raises(CheckpointError, match="field 'format'"):
        load_checkpoint(foreign)
    partial = tmp_path / "partial.pt"
    torch.save({"format": "ada-checkpoint", "version": 1, "learner": {"agent": {}}}, partial)
    with pytest.raises(CheckpointError, match=r"missing field\(s\).*learner.optimizer"):
        load_checkpoint(partial)


def test_resume_allows_a_different_launch_layout_but_not_data_shape(tmp_path: Path) -> None:
    """Where and how actors run (overlap, restarts, cluster address) may change on resume; the batch
    layout may not."""
    Trainer(small_config(tmp_path)).run(max_updates=1)
    relaunched = small_config(tmp_path, runtime={"envs_per_actor": 8, "unroll_length": 3,
                                                 "num_actors": 2,
                                                 "overlap": False, "max_actor_restarts": 3})
    trainer = Trainer(relaunched)
    assert trainer.maybe_resume() is not None and trainer.learner.updates == 1
    trainer.close()
    reshaped = small_config(tmp_path, runtime={"envs_per_actor": 4, "unroll_length": 3,
                                               "num_actors": 2})
    with pytest.raises(CheckpointError, match="config field 'runtime.envs_per_actor' differs"):
        Trainer(reshaped).maybe_resume()
