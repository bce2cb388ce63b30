"""tools/run_adaptation_experiment.py: the gain statistics, the table, and one tiny real run."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.tool_module import load_tool


def _tool() -> ModuleType:
    return load_tool("run_adaptation_experiment")


def test_gain_is_last_minus_first_trial_with_paired_standard_error() -> None:
    tool = _tool()
    per_task = np.array([[0.0, 0.5, 0.5], [0.2, 0.2, 0.6], [0.1, 0.1, 0.1]])
    gain, se = tool.gain_stats(per_task)
    d = np.array([0.5, 0.4, 0.0])
    assert gain == pytest.approx(d.mean())
    assert se == pytest.approx(d.std(ddof=1) / np.sqrt(3))


def test_recovery_separates_switching_after_failure_from_repeating_it() -> None:
    tool = _tool()
    # tasks 0-1 fail trial 1 then solve trial 2 (switched); task 2 fails both; task 3 solves both
    per_task = np.array([[0.0, 0.8, 0.9], [0.1, 0.6, 0.7], [0.0, 0.0, 0.0], [0.9, 0.9, 0.9]])
    r = tool.recovery_stats(per_task)
    assert r["n_trial1_failed"] == 3 and r["trial1_solved"] == pytest.approx(0.25)
    assert r["trial2_solved_after_fail"] == pytest.approx(2 / 3)
    assert r["trial2_solved_after_success"] == pytest.approx(1.0)
    assert np.isnan(tool.recovery_stats(per_task[3:])["trial2_solved_after_fail"])


def test_summary_separates_memory_arms_and_keeps_seed_spread() -> None:
    tool = _tool()
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 0.2, size=(20, 3))
    learner = base + np.array([0.0, 0.2, 0.3])  # adapts: +0.3 from trial 1 to 3
    per_run = {}
    for s in (0, 1, 2):
        per_run[(128, s)] = {"agent": learner + 0.01 * s, "random": base, "noop": 0 * base}
        per_run[(0, s)] = {"agent": base + 0.01 * s, "random": base, "noop": 0 * base}
    arms = tool.summarise(per_run)
    assert list(arms)[:2] == ["memory 128", "memory 0"]
    assert arms["memory 128"]["gain_mean"] == pytest.approx(
        0.3 + (base[:, 2] - base[:, 0]).mean())
    assert arms["memory 128"]["gain_sd"] == pytest.approx(0.0, abs=1e-12)
    assert arms["memory 0"]["gain_mean"] == pytest.approx((base[:, 2] - base[:, 0]).mean())
    assert arms["memory 128"]["per_trial_sd"][0] == pytest.approx(0.01)
    table = tool.table_markdown(arms, 1000, 20)
    assert "| memory 128 | 0, 1, 2 |" in table and "| random | - |" in table
    assert "| trial 2 solved after trial 1 failed |" in table
    # base + 0.2 lifts most failed trial 1s (< 0.2) over the 0.25 bar in trial 2; base does not
    assert arms["memory 128"]["trial2_solved_after_fail"] > 0.5
    assert arms["memory 0"]["trial2_solved_after_fail"] == 0.0
    assert "1,000 training frames" in table


def test_tiny_experiment_trains_evaluates_and_writes_outputs(tmp_path: Path) -> None:
    """Two real (minuscule) training processes, memory 8 and the memory-0 control, then the
    held-out evaluation on the same tasks; a second call reuses the finished runs."""
    tool = _tool()
    args = ["--seeds", "0", "--memory", "8", "0", "--frames", "640", "--eval-tasks", "2",
            "--videos", "0", "--out", str(tmp_path), "--set", "runtime.envs_per_actor=4"]
    assert tool.main(args) == 0
    res = json.loads((tmp_path / "results.json").read_text())
    assert set(res["per_task"]) == {"mem8_seed0", "mem0_seed0"}
    for run in res["per_task"].values():
        assert np.asarray(run["agent"]).shape == (2, 3)
    assert res["arms"]["noop"]["per_trial_mean"] == [0.0, 0.0, 0.0]
    assert (tmp_path / "plot.png").stat().st_size > 0
    assert "| memory 0 |" in (tmp_path / "table.md").read_text()
    assert tool.trained_frames(tmp_path / "mem0_seed0") >= 640
    assert tool.main(args + ["--prompt"]) == 0  # nothing left to train: only re-evaluates
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["train_wall_seconds"] == {}
    for run in res["prompted"].values():  # the expert solves look-alike trials it is shown
        assert run["expert_trial1_solved"] == 1.0 and len(run["unprompted_solved"]) == 2
        assert np.asarray(run["prompted"]).shape == (2, 2)
        # the prompted arm's trial 1 is the expert's, the unprompted arm's the agent's
        assert [t[0] for t in run["prompted"]] != [t[0] for t in run["unprompted"]]
