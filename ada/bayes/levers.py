"""Lever rooms: a cheap task family that makes an auto-curriculum's point in seconds.

An auto-curriculum earns its keep by spending training on tasks the agent can learn from and
not on the rest. In the 3D world that takes hours to show; here it takes a few thousand bandit
pulls. A lever task is a Bernoulli bandit with `n_levers + 1` actions: action 0 is the no-op
(do nothing), actions 1..n pull a lever, and action a pays 1 with probability `probs[a]` per
step, for `horizon` steps (one trial). The family mixes three kinds on purpose:

- *trivial*: every action, the no-op included, pays almost always. Nothing is learnt from them,
  and a no-op policy already scores well, so a "no-op filter" (`noop_score`) discards them;
- *impossible*: nothing ever pays (a dead end from the start). The agent's own score is 0 on
  them whatever it does, so a score filter discards them;
- *learnable*: the no-op pays nothing, one lever pays often and the others rarely. The agent
  must find the good lever, its score moves with learning, and prioritised level replay (PLR)
  should replay these.

`LeverTask` mirrors the interface of `worlds.task.Task` (`task_id`, `split_key`, canonical JSON
round trip, errors naming the field), so generic curriculum code and `worlds.split.Split` handle
it like a world task (pass `task.split_key` strings to `Split`); `LeverTaskSpace` is the
curriculum's view of the family. Its env batch is `ada.bayes.levers_vec.VectorLevers`.

Every task also carries a `room` label (0..999, not observed by the agent): without it the
all-zero impossible task would be a single task per (n_levers, horizon), on one side of a
held-out split only.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ada.validation import (
    ConfigError,
    fail,
    integer,
    is_finite,
    is_integer,
    number,
    number_pair,
    show,
)
from worlds.split import Split

__all__ = [
    "KINDS",
    "MAX_LEVERS",
    "PROB_DIGITS",
    "ROOMS",
    "LeverFamily",
    "LeverTask",
    "LeverTaskGenerator",
    "TaskSource",
    "LeverTaskSpace",
    "complexity",
    "noop_score",
]

KINDS: tuple[str, ...] = ("trivial", "impossible", "learnable")
MAX_LEVERS = 16
ROOMS = 1000  # distinct room labels per kind and probabilities
PROB_DIGITS = 3  # decimals kept by the generator, so tasks are few enough to repeat and hash

TaskSource = Callable[[np.random.Generator], "LeverTask"]
"""Where `VectorLevers` gets its next task: a generator's `sample`, or a curriculum."""


def _r(x: float) -> float:
    """Rounds a probability as the generator stores it (+ 0.0 turns -0.0 into 0.0)."""
    return round(float(x), PROB_DIGITS) + 0.0


# --------------------------------------------------------------------------------------------
# Task


@dataclass(frozen=True)
class LeverTask:
    """One lever room: the kind it was drawn as, the per-action pay probabilities (index 0 is
    the no-op) and the episode length.

    The kind is a label a curriculum can report on, but it is kept honest: an impossible task
    must pay nothing anywhere and a learnable one must not pay for the no-op.
    """

    kind: str
    probs: tuple[float, ...]
    horizon: int
    room: int = 0  # which room the levers stand in: a label that keeps tasks distinct (the
    # single all-zero impossible task would otherwise fall on one side of a split only)

    def __post_init__(self) -> None:
        object.__setattr__(self, "room", integer("LeverTask.room", self.room, 0, ROOMS - 1))
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise ConfigError(f"LeverTask.kind: {show(self.kind)} is not one of {list(KINDS)}")
        probs = self.probs
        if isinstance(probs, (str, bytes)) or not isinstance(probs, (Sequence, np.ndarray)):
            fail("LeverTask.probs", probs, f"sequences of 2..{MAX_LEVERS + 1} probabilities in "
                 "[0, 1] (no-op first)")
        if not 2 <= len(probs) <= MAX_LEVERS + 1:
            raise ConfigError(f"LeverTask.probs: length {len(probs)} is not allowed; allowed: "
                              f"2..{MAX_LEVERS + 1} (the no-op and 1..{MAX_LEVERS} levers)")
        object.__setattr__(self, "probs", tuple(
            number(f"LeverTask.probs[{i}]", p, 0.0, 1.0) + 0.0 for i, p in enumerate(probs)))
        if not is_integer(self.horizon) or self.horizon < 1:
            raise ConfigError(f"LeverTask.horizon: {show(self.horizon)} is not an integer >= 1")
        object.__setattr__(self, "horizon", int(self.horizon))
        if self.kind == "impossible" and any(p > 0 for p in self.probs):
            fail("LeverTask.probs", self.probs, "all 0.0 for kind 'impossible'")
        if self.kind == "learnable" and self.probs[0] > 0:
            fail("LeverTask.probs[0]", self.probs[0], "0.0 for kind 'learnable' (the no-op pays "
                 "nothing)")

    @property
    def n_levers(self) -> int:
        return len(self.probs) - 1

    @property
    def n_actions(self) -> int:
        return len(self.probs)

    @property
    def max_return(self) -> float:
        """The most an episode can pay (one per step): scores are normalised by it."""
        return float(self.horizon)

    @property
    def description(self) -> str:
        best = max(self.probs[1:])
        return (f"{self.kind} levers={self.n_levers} noop={self.probs[0]:.3f} "
                f"best_lever={best:.3f} horizon={self.horizon}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "probs": list(self.probs), "horizon": self.horizon,
                "room": self.room}

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, compact): equal tasks give equal strings and ids."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def task_id(self) -> str:
        """First 16 hex digits of the SHA-256 of the canonical JSON."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @property
    def split_key(self) -> str:
        """What `Split` hashes. A lever task has no episode settings apart from its horizon,
        which is part of what makes the task, so the split key is the task id."""
        return self.task_id

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LeverTask:
        if not isinstance(d, Mapping):
            raise ConfigError(f"LeverTask: {show(d)} is not a JSON object with keys "
                              "['horizon', 'kind', 'probs']")
        allowed = sorted(f.name for f in fields(cls))
        unknown = sorted(set(d) - set(allowed))
        if unknown:
            raise ConfigError(f"LeverTask: unknown keys {unknown}; allowed keys: {allowed}")
        for name in ("horizon", "kind", "probs"):
            if name not in d:
                raise ConfigError(f"LeverTask.{name}: missing; required keys: {allowed}")
        if not isinstance(d["kind"], str):
            fail("LeverTask.kind", d["kind"], f"strings from {list(KINDS)}")
        if not isinstance(d["probs"], list):
            fail("LeverTask.probs", d["probs"], "lists of probabilities")
        return cls(d["kind"], tuple(d["probs"]), d["horizon"], d.get("room", 0))

    @classmethod
    def from_json(cls, s: str) -> LeverTask:
        try:
            d = json.loads(s)
        except (json.JSONDecodeError, TypeError) as e:
            raise ConfigError(f"LeverTask: not valid JSON ({e})") from e
        return cls.from_dict(d)


def noop_score(task: LeverTask) -> float:
    """Exact expected per-step score of the policy that never acts (always action 0).

    This is the cheap filter for trivial tasks: if doing nothing already scores well, there is
    nothing to learn. Multiply by `horizon` for the expected episode return.
    """
    return task.probs[0]


def complexity(task: LeverTask) -> dict[str, float]:
    """Descriptors a curriculum can log or regress its choices on."""
    return {
        "levers": float(task.n_levers),
        "good_p": float(max(task.probs[1:])),
        **{f"kind_{k}": float(task.kind == k) for k in KINDS},
    }


# --------------------------------------------------------------------------------------------
# Family and generator


@dataclass(frozen=True)
class LeverFamily:
    """The distribution lever tasks are drawn from: the mix of kinds (`weights` for trivial,
    impossible, learnable) and the probability ranges each kind draws from."""

    n_levers: int = 4
    horizon: int = 20
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    good_p: tuple[float, float] = (0.7, 1.0)
    bad_p: tuple[float, float] = (0.0, 0.1)
    trivial_p: tuple[float, float] = (0.9, 1.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_levers",
                           integer("LeverFamily.n_levers", self.n_levers, 1, MAX_LEVERS))
        object.__setattr__(self, "horizon", integer("LeverFamily.horizon", self.horizon, 1))
        w = self.weights
        if (not isinstance(w, (tuple, list)) or len(w) != 3
                or not all(is_finite(x) for x in w) or min(w) < 0 or sum(w) <= 0):
            fail("LeverFamily.weights", w, f"3 finite non-negative numbers for {list(KINDS)} "
                 "with a positive sum")
        object.__setattr__(self, "weights", tuple(float(x) for x in w))
        for name in ("good_p", "bad_p", "trivial_p"):
            object.__setattr__(self, name,
                               number_pair(f"LeverFamily.{name}", getattr(self, name), 0.0, 1.0))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LeverFamily:
        """From a config mapping (lists become tuples); unknown keys are errors, not ignored."""
        allowed = sorted(f.name for f in fields(cls))
        unknown = sorted(set(d) - set(allowed))
        if unknown:
            raise ConfigError(f"LeverFamily: unknown keys {unknown}; allowed keys: {allowed}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    @property
    def kind_probs(self) -> dict[str, float]:
        """Probability of each kind per draw (the normalised weights)."""
        total = sum(self.weights)
        return {k: w / total for k, w in zip(KINDS, self.weights, strict=True)}


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float], size: int) -> list[float]:
    lo, hi = lo_hi
    return [min(max(_r(x), lo), hi) for x in rng.uniform(lo, hi, size)]


class LeverTaskGenerator:
    """Draws lever tasks of one family; with a split, only from its side (train: never a
    held-out task; test: only those), like `worlds.generator.TaskGenerator`."""

    def __init__(self, family: LeverFamily, split: Split | None = None) -> None:
        if split is not None:
            side = split.heldout_fraction if split.role == "test" else 1 - split.heldout_fraction
            if side <= 0:
                raise ConfigError(f"split: role {split.role!r} with heldout_fraction "
                                  f"{split.heldout_fraction} leaves no lever task on that side; "
                                  "allowed: 0 < heldout_fraction < 1 for this role")
        self.family = family
        self.split = split
        self.stats: Counter[str] = Counter()  # draws, heldout / not_heldout, duplicates, ...

    def sample_any(self, rng: np.random.Generator) -> LeverTask:
        """One task of the family, on either side of the split."""
        fam = self.family
        self.stats["draws"] += 1
        w = np.asarray(fam.weights)
        kind = KINDS[int(rng.choice(len(KINDS), p=w / w.sum()))]
        n = fam.n_levers
        if kind == "trivial":
            probs = _uniform(rng, fam.trivial_p, n + 1)
        elif kind == "impossible":
            probs = [0.0] * (n + 1)
        else:
            good = int(rng.integers(1, n + 1))
            probs = [0.0, *_uniform(rng, fam.bad_p, n)]
            probs[good] = _uniform(rng, fam.good_p, 1)[0]
        return LeverTask(kind, tuple(probs), fam.horizon, int(rng.integers(ROOMS)))

    def sample(self, rng: np.random.Generator) -> LeverTask:
        """One task on this generator's side of the split (the `TaskSource` to train on)."""
        if self.split is None:
            return self.sample_any(rng)
        frac = self.split.heldout_fraction
        side = frac if self.split.role == "test" else 1.0 - frac
        limit = 1000 if side >= 0.5 else int(math.ceil(200 / max(side, 1e-6)))
        for _ in range(limit):
            task = self.sample_any(rng)
            if self.split.accepts(task.split_key):
                return task
            self.stats["heldout" if self.split.role == "train" else "not_heldout"] += 1
        raise RuntimeError(f"lever family {self.family}: no task on the {self.split.role!r} "
                           f"side of split {self.split.split_id} in {limit} draws")

    def generate(self, seed: int, n: int, kind: str | None = None) -> list[LeverTask]:
        """n distinct tasks (by task_id), deterministic in `seed`, optionally of one kind; a
        longer list extends a shorter one drawn with the same seed."""
        if kind is not None and kind not in KINDS:
            fail("kind", kind, f"{list(KINDS)} or None")
        share = 1.0 if kind is None else self.family.kind_probs[kind]
        if share <= 0:
            raise ConfigError(f"kind: {kind!r} has weight 0 in the family "
                              f"(weights {self.family.weights} for {list(KINDS)})")
        rng = np.random.default_rng(seed)
        out: list[LeverTask] = []
        seen: set[str] = set()
        for _ in range(int(math.ceil((10 * n + 100) / share))):
            if len(out) == n:
                return out
            task = self.sample(rng)
            if kind is not None and task.kind != kind:
                self.stats["other_kind"] += 1
                continue
            if task.task_id in seen:
                self.stats["duplicates"] += 1
                continue
            seen.add(task.task_id)
            out.append(task)
        if len(out) == n:
            return out
        raise RuntimeError(f"lever family {self.family}: only {len(out)} distinct tasks"
                           f"{'' if kind is None else f' of kind {kind!r}'} of {n} requested "
                           "(the family, or its side of the split, is too small)")


class LeverTaskSpace:
    """The curriculum's view of the lever family: exact no-op scores, no frames spent."""

    def __init__(self, generator: LeverTaskGenerator) -> None:
        if generator.split is None or generator.split.role != "train":
            raise ValueError("LeverTaskSpace needs a generator with a training-side split")
        self.generator = generator
        self.split: Split = generator.split

    def sample(self, rng: np.random.Generator) -> LeverTask:
        return self.generator.sample(rng)

    def task_from_json(self, text: str) -> LeverTask:
        return LeverTask.from_json(text)

    def noop_score(self, task: LeverTask) -> tuple[float, int]:
        return float(noop_score(task)), 0

    def complexity(self, task: LeverTask) -> dict[str, float]:
        return complexity(task)

    def close(self) -> None:
        pass
