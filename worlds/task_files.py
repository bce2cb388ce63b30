"""Reading tasks from files, shared by `ada.render`, `ada.evaluate` and the tools.

A `.jsonl` line is a canonical Task dict (what `tools/make_benchmark.py` writes) or a record
holding one under "task" (so evaluation outputs and human-play logs, which carry a name or scores
beside the task, can be fed back in). A `.json` file holds one Task dict.

Task files are edited by hand, so every way a file can be bad ends in one
`ada.validation.ConfigError` line that names the file (and, for JSONL, the line): unreadable
files, bytes that are not UTF-8, broken JSON, numbers too long to parse, nesting too deep to
parse, and invalid tasks. The CLIs turn that error into exit status 2 and print the line, with
no traceback.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ada.validation import ConfigError
from worlds.task import Task, parse_task_json


def _read_text(path: Path) -> str:
    """The file as UTF-8 text (a leading byte-order mark is dropped). Bytes that are not UTF-8
    are reported by line and column rather than as a UnicodeDecodeError."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the task file ({e.strerror or e})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ConfigError(f"{path}:{line}: not valid UTF-8 (byte 0x{data[e.start]:02x} at "
                          f"column {column}); task files must be UTF-8 text") from None
    return text.removeprefix("\ufeff")


def jsonl_records(path: str | Path) -> list[tuple[int, Any]]:
    """(line number, parsed JSON) for every non-blank line of `path`."""
    path = Path(path)
    out = []
    # newline=None: lines split as a text-mode file splits them (\n, \r\n or \r), and only
    # there, so a U+2028 inside a JSON string does not end a line.
    for lineno, line in enumerate(io.StringIO(_read_text(path), newline=None), 1):
        if line.strip():
            out.append((lineno, parse_task_json(line, f"{path}:{lineno}")))
    return out


def task_from_json_file(path: str | Path) -> Task:
    """The Task of a `.json` file; every error names the file."""
    path = Path(path)
    d = parse_task_json(_read_text(path), str(path))  # these errors already name the file
    try:
        return Task.from_dict(d)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def task_from_record(record: Any, where: str) -> Task:
    """The Task of one JSONL record; `where` ("file:line") prefixes any validation error."""
    if isinstance(record, Mapping) and "world" not in record and "task" in record:
        record = record["task"]
    try:
        return Task.from_dict(record)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None


def record_name(record: Any) -> str | None:
    """A record's own name ("name"), if it has a non-empty one."""
    name = record.get("name") if isinstance(record, Mapping) else None
    return name if isinstance(name, str) and name else None


__all__ = ["jsonl_records", "record_name", "task_from_json_file", "task_from_record"]
