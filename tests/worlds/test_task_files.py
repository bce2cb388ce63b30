"""JSONL task files: plain tasks, wrapped records, and errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worlds.family import load_family
from worlds.generator import TaskGenerator
from worlds.task import TaskValidationError
from worlds.task_files import jsonl_records, record_name, task_from_record


def test_plain_and_wrapped_records_give_back_the_same_tasks(tmp_path: Path) -> None:
    a, b = TaskGenerator(load_family("tiny")).generate(0, 2)
    path = tmp_path / "t.jsonl"
    path.write_text(a.to_json() + "\n\n" + json.dumps({"name": "second", "task": b.to_dict()})
                    + "\n")
    records = jsonl_records(path)
    assert [n for n, _ in records] == [1, 3]  # blank lines skipped, numbering kept
    tasks = [task_from_record(r, f"t:{n}") for n, r in records]
    assert [t.task_id for t in tasks] == [a.task_id, b.task_id]
    assert [record_name(r) for _, r in records] == [None, "second"]


def test_bad_json_and_bad_task_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"task": 1}\n{not json\n')
    with pytest.raises(TaskValidationError, match=r"bad\.jsonl:2: not valid JSON"):
        jsonl_records(path)
    with pytest.raises(TaskValidationError, match=r"bad\.jsonl:1: "):
        task_from_record({"task": {"world": 3}}, f"{path}:1")
