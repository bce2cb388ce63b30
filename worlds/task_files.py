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

import importlib
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

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


def record_id(record: Any) -> str | None:
    """A record's own task id ("task_id" or "id"), if it states one."""
    if isinstance(record, Mapping):
        for key in ("task_id", "id"):
            if isinstance(record.get(key), str):
                return record[key]
    return None


def existing_file(path: str | Path, field: str) -> Path:
    """`path` if it is a file, else the one-line error naming `field`."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{field}: {str(p)!r} does not exist")
    return p


def task_at(path: str | Path, index: int, field: str = "task") -> Task:
    """Task number `index` of a JSONL file, or the task of a JSON file (index 0)."""
    p = existing_file(path, f"{field}.file")
    if p.suffix != ".jsonl":
        return task_from_json_file(p)
    records = jsonl_records(p)
    if index >= len(records):
        raise ConfigError(f"{field}.index: {index} is out of range; {p} holds {len(records)} "
                          "tasks")
    lineno, record = records[index]
    return task_from_record(record, f"{p}:{lineno}")


def probe_tasks() -> list[tuple[str, Task]] | None:
    """(name, task) pairs of the probe suite, or None if `worlds.probes` cannot be imported
    (imported here, at call time, so that everything else loads while it is broken)."""
    try:
        probes = importlib.import_module("worlds.probes")
    except ImportError:
        return None
    return [(n, probes.load_probe(n)) for n in probes.probe_names()]


def find_task(task_id: str, tasks_file: str | Path | None, field: str = "task") -> Task:
    """The probe task with this id or name, else the task with this id in `tasks_file`."""
    probes = probe_tasks()
    for name, task in probes or ():
        if task_id in (task.task_id, name):
            return task
    if tasks_file is None:
        where = "among the probe tasks" if probes is not None else \
            "(worlds.probes is not available)"
        raise ConfigError(f"{field}.id: {task_id!r} not found {where}; set "
                          f"{field}.tasks_file to a JSONL of tasks to search")
    p = existing_file(tasks_file, f"{field}.tasks_file")
    for lineno, record in jsonl_records(p):
        task = task_from_record(record, f"{p}:{lineno}")
        if task_id in (record_id(record), task.task_id):
            return task
    raise ConfigError(f"{field}.id: {task_id!r} is neither a probe task nor in {p}")


def sample_family_task(name: str, seed: int, field: str = "task.family") -> Task:
    """One task of family `name`, sampled with `seed` (the generator is imported only here,
    so the rest of a tool works while it is absent or broken)."""
    try:
        generator = importlib.import_module("worlds.generator")
    except ImportError as e:
        raise ConfigError(f"{field}: needs worlds.generator, which cannot be imported ({e}); "
                          "use task.file or task.id instead") from e
    from worlds.family import load_family

    try:
        family = load_family(name)
    except (ValueError, FileNotFoundError) as e:
        raise ConfigError(f"{field}: {e}") from e
    return generator.TaskGenerator(family).sample(np.random.default_rng(seed))


def named_tasks(path: str | Path, field: str = "tasks") -> dict[str, Task]:
    """name -> task of a JSONL file, named by a record's "name" (else its task id); a name
    that repeats gets a #2, #3 suffix, so no task is dropped. Errors name the file and line."""
    p = Path(path)
    named: dict[str, Task] = {}
    for lineno, record in jsonl_records(p):
        task = task_from_record(record, f"{p}:{lineno}")
        base = record_name(record) or task.task_id
        key, i = base, 1
        while key in named:
            i += 1
            key = f"{base}#{i}"
        named[key] = task
    if not named:
        raise ConfigError(f"{field}: {str(p)!r} holds no tasks")
    return named


__all__ = ["existing_file", "find_task", "jsonl_records", "named_tasks", "probe_tasks",
           "record_id", "record_name", "sample_family_task", "task_at", "task_from_json_file",
           "task_from_record"]
