"""tools/run_open_ended_experiment.py: the summary statistics, and one tiny real run."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.tool_module import load_tool


def _tool() -> ModuleType:
    return load_tool("run_open_ended_experiment")


def test_summary_pairs_kickstart_with_scratch_and_checks_the_bar() -> None:
    tool = _tool()
    rng = np.random.default_rng(0)
    n = 60
    random = rng.uniform(0, 0.05, size=(n, 3))
    scratch = random + rng.uniform(0, 0.1, size=(n, 3))
    kick = scratch + 0.2 + np.array([0.0, 0.05, 0.1])  # better, and rising over trials
    expert = np.full((n, 3), 0.8)
    scores = {"random": random, "noop": 0 * random, "expert": expert,
              "kickstart_mem8_seed0": kick, "scratch_mem8_seed0": scratch}
    s = tool.budget_summary(scores, ["kickstart", "scratch"], [8], [0])
    d = s["kickstart_minus_scratch"]["kickstart_mem8_seed0 - scratch_mem8_seed0"]
    assert d["mean"] == pytest.approx(0.25) and d["clears_bar"] and d["higher"] == n
    assert s["per_policy"]["kickstart_mem8_seed0"]["gain_3_minus_1"]["mean"] == pytest.approx(
        0.1 + (scratch[:, 2] - scratch[:, 0]).mean())
    assert s["beats_random_p20"]["kickstart_mem8_seed0"] == [True, True, True]
    norm = s["per_policy"]["kickstart_mem8_seed0"]["normalised"][0]
    assert norm["mean"] == pytest.approx(kick[:, 0].mean() / 0.8)
    # a difference within noise does not clear the bar
    noisy = scratch + rng.normal(0, 0.05, size=(n, 3))
    s2 = tool.budget_summary({**scores, "kickstart_mem8_seed0": noisy}, ["kickstart", "scratch"],
                             [8], [0])
    assert not s2["kickstart_minus_scratch"]["kickstart_mem8_seed0 - scratch_mem8_seed0"][
        "clears_bar"]
    table = tool.table_markdown(s, {100: s, 200: s}, 200, n, "test machine")
    assert "| kickstart_mem8_seed0 - scratch_mem8_seed0 | +0.2500" in table and "| yes |" in table
    assert "| 200 |" in table and "test machine" in table


def test_tiny_experiment_trains_evaluates_and_caches(tmp_path: Path) -> None:
    """Real (minuscule) kickstarted and from-scratch runs on the tiny family, evaluated on the
    same held-out tasks and two probes; a re-run trains and evaluates nothing. (Growing runs
    over several budgets is `ada.experiment_runs`' resume, tested there.)"""
    tool = _tool()
    args = ["--seeds", "0", "--memory", "8", "--frames", "20", "--eval-tasks", "2",
            "--probe-tasks", "2", "--out", str(tmp_path), "--set", "env.family=tiny",
            "env.image_size=16", "runtime.envs_per_actor=2", "runtime.unroll_length=5",
            "curriculum=uniform", "algo.kickstart.hold_frames=0",
            "algo.kickstart.anneal_frames=20"]
    assert tool.main(args) == 0
    res = json.loads((tmp_path / "results.json").read_text())
    assert set(res["trend"]) == {"20"}
    assert set(res["per_task"]) == {f"{a}_mem8_seed0@20" for a in ("kickstart", "scratch")}
    assert np.asarray(res["baselines_per_task"]["expert"]).shape == (2, 3)
    assert set(res["probes_expert_normalised"]["kickstart_mem8_seed0"]) and res["machine"]
    ckpt = tmp_path / "kickstart_mem8_seed0" / "checkpoints" / "latest"
    assert ckpt.is_file()  # the run trained and checkpointed where the tool looks
    assert (tmp_path / "table.md").is_file() and (tmp_path / "plot.png").is_file()
    before = {p: p.stat().st_mtime for p in tmp_path.rglob("scores_*.json")}
    assert tool.main(args) == 0  # everything cached: no training, no evaluation
    assert {p: p.stat().st_mtime for p in tmp_path.rglob("scores_*.json")} == before
    assert res["train_wall_seconds"]
