"""Reading tasks from JSONL files, shared by `ada.render`, `ada.evaluate` and the tools.

A line is a canonical Task dict (what `tools/make_benchmark.py` writes) or a record holding one
under "task" (so evaluation outputs and human-play logs, which carry a name or scores beside the
task, can be fed back in). Errors name the file and the line, because a benchmark file is
edited by hand and "invalid task" without a line number is useless.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from worlds.task import Task, TaskValidationError


def jsonl_records(path: str | Path) -> list[tuple[int, Any]]:
    """(line number, parsed JSON) for every non-blank line of `path`."""
    path = Path(path)
    out = []
    with path.open() as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append((lineno, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise TaskValidationError(f"{path}:{lineno}: not valid JSON ({e})") from None
    return out


def task_from_record(record: Any, where: str) -> Task:
    """The Task of one JSONL record; `where` ("file:line") prefixes any validation error."""
    if isinstance(record, Mapping) and "world" not in record and "task" in record:
        record = record["task"]
    try:
        return Task.from_dict(record)
    except TaskValidationError as e:
        raise TaskValidationError(f"{where}: {e}") from None


def record_name(record: Any) -> str | None:
    """A record's own name ("name"), if it has a non-empty one."""
    name = record.get("name") if isinstance(record, Mapping) else None
    return name if isinstance(name, str) and name else None


__all__ = ["jsonl_records", "record_name", "task_from_record"]
