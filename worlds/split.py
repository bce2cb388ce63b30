"""Train/test splits of the task space, defined by a salted hash of the task's split key.

The key (`Task.split_key`) hashes the world and the game but not the episode settings, so a task
evaluated with more trials or longer trials stays on its side of the split. Methods take a Task
or its split key.

A split is a pure function of the task id, so any process (generator, curriculum, evaluator,
benchmark builder) agrees on which tasks are held out without sharing state; changing the salt
or the fraction defines a new split, and `split_id` lets state files record which one they were
built with. Hand-authored probe tasks are always held out, whatever the hash says, because they
exist to measure generalisation and must never be trained on.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace

from worlds.task import Task

ROLES = ("train", "test")


@dataclass(frozen=True)
class Split:
    """Which tasks are held out (`is_heldout`), and which side a generator draws from (`role`:
    "train" never sees held-out tasks, "test" sees only them). `role` is not part of the split's
    definition, so both sides of one split share a `split_id`."""

    name: str = "v1"
    heldout_fraction: float = 0.1
    salt: str = "ada-heldout-v1"
    role: str = "train"

    def __post_init__(self) -> None:
        f = self.heldout_fraction
        if (isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f)
                or not 0.0 <= f <= 1.0):
            raise ValueError(f"Split.heldout_fraction: {f!r} is not allowed: need a number in "
                             "[0, 1]")
        if self.role not in ROLES:
            raise ValueError(f"Split.role: {self.role!r} is not one of {list(ROLES)}")
        for name in ("name", "salt"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"Split.{name}: {getattr(self, name)!r} is not a string")

    def hash_unit(self, task: Task | str) -> float:
        """The split key's salted SHA-256 mapped to [0, 1) (first 8 bytes / 2**64)."""
        digest = hashlib.sha256(f"{self.salt}:{_key(task)}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2.0**64

    def is_heldout(self, task: Task | str) -> bool:
        """Held out: a probe task, or a task whose hash falls below `heldout_fraction`."""
        from worlds.probes import probe_split_keys

        key = _key(task)
        return key in probe_split_keys() or self.hash_unit(key) < self.heldout_fraction

    def accepts(self, task: Task | str) -> bool:
        """Whether a generator with this split's role may emit the task."""
        return self.is_heldout(task) == (self.role == "test")

    def with_role(self, role: str) -> Split:
        return replace(self, role=role)

    @property
    def split_id(self) -> str:
        """12 hex digits identifying the held-out set's definition (name, fraction, salt and
        the probe ids), but not the role."""
        from worlds.probes import probe_split_keys

        d = {"name": self.name, "heldout_fraction": float(self.heldout_fraction),
             "salt": self.salt, "probes": sorted(probe_split_keys())}
        canon = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:12]


def _key(task: Task | str) -> str:
    return task.split_key if isinstance(task, Task) else task
