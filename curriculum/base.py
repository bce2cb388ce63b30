"""What every curriculum shares: the interface, episode statistics, and the task space.

A curriculum decides which task each new episode plays. The env calls `sample(rng)` at every
episode start (it *is* the env's task source, so an auto-reset can never load a task the
curriculum did not choose), and the trainer reports each finished episode back through
`update(task_id, stats)`. Everything a curriculum knows lives in `state_dict()`, which records
the held-out split it was built with: state built against one split must never be loaded
against another, or held-out tasks could leak into training.

A `TaskSpace` is what a curriculum needs from a task family: fresh training-side tasks, the
split, (de)serialisation for state files, the no-op policy's score, and complexity statistics
for logging. `curriculum.spaces` adapts the 3D world and the lever family to it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from worlds.env_batch import EpisodeRecord
from worlds.split import Split


class CurriculumError(RuntimeError):
    """The curriculum cannot do what was asked (e.g. no candidate passes the no-op filter)."""


class CurriculumStateError(ValueError):
    """A curriculum state file does not fit this curriculum; the message names the field."""


class TaskLike(Protocol):
    """A task of any family: the world's `Task` and `ada.bayes.levers.LeverTask` both qualify."""

    @property
    def task_id(self) -> str: ...

    @property
    def split_key(self) -> str: ...

    def to_json(self) -> str: ...


class TaskSpace(Protocol):
    """A task family as a curriculum sees it (see module docstring)."""

    split: Split

    def sample(self, rng: np.random.Generator) -> Any:
        """A fresh task on the split's training side."""

    def task_from_json(self, text: str) -> Any:
        """Inverse of `task.to_json()` (validating)."""

    def noop_score(self, task: Any) -> tuple[float, int]:
        """(score of the no-op policy in [0, 1], env frames spent computing it)."""

    def complexity(self, task: Any) -> dict[str, float]:
        """Named complexity figures of a task (rule depth, objects, hidden rules, ...)."""


@dataclass(frozen=True)
class EpisodeStats:
    """One finished (or cut-off) episode on one task, as the scorers and gates need it.

    `score` is the normalised return in [0, 1] (for the world: the fraction of steps on which
    the goal held), so thresholds mean the same in every family. `values` and `rewards` are the
    per-step value predictions and rewards the actor saw, which PLR's scorers need;
    `bootstrap_value` is V of the state after the last step, used only when not `completed`.
    """

    task_id: str
    episode_return: float
    length: int
    max_return: float
    completed: bool = True
    trial_returns: tuple[float, ...] = ()
    values: np.ndarray | None = None
    rewards: np.ndarray | None = None
    bootstrap_value: float = 0.0

    def __post_init__(self) -> None:
        if self.length < 0:
            raise ValueError(f"EpisodeStats.length: {self.length} is not allowed; allowed: >= 0")
        if not math.isfinite(self.episode_return):
            raise ValueError(f"EpisodeStats.episode_return: {self.episode_return!r} is not "
                             "finite")
        for name in ("values", "rewards"):
            arr = getattr(self, name)
            if arr is not None and np.shape(arr) != (self.length,):
                raise ValueError(f"EpisodeStats.{name}: shape {np.shape(arr)} does not match "
                                 f"length {self.length}")

    @property
    def score(self) -> float:
        if self.max_return <= 0:
            return 0.0
        return float(min(max(self.episode_return / self.max_return, 0.0), 1.0))

    @staticmethod
    def from_episode(ep: EpisodeRecord) -> EpisodeStats:
        """From an env batch's episode record, completed by the actor (values, rewards).

        A prompted episode (`ep.demo_steps` > 0) is scored on the agent's own play only: the
        demonstrator's leading trials are cut off the return, the length, the per-step arrays,
        the per-trial returns and, in proportion, the maximum return, so the expert's trial 1
        neither makes a task look solved nor feeds PLR's value-loss scores."""
        if ep.task_id is None:
            raise ValueError("EpisodeStats.from_episode: the episode has no task_id (its env "
                             "kind has no tasks for a curriculum to score)")
        if ep.demo_steps:
            return _after_demo(ep)
        return EpisodeStats(
            task_id=ep.task_id, episode_return=float(ep.episode_return), length=int(ep.length),
            max_return=float(ep.length if ep.max_return is None else ep.max_return),
            trial_returns=tuple(float(r) for r in ep.trial_returns),
            values=None if ep.values is None else np.asarray(ep.values, np.float64),
            rewards=None if ep.rewards is None else np.asarray(ep.rewards, np.float64))


def _after_demo(ep: EpisodeRecord) -> EpisodeStats:
    """`EpisodeStats.from_episode` of a prompted episode: the steps after the demonstration."""
    d, n = int(ep.demo_steps), int(ep.length)
    if not 0 < d <= n:
        raise ValueError(f"EpisodeRecord.demo_steps: {d} is not allowed; allowed: 1..{n} "
                         "(the episode's length)")
    if ep.rewards is None:
        raise ValueError("EpisodeStats.from_episode: a prompted episode needs its per-step "
                         "rewards to be scored without the demonstration")
    rewards = np.asarray(ep.rewards, np.float64)
    trials = tuple(float(r) for r in ep.trial_returns)
    per_trial = n // len(trials) if trials else 0
    shown = d // per_trial if per_trial and d % per_trial == 0 else 0
    max_return = float(n if ep.max_return is None else ep.max_return)
    return EpisodeStats(
        task_id=str(ep.task_id), episode_return=float(rewards[d:].sum()), length=n - d,
        max_return=max_return * (n - d) / n, trial_returns=trials[shown:],
        values=None if ep.values is None else np.asarray(ep.values, np.float64)[d:],
        rewards=rewards[d:])


class Curriculum(ABC):
    """`sample(rng) -> task`, `update(task_id, stats)`, `state_dict()`/`load_state_dict()`."""

    name: str = "curriculum"

    def __init__(self, space: TaskSpace, frontier_max_score: float = 0.9) -> None:
        self.space = space
        self.frontier_max_score = frontier_max_score
        self.totals: Counter[str] = Counter()
        self._window: Counter[str] = Counter()
        self._window_complexity: dict[str, list[float]] = {}

    @property
    def split_id(self) -> str:
        return self.space.split.split_id

    def _checked(self, task: Any) -> Any:
        """Refuses to emit a held-out or probe task, whatever the generator did."""
        if self.space.split.is_heldout(task.split_key):
            raise CurriculumError(f"task {task.task_id} is held out under split "
                                  f"{self.split_id}; a curriculum must never emit it")
        return task

    def _emit(self, task: Any) -> Any:
        """Every sampled task passes here: split check and complexity statistics."""
        self._checked(task)
        for k, v in self.space.complexity(task).items():
            self._window_complexity.setdefault(k, []).append(float(v))
        return task

    def _count(self, key: str, n: int = 1) -> None:
        self.totals[key] += n
        self._window[key] += n

    def _record_outcome(self, stats: EpisodeStats) -> None:
        """Episode outcome classes: failed (score 0), solved (>= frontier_max_score) and the
        frontier in between, where the agent can neither always solve nor always fail."""
        s, top = stats.score, self.frontier_max_score
        self._count("episodes")
        self._count("outcome_failed", int(s <= 0.0))
        self._count("outcome_solved", int(s >= top))
        self._count("outcome_frontier", int(0.0 < s < top))

    def _window_metrics(self) -> dict[str, float]:
        """Outcome shares and mean complexity of sampled tasks since the last call."""
        w, out = self._window, {}
        if w["episodes"]:
            for k in ("failed", "solved", "frontier"):
                out[f"curriculum/share_{k}"] = w[f"outcome_{k}"] / w["episodes"]
        for k, vals in self._window_complexity.items():
            out[f"curriculum/sampled_{k}"] = float(np.mean(vals))
        self._window.clear()
        self._window_complexity.clear()
        return out

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """The task for the next episode."""

    @abstractmethod
    def update(self, task_id: str, stats: EpisodeStats) -> None:
        """Learn from one episode played on `task_id`."""

    def grad_allowed(self, task_id: str) -> bool:
        """Whether the learner may take gradients on an episode of this task (robust PLR
        plays new tasks for evaluation only)."""
        return True

    def metrics(self) -> dict[str, float]:
        """Scalars for TensorBoard since the last call (windowed counters reset)."""
        return self._window_metrics()

    @abstractmethod
    def _state(self) -> dict[str, Any]: ...

    @abstractmethod
    def _load_state(self, state: Mapping[str, Any]) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "split_id": self.split_id, "state": self._state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Refuses state from another curriculum kind or built against another split."""
        for key in ("name", "split_id", "state"):
            if key not in state:
                raise CurriculumStateError(f"curriculum state: missing field {key!r}; a state "
                                           "has fields ['name', 'split_id', 'state']")
        if state["name"] != self.name:
            raise CurriculumStateError(f"curriculum state: name {state['name']!r} does not "
                                       f"match this curriculum {self.name!r}")
        if state["split_id"] != self.split_id:
            raise CurriculumStateError(
                f"curriculum state: split_id {state['split_id']!r} differs from this run's "
                f"split {self.split_id!r} (held-out set definition: name, fraction, salt, "
                "probes); state from another split could leak held-out tasks")
        self._load_state(state["state"])


def rolling_stats(prefix: str, values: list[float]) -> dict[str, float]:
    """Mean and quantiles of a list, for logging; empty lists log nothing."""
    if not values:
        return {}
    arr = np.asarray(values, np.float64)
    return {f"{prefix}_mean": float(arr.mean()), f"{prefix}_p10": float(np.quantile(arr, 0.1)),
            f"{prefix}_p50": float(np.quantile(arr, 0.5)),
            f"{prefix}_p90": float(np.quantile(arr, 0.9)), f"{prefix}_max": float(arr.max())}


__all__ = ["Curriculum", "CurriculumError", "CurriculumStateError", "EpisodeStats",
           "TaskLike", "TaskSpace", "rolling_stats"]
