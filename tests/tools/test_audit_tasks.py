"""tools/audit_tasks.py: the expert audit of a family and of the probes, end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import audit_tasks  # noqa: E402

from worlds.expert.audit import audit_task, summarise  # noqa: E402
from worlds.task import with_episode  # noqa: E402
from worlds.task_files import sample_family_task  # noqa: E402


def test_audit_of_tiny_tasks_writes_json_and_solves_them(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "audit.json"
    assert audit_tasks.main(["--family", "tiny", "--n", "6", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    s = record["summary"]
    assert s["tasks"] == 6 and s["with_plan"] == 6
    assert s["solved"] == 6, record["tasks"]
    assert s["plan_ms_per_step"] > 0 and s["env_ms_per_step"] > 0
    assert len(record["tasks"]) == 6 and all(t["first_goal_step"] is not None
                                             for t in record["tasks"])
    text = capsys.readouterr().out
    assert "solved in trial 1:  6 / 6" in text and "plan/trial in [0.0, 0.5)" in text
    assert sum(b["tasks"] for b in s["by_load"]) == 6
    assert not list(tmp_path.glob("*.tmp"))


def test_probe_audit_runs_every_probe(capsys: pytest.CaptureFixture) -> None:
    audit_tasks.main(["--probes", "--failures", "0"])
    text = capsys.readouterr().out
    assert "audit of 14 tasks of probes" in text and "symbolic plan:      14 / 14" in text


def test_a_failed_trial_names_its_cause() -> None:
    """A trial too short to reach the object fails, and the audit says it timed out."""
    task = sample_family_task("tiny", 3)
    a = audit_task("short", with_episode(task, 1, 2))
    assert not a.solved and a.cause == "time_out" and a.held_fraction == 0.0
    assert summarise([a])["causes"] == {"time_out": 1}
