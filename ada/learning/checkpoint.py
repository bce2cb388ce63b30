"""Atomic training checkpoints and their validation.

A checkpoint is one `torch.save` file holding everything a run needs to continue exactly: the
learner (weights, optimiser, update and frame counters), every actor's state (env state where the
env can save it, memory caches, action RNG), the global RNG states and the config it was made
with. It is written to a temporary file in the same directory, flushed and fsynced, then renamed
over the target: a crash at any moment leaves either the old checkpoint or the new one, never a
half-written file. `latest` is a small text file updated the same way.

Loading checks the format version and the required keys and raises `CheckpointError` naming
what is wrong, instead of failing deep inside `load_state_dict`.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT = "ada-checkpoint"
VERSION = 1
REQUIRED = ("format", "version", "learner", "actors", "rng", "config", "step")
LEARNER_REQUIRED = ("agent", "optimizer", "updates", "frames")


class CheckpointError(ValueError):
    """The checkpoint file is missing, malformed or made for another config."""


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def rng_state() -> dict[str, Any]:
    """Global RNG states that training code may touch (torch, numpy legacy, python)."""
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate()}


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_checkpoint(path: str | Path, *, learner: dict[str, Any], actors: list[dict[str, Any]],
                    config: dict[str, Any], step: int, extra: dict[str, Any] | None = None
                    ) -> Path:
    """Write a checkpoint atomically to `path` and point `latest` in its directory at it."""
    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, "learner": learner, "actors": actors,
               "rng": rng_state(), "config": config, "step": int(step),
               "extra": extra or {}}
    _atomic_write(path, lambda f: torch.save(payload, f))
    _atomic_write(path.parent / "latest", lambda f: f.write(path.name.encode() + b"\n"))
    return path


def latest_checkpoint(directory: str | Path) -> Path | None:
    """The checkpoint `latest` points at in `directory`, or None if there is none."""
    pointer = Path(directory) / "latest"
    if not pointer.is_file():
        return None
    target = Path(directory) / pointer.read_text().strip()
    return target if target.is_file() else None


# What a resumed run must share with its checkpoint: the network, the task family and the
# shape of the data. Fields that only say where or how actors run (backend, address, overlap,
# threads, restarts) may change between a run and its resumption.
RESUME_COMPARE = ("agent", "env", "runtime.num_actors", "runtime.envs_per_actor",
                  "runtime.unroll_length")


def _lookup(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for key in dotted.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return node


def load_checkpoint(path: str | Path, config: dict[str, Any] | None = None,
                    compare: tuple[str, ...] = RESUME_COMPARE) -> dict[str, Any]:
    """Load and validate a checkpoint. If `config` is given, the (dotted) fields named in
    `compare` must equal the checkpoint's (resuming a different network or env is an error,
    not a silent partial load)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint: no file at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        raise CheckpointError(f"checkpoint {path}: not a readable checkpoint ({err})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path}: field 'format' is not {FORMAT!r}; "
                              "not an ada checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path}: field 'version' is {payload.get('version')!r};"
                              f" allowed is {VERSION}")
    missing = [k for k in REQUIRED if k not in payload]
    missing += [f"learner.{k}" for k in LEARNER_REQUIRED
                if k not in (payload.get("learner") or {})]
    if missing:
        raise CheckpointError(f"checkpoint {path}: missing field(s) {missing}")
    if config is not None:
        for section in compare:
            saved, now = _lookup(payload["config"], section), _lookup(config, section)
            if saved != now:
                raise CheckpointError(
                    f"checkpoint {path}: config field '{section}' differs from the run's "
                    f"(checkpoint {saved!r}, run {now!r}); resume with the same {section} or "
                    "start a new out_dir")
    return payload


__all__ = ["CheckpointError", "latest_checkpoint", "load_checkpoint", "save_checkpoint",
           "set_rng_state"]
