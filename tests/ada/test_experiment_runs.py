"""ada.experiment_runs: runs train as subprocesses, grow over budgets and are skipped when done."""

from __future__ import annotations

from pathlib import Path

import pytest

from ada.experiment_runs import RunSpec, train_runs, trained_frames

BANDIT = ("~experiment", "env=bandit", "agent=tiny", "runtime=inline", "runtime.envs_per_actor=4",
          "runtime.unroll_length=5", "eval_episodes=0", "log_every=1")


def test_runs_grow_budget_by_budget_and_finished_ones_are_skipped(tmp_path: Path) -> None:
    specs = [RunSpec(f"seed{s}", tmp_path / f"seed{s}", (*BANDIT, f"seed={s}", "name=grow"))
             for s in (0, 1)]
    logs: list[str] = []
    walls = train_runs(specs, 40, jobs=2, log=logs.append)
    assert set(walls) == {"seed0", "seed1"} and all(trained_frames(s.out_dir) == 40
                                                    for s in specs)
    assert train_runs(specs, 40, jobs=2) == {}  # done: nothing is started
    assert set(train_runs(specs[:1], 80, jobs=1)) == {"seed0"}  # extended from its checkpoint
    assert trained_frames(specs[0].out_dir) == 80 and trained_frames(specs[1].out_dir) == 40
    assert "resum" in (specs[0].out_dir / "train_stdout.log").read_text().lower()
    assert any("training seed0 to 40 frames" in m for m in logs)


def test_a_failed_run_names_its_log(tmp_path: Path) -> None:
    bad = RunSpec("bad", tmp_path / "bad", (*BANDIT, "algo.entropy_cost=-1"))
    with pytest.raises(RuntimeError, match=r"training bad failed \(exit 2\); see .*"
                                           r"train_stdout.log"):
        train_runs([bad], 20, jobs=1)
    assert "algo.entropy_cost" in (tmp_path / "bad" / "train_stdout.log").read_text()
