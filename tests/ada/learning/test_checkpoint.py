"""Atomic checkpoints, clear errors on bad files, and exact resume of a training run."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from ada.config import TrainConfig
from ada.learning.checkpoint import (
    CheckpointError,
    UnverifiedCheckpointWarning,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from ada.trainer import Trainer, load_agent


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
    with pytest.warns(UnverifiedCheckpointWarning), \
            pytest.raises(CheckpointError, match=r"missing field\(s\).*learner.optimizer"):
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


# ---- damaged, foreign and older files --------------------------------------------------------


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real checkpoint of a tiny bandit run after one update."""
    out = tmp_path_factory.mktemp("run")
    trainer = Trainer(small_config(out, resume="never"))
    trainer.run(max_updates=1)
    trainer.close()
    path = latest_checkpoint(out / "checkpoints")
    assert path is not None
    return path


def _resave(payload: dict, path: Path) -> Path:
    return save_checkpoint(path, learner=payload["learner"], actors=payload["actors"],
                           config=payload["config"], step=payload["step"],
                           extra=payload.get("extra"))


def test_checkpoint_records_the_sha256_of_its_payload(saved: Path) -> None:
    outer = torch.load(saved, weights_only=False)
    assert outer["version"] == 2 and len(outer["sha256"]) == 64
    raw = outer["payload"].numpy().tobytes()
    assert hashlib.sha256(raw).hexdigest() == outer["sha256"]
    assert load_checkpoint(saved)["learner"]["updates"] == 1


def test_one_flipped_byte_in_the_weights_is_a_corrupt_checkpoint(saved: Path,
                                                                 tmp_path: Path) -> None:
    weights = load_checkpoint(saved)["learner"]["agent"]
    name, tensor = max(weights.items(), key=lambda kv: kv[1].numel())
    raw = tensor.numpy().tobytes()
    data = bytearray(saved.read_bytes())
    at = data.find(raw)
    assert at >= 0  # the weights are stored uncompressed, so the flip lands inside them
    data[at + len(raw) // 2] ^= 0x01
    bad = tmp_path / "ckpt_flipped.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=rf"^checkpoint {bad}: corrupt: the SHA-256"):
        load_checkpoint(bad)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_agent(bad)


def test_missing_or_misshaped_tensor_names_it_and_the_shapes(saved: Path,
                                                             tmp_path: Path) -> None:
    payload = load_checkpoint(saved)
    weights = payload["learner"]["agent"]
    name = next(k for k, v in weights.items() if v.dim() == 2)
    shape = tuple(weights[name].shape)
    weights[name] = torch.zeros(shape[0], shape[1] + 1)
    wrong = _resave(payload, tmp_path / "wrong" / "ckpt_00000001.pt")
    with pytest.raises(CheckpointError) as e:
        load_agent(wrong)
    msg = str(e.value)
    assert msg.startswith(f"checkpoint {wrong}: learner.agent: tensor {name!r}")
    assert f"{(shape[0], shape[1] + 1)}" in msg and f"expects {shape}" in msg

    del weights[name]
    missing = _resave(payload, tmp_path / "missing" / "ckpt_00000001.pt")
    with pytest.raises(CheckpointError, match=rf"tensor '{name}' is missing.*expects shape"):
        load_agent(missing)
    # resuming a run from it: the learner names the file and the tensor, and keeps its weights
    trainer = Trainer(small_config(tmp_path / "run"))
    before = params(trainer)
    with pytest.raises(CheckpointError, match=rf"^checkpoint {missing}: learner\.agent: tensor "
                                              rf"'{name}' is missing"):
        trainer.restore(missing)
    for k, v in params(trainer).items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    trainer.close()


def test_optimizer_state_of_other_shapes_is_a_checkpoint_error(saved: Path,
                                                               tmp_path: Path) -> None:
    payload = load_checkpoint(saved)
    state = payload["learner"]["optimizer"]["state"]
    pid = next(iter(state))
    state[pid]["exp_avg"] = torch.zeros(3, 1, 7)
    path = _resave(payload, tmp_path / "opt" / "ckpt_00000001.pt")
    trainer = Trainer(small_config(tmp_path / "opt"))
    with pytest.raises(CheckpointError, match=r"learner\.optimizer: state\[.*'exp_avg'\] has "
                                              r"shape \(3, 1, 7\)"):
        trainer.restore(path)
    assert trainer.learner.updates == 0
    trainer.close()


@pytest.mark.parametrize(("field", "value", "kind"), [
    ("config", [1, 2], "list"), ("config", "agent: tiny", "str"), ("learner", 3, "int"),
    ("actors", {}, "dict"),
])
def test_fields_of_the_wrong_type_are_checkpoint_errors(saved: Path, tmp_path: Path, field: str,
                                                         value, kind: str) -> None:
    payload = load_checkpoint(saved)
    payload[field] = value
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, **{k: payload[k] for k in ("learner", "actors", "config", "step")})
    with pytest.raises(CheckpointError, match=rf"^checkpoint {path}: field '{field}' is a {kind}"):
        load_agent(path)


def test_config_this_code_rejects_is_a_checkpoint_error(saved: Path, tmp_path: Path) -> None:
    payload = load_checkpoint(saved)
    payload["config"]["agent"] = {**payload["config"]["agent"], "width": "wide"}
    path = _resave(payload, tmp_path / "ckpt.pt")
    with pytest.raises(CheckpointError, match=rf"^checkpoint {path}: its config is not valid"):
        load_agent(path)


def test_version_1_checkpoint_without_checksum_loads_with_a_warning(saved: Path,
                                                                    tmp_path: Path) -> None:
    payload = load_checkpoint(saved)
    old = tmp_path / "ckpt_old.pt"
    torch.save({**payload, "version": 1}, old)  # the layout before checksums
    with pytest.warns(UnverifiedCheckpointWarning, match="no checksum.*checkpoint again"):
        loaded = load_checkpoint(old)
    assert loaded["learner"]["updates"] == 1
    torch.save({**payload, "version": 3}, old)
    with pytest.raises(CheckpointError, match=r"field 'version' is 3; allowed are \[1, 2\]"):
        load_checkpoint(old)
    outer = torch.load(saved, weights_only=False)
    torch.save({**outer, "sha256": None}, old)
    with pytest.raises(CheckpointError, match="'sha256'.*malformed"):
        load_checkpoint(old)
