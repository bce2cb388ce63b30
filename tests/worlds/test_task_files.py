"""JSONL task files: plain tasks, wrapped records, and errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ada.validation import ConfigError
from worlds.family import load_family
from worlds.generator import TaskGenerator
from worlds.task_files import jsonl_records, record_name, task_from_json_file, task_from_record


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
    with pytest.raises(ConfigError, match=r"bad\.jsonl:2: not valid JSON"):
        jsonl_records(path)
    with pytest.raises(ConfigError, match=r"bad\.jsonl:1: "):
        task_from_record({"task": {"world": 3}}, f"{path}:1")


# ---- bad bytes, numbers and nesting: one line naming the file (and line) --------------------


@pytest.fixture(scope="module")
def task_json() -> str:
    return TaskGenerator(load_family("tiny")).generate(0, 1)[0].to_json()


def test_invalid_utf8_in_jsonl_names_file_line_and_column(tmp_path: Path, task_json: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(task_json.encode() + b'\n\n{"name": "caf\xe9"}\n')  # latin-1, not UTF-8
    with pytest.raises(ConfigError) as e:
        jsonl_records(path)
    assert str(e.value).startswith(f"{path}:3: not valid UTF-8 (byte 0xe9 at column 14)")
    assert "\n" not in str(e.value)


def test_invalid_utf8_in_json_names_the_file(tmp_path: Path, task_json: str) -> None:
    d = json.loads(task_json)
    d["description"] = "MARK"
    data = json.dumps(d, indent=2, sort_keys=True).encode().replace(b"MARK", b"\xff")
    lines = data.split(b"\n")
    line = next(i for i, text in enumerate(lines, 1) if b"\xff" in text)
    assert line > 1  # pretty-printed: the line number is worth reporting
    column = lines[line - 1].index(b"\xff") + 1
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as e:
        task_from_json_file(path)
    assert str(e.value).startswith(f"{path}:{line}: not valid UTF-8 (byte 0xff at column "
                                   f"{column})")


def test_json_file_reads_a_task_and_names_the_file_in_task_errors(tmp_path: Path,
                                                                  task_json: str) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(b"\xef\xbb\xbf" + task_json.encode())  # a BOM, as some editors write
    assert task_from_json_file(path).to_json() == task_json
    path.write_text(task_json.replace('"trials":', '"trials":2.5,"x":', 1))
    with pytest.raises(ConfigError, match=rf"^{path}: task\.episode: unknown field"):
        task_from_json_file(path)
    with pytest.raises(ConfigError, match=rf"^{tmp_path}: cannot read the task file"):
        task_from_json_file(tmp_path)  # a directory


def test_deep_nesting_and_huge_numbers_name_file_and_line(tmp_path: Path, task_json: str) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text(task_json + "\n" + "[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2: JSON nested too"):
        jsonl_records(path)
    path = tmp_path / "big.jsonl"
    trials = json.loads(task_json)["episode"]["trials"]
    path.write_text(task_json.replace(f'"trials":{trials}', '"trials":' + "7" * 400) + "\n")
    (lineno, record), = jsonl_records(path)
    with pytest.raises(ConfigError) as e:
        task_from_record(record, f"{path}:{lineno}")
    msg = str(e.value)
    assert msg.startswith(f"{path}:1: task.episode.trials: 777") and len(msg) < 300
    path.write_text('{"task": ' + "7" * 5000 + "}\n")  # beyond Python's int digit limit
    with pytest.raises(ConfigError, match=rf"^{path}:1: not valid JSON"):
        jsonl_records(path)
