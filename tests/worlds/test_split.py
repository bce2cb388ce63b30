"""Held-out split: a salted hash of the task id, probes always held out, a stable split id."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from worlds.probes import load_probes
from worlds.split import Split


def _ids(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"{int(x):016x}" for x in rng.integers(0, 2**63, n)]


def test_hash_definition_is_salted_sha256() -> None:
    s = Split()
    tid = "0123456789abcdef"
    digest = hashlib.sha256(f"ada-heldout-v1:{tid}".encode()).digest()
    assert s.hash_unit(tid) == int.from_bytes(digest[:8], "big") / 2**64
    assert 0.0 <= s.hash_unit(tid) < 1.0
    assert s.is_heldout(tid) == (s.hash_unit(tid) < 0.1)


def test_heldout_fraction_is_respected() -> None:
    ids = _ids(20000)
    frac = np.mean([Split().is_heldout(t) for t in ids])
    assert 0.09 < frac < 0.11
    assert not any(Split(heldout_fraction=0.0).is_heldout(t) for t in ids[:2000])
    assert all(Split(heldout_fraction=1.0).is_heldout(t) for t in ids[:2000])
    a = {t for t in ids if Split().is_heldout(t)}
    b = {t for t in ids if Split(salt="other").is_heldout(t)}
    assert len(a & b) < 0.2 * len(a)  # a new salt is a (nearly) independent split


def test_probes_are_always_heldout() -> None:
    probes = load_probes()
    assert probes
    for split in (Split(), Split(heldout_fraction=0.0), Split(salt="x", role="test")):
        assert all(split.is_heldout(p) for p in probes)
        assert not any(split.with_role("train").accepts(p) for p in probes)


def test_roles() -> None:
    ids = _ids(500, seed=1)
    train, test = Split(role="train"), Split(role="test")
    for t in ids:
        assert train.accepts(t) != test.accepts(t)
        assert test.accepts(t) == train.is_heldout(t)


def test_split_id() -> None:
    s = Split()
    assert len(s.split_id) == 12 and int(s.split_id, 16) >= 0
    assert s.split_id == Split().split_id == s.with_role("test").split_id
    others = {Split(name="v2").split_id, Split(heldout_fraction=0.2).split_id,
              Split(salt="x").split_id}
    assert s.split_id not in others and len(others) == 3


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"heldout_fraction": 1.5}, "heldout_fraction"),
    ({"heldout_fraction": float("nan")}, "heldout_fraction"),
    ({"role": "validation"}, "role"),
])
def test_invalid_split(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=f"Split.{field}"):
        Split(**kwargs)


def test_make_benchmark_writes_disjoint_train_and_test_sets(tmp_path, capsys) -> None:
    import importlib.util
    import json
    from pathlib import Path

    from worlds.task import Task

    path = Path(__file__).resolve().parents[2] / "tools" / "make_benchmark.py"
    spec = importlib.util.spec_from_file_location("make_benchmark", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--family", "tiny", "--n-train", "30", "--n-test", "5", "--seed", "3",
                     "--out", str(tmp_path)]) == 0
    train = [Task.from_json(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    test = [Task.from_json(line) for line in (tmp_path / "test.jsonl").read_text().splitlines()]
    assert (len(train), len(test)) == (30, 5)
    split = Split()
    assert not any(split.is_heldout(t) for t in train)
    assert all(split.is_heldout(t) for t in test)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["split"]["split_id"] == split.split_id and manifest["n_test"] == 5
    assert split.split_id in capsys.readouterr().out
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporaries


def test_episode_settings_do_not_move_a_task_across_the_split() -> None:
    from dataclasses import replace

    from worlds.task import EpisodeSpec

    probe = load_probes()[0]
    longer = replace(probe, episode=EpisodeSpec(trials=13, trial_steps=7, control_hz=20))
    assert longer.task_id != probe.task_id and longer.split_key == probe.split_key
    assert Split(heldout_fraction=0.0).is_heldout(longer)
    assert not Split().with_role("train").accepts(longer)
