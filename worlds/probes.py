"""Hand-authored probe tasks: small, interpretable tests of one capability each.

They live as Task JSON files in worlds/probes/ (package data), written by
tools/author_probes.py so that they can be regenerated after a schema change. Probes are never
trained on: `Split.is_heldout` is True for every probe id.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

from ada.validation import ConfigError
from worlds.task import Task

PROBE_DIR = Path(__file__).resolve().parent / "probes"


def probe_names() -> list[str]:
    """Names of the probe tasks (the JSON file stems), sorted."""
    return sorted(p.stem for p in PROBE_DIR.glob("*.json"))


@cache
def _load(name: str) -> Task:
    path = PROBE_DIR / f"{name}.json"
    try:
        return Task.from_json(path.read_text())
    except ConfigError as e:
        raise ConfigError(f"probe {path.name}: {e}") from None


def load_probe(name: str) -> Task:
    """One probe task by name; errors name the file and the offending field."""
    if name not in probe_names():
        raise KeyError(f"no probe {name!r}; known probes are {probe_names()}")
    return _load(name)


def load_probes() -> list[Task]:
    """All probe tasks, in name order."""
    return [_load(n) for n in probe_names()]


@lru_cache(maxsize=1)
def probe_ids() -> frozenset[str]:
    """Task ids of all probes, loaded once per process (the split consults it per task)."""
    return frozenset(t.task_id for t in load_probes())


@lru_cache(maxsize=1)
def probe_split_keys() -> frozenset[str]:
    """Split keys (world + game hashes) of all probes: a probe stays held out whatever episode
    settings it is run with."""
    return frozenset(t.split_key for t in load_probes())
