"""Atomic training checkpoints and their validation.

A checkpoint is one `torch.save` file holding everything a run needs to continue exactly: the
learner (weights, optimiser, update and frame counters), every actor's state (env state where the
env can save it, memory caches, action RNG), the global RNG states and the config it was made
with. It is written to a temporary file in the same directory, flushed and fsynced, then renamed
over the target: a crash at any moment leaves either the old checkpoint or the new one, never a
half-written file. `latest` is a small text file updated the same way.

The file holds the payload serialised by `torch.save` as a byte tensor together with the
SHA-256 of those bytes (format version 2). Loading recomputes the digest before unpickling
anything, so a file damaged after it was written (one flipped byte in the weights, a truncated
copy) is reported as corrupt rather than loaded and evaluated silently: torch's zip reader does
not check the per-record CRCs. The price is one extra in-memory copy of the payload while saving
and loading.

Version 1 files (written before the checksum existed) hold the payload directly. They are still
loaded, since a run's only copy of its weights may be one, but with an
`UnverifiedCheckpointWarning` that says so; resuming the run and letting it checkpoint again
writes a version 2 file.

Loading checks the format version, the checksum, the required keys and their types, and raises
`CheckpointError` naming what is wrong; `load_weights` compares every tensor's name and shape
with the module it goes into, instead of failing deep inside `load_state_dict`.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT = "ada-checkpoint"
VERSION = 2
UNVERIFIED_VERSION = 1  # the format before checksums: payload at the top level
REQUIRED = ("format", "version", "learner", "actors", "rng", "config", "step")
LEARNER_REQUIRED = ("agent", "optimizer", "updates", "frames")
# The type each top-level field must have, so that a damaged or hand-made file fails here with
# the field's name rather than later as a TypeError in whatever reads it.
FIELD_TYPES: dict[str, tuple[type, ...]] = {"learner": (Mapping,), "actors": (list, tuple),
                                            "rng": (Mapping,), "config": (Mapping,),
                                            "step": (int,)}


class CheckpointError(ValueError):
    """The checkpoint file is missing, malformed, corrupt or made for another config."""


class UnverifiedCheckpointWarning(UserWarning):
    """A checkpoint of the format before checksums was loaded without verifying its bytes."""


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
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getbuffer()
    wrapper = {"format": FORMAT, "version": VERSION,
               "sha256": hashlib.sha256(data).hexdigest(),
               "payload": torch.frombuffer(data, dtype=torch.uint8)}
    _atomic_write(path, lambda f: torch.save(wrapper, f))
    _atomic_write(path.parent / "latest", lambda f: f.write(path.name.encode() + b"\n"))
    return path


def _unpickle(source: Any, path: Path, *, weights_only: bool) -> Any:
    try:
        return torch.load(source, map_location="cpu", weights_only=weights_only)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a bad file
        message = " ".join(str(err).split())[:300]  # torch's messages span many lines
        raise CheckpointError(f"checkpoint {path}: not a readable checkpoint ({message})"
                              ) from None


def _read_payload(path: Path) -> dict[str, Any]:
    """The payload of the file at `path`, its checksum verified (version 2) or, for a version
    1 file, with an `UnverifiedCheckpointWarning`."""
    # A version 2 wrapper holds only strings and one byte tensor, so damage to the payload
    # cannot break this step; version 1 files need the full unpickler (numpy RNG states).
    outer = _unpickle(path, path, weights_only=False)
    if not isinstance(outer, dict) or outer.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path}: field 'format' is not {FORMAT!r}; "
                              "not an ada checkpoint")
    version = outer.get("version")
    if version == UNVERIFIED_VERSION and not isinstance(version, bool):
        warnings.warn(f"checkpoint {path}: format version {UNVERIFIED_VERSION} has no checksum, "
                      "so it is loaded unverified; resume the run and let it checkpoint again "
                      f"to write a verified version {VERSION} file",
                      UnverifiedCheckpointWarning, stacklevel=3)
        return outer
    if version != VERSION or isinstance(version, bool):
        raise CheckpointError(f"checkpoint {path}: field 'version' is {version!r}; allowed are "
                              f"{[UNVERIFIED_VERSION, VERSION]}")
    digest, data = outer.get("sha256"), outer.get("payload")
    if not isinstance(digest, str) or not (isinstance(data, torch.Tensor)
                                           and data.dtype == torch.uint8 and data.dim() == 1):
        raise CheckpointError(f"checkpoint {path}: fields 'sha256' (a hex string) and 'payload' "
                              "(a byte tensor) are missing or malformed; not a complete "
                              f"version {VERSION} checkpoint")
    raw = data.numpy().tobytes()
    actual = hashlib.sha256(raw).hexdigest()
    if actual != digest:
        raise CheckpointError(f"checkpoint {path}: corrupt: the SHA-256 of its payload is "
                              f"{actual[:16]}..., the file records {digest[:16]}...; the file "
                              "changed after it was written (copy it again or use another "
                              "checkpoint)")
    payload = _unpickle(io.BytesIO(raw), path, weights_only=False)
    if not isinstance(payload, dict):
        raise CheckpointError(f"checkpoint {path}: its payload is a {type(payload).__name__}, "
                              "not a mapping of fields")
    return payload


def _shape(t: Any) -> str:
    return str(tuple(t.shape)) if isinstance(t, torch.Tensor) else f"a {type(t).__name__}"


def check_weights(module: torch.nn.Module, state: Any, where: str) -> None:
    """Raises `CheckpointError` unless `state` holds exactly the module's tensors with the
    module's shapes. `where` ("checkpoint <file>: learner.agent") starts the error, which names
    the first missing, unexpected or mis-shaped tensor and both shapes.

    torch's own error is a multi-line RuntimeError listing every mismatch; the module is built
    from the checkpoint's own config, so a mismatch means a damaged or foreign file and one line
    saying where it starts is what a user can act on."""
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{where}: is a {type(state).__name__}; it must be a mapping of "
                              "tensor names to tensors")
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(f"{where}: tensor {missing[0]!r} is missing{more}; the model "
                              f"expects shape {_shape(expected[missing[0]])}")
    unexpected = [k for k in state if k not in expected]
    if unexpected:
        more = f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""
        raise CheckpointError(f"{where}: unexpected tensor {str(unexpected[0])!r}{more}; the "
                              "model has no such parameter")
    for name, want in expected.items():
        got = state[name]
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            raise CheckpointError(f"{where}: tensor {name!r} has shape {_shape(got)}; the model "
                                  f"expects {_shape(want)}")


def check_optimizer_state(optimizer: torch.optim.Optimizer, state: Any, where: str) -> None:
    """Raises `CheckpointError` unless `state` is an optimiser state for exactly the optimiser's
    parameters: the same groups and parameter counts, and every per-parameter tensor (Adam's
    moments) shaped like its parameter. torch checks the counts itself but not the shapes, which
    would fail only at the next update, far from the file that caused it."""
    if not (isinstance(state, Mapping) and isinstance(state.get("param_groups"), list)
            and isinstance(state.get("state"), Mapping)):
        raise CheckpointError(f"{where}: is not an optimiser state (a mapping with "
                              "'param_groups' and 'state')")
    groups = optimizer.param_groups
    if len(state["param_groups"]) != len(groups):
        raise CheckpointError(f"{where}: has {len(state['param_groups'])} parameter groups; the "
                              f"optimiser has {len(groups)}")
    for g, (saved, group) in enumerate(zip(state["param_groups"], groups, strict=True)):
        ids = saved.get("params") if isinstance(saved, Mapping) else None
        if not isinstance(ids, list) or len(ids) != len(group["params"]):
            n = len(ids) if isinstance(ids, list) else "no"
            raise CheckpointError(f"{where}: parameter group {g} holds {n} parameters; the "
                                  f"optimiser's holds {len(group['params'])}")
        for pid, param in zip(ids, group["params"], strict=True):
            per_param = state["state"].get(pid, {})
            if not isinstance(per_param, Mapping):
                raise CheckpointError(f"{where}: state of parameter {pid!r} is not a mapping")
            for key, value in per_param.items():
                if (isinstance(value, torch.Tensor) and value.dim() > 0
                        and value.shape != param.shape):
                    raise CheckpointError(f"{where}: state[{pid!r}][{key!r}] has shape "
                                          f"{_shape(value)}; its parameter has "
                                          f"{_shape(param)}")


def load_weights(module: torch.nn.Module, state: Any, where: str) -> None:
    """`module.load_state_dict(state)` after `check_weights`: every problem is one
    `CheckpointError` line starting with `where`, and nothing is loaded unless all fits."""
    check_weights(module, state, where)
    try:
        module.load_state_dict(dict(state))
    except RuntimeError as err:  # what the checks above cannot see, e.g. an uncastable dtype
        first = str(err).strip().splitlines()[-1].strip()
        raise CheckpointError(f"{where}: the tensors do not load into the model ({first})"
                              ) from None


def copy_checkpoint(source: str | Path, directory: str | Path) -> Path:
    """Copy a checkpoint file into `directory` atomically and point `latest` there at it: the
    way a run is carried to another machine or into a store, so that `resume=auto` and
    `checkpoint=<dir>` find it as if it had been written there."""
    source = Path(source)
    target = Path(directory) / source.name
    with source.open("rb") as src:
        _atomic_write(target, lambda f: shutil.copyfileobj(src, f))
    _atomic_write(target.parent / "latest", lambda f: f.write(target.name.encode() + b"\n"))
    return target


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file as given, or the latest checkpoint of a run directory (or of its
    checkpoints/ directory), so a run can be named without looking up the file name; a
    missing path or an empty directory is a `ConfigError` naming the field."""
    from ada.validation import ConfigError

    p = Path(path)
    if p.is_file():
        return p
    if p.is_dir():
        for d in (p, p / "checkpoints"):
            found = latest_checkpoint(d)
            if found is not None:
                return found
        raise ConfigError(f"checkpoint: no checkpoint in directory {str(p)!r} (nor in its "
                          "checkpoints/); pass a ckpt_*.pt file")
    raise ConfigError(f"checkpoint: {str(p)!r} does not exist")


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
    payload = _read_payload(path)
    learner = payload.get("learner")
    missing = [k for k in REQUIRED if k not in payload]
    if isinstance(learner, Mapping):
        missing += [f"learner.{k}" for k in LEARNER_REQUIRED if k not in learner]
    if missing:
        raise CheckpointError(f"checkpoint {path}: missing field(s) {missing}")
    for key, types in FIELD_TYPES.items():
        if isinstance(payload[key], bool) or not isinstance(payload[key], types):
            raise CheckpointError(f"checkpoint {path}: field '{key}' is a "
                                  f"{type(payload[key]).__name__}; it must be a "
                                  f"{' or '.join(t.__name__ for t in types)}")
    if not isinstance(payload["learner"]["agent"], Mapping):
        raise CheckpointError(f"checkpoint {path}: field 'learner.agent' is a "
                              f"{type(payload['learner']['agent']).__name__}; it must be a "
                              "mapping of tensor names to tensors")
    if config is not None:
        for section in compare:
            saved, now = _lookup(payload["config"], section), _lookup(config, section)
            if saved != now:
                raise CheckpointError(
                    f"checkpoint {path}: config field '{section}' differs from the run's "
                    f"(checkpoint {saved!r}, run {now!r}); resume with the same {section} or "
                    "start a new out_dir")
    return payload


__all__ = ["CheckpointError", "UnverifiedCheckpointWarning", "check_optimizer_state",
           "check_weights", "copy_checkpoint", "latest_checkpoint", "load_checkpoint",
           "load_weights", "resolve_checkpoint", "save_checkpoint", "set_rng_state"]
