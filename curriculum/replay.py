"""Replay curricula: PLR, AdA's no-op filter, and the two composed (`noop_plr`).

One class covers the three because they share a life cycle. Each episode is either a *replay*
of a buffered task (probability `replay_prob` once the buffer holds `min_fill * capacity`
tasks) or a *candidate*: a fresh training-side task. With a no-op gate, a candidate is first
checked against the no-op policy (`TaskSpace.noop_score`, no agent frames: a task that doing
nothing already solves is dropped before it costs an episode); the agent's episode on it then
decides admission (beats no-op by a margin, not already near-perfect). Admitted candidates enter
the buffer with their PLR score; when the buffer is full the lowest-weight task is evicted, and
a candidate scoring below every buffered task is not inserted.

Candidate episodes are the filter's evaluation episodes: they are counted (episodes and frames)
and, with `no_grad_new` (robust PLR), the learner takes no gradient on them.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from curriculum.base import (
    Curriculum,
    CurriculumError,
    CurriculumStateError,
    EpisodeStats,
    TaskSpace,
    rolling_stats,
)
from curriculum.config import NoopFilterConfig, PLRConfig
from curriculum.plr import eviction_index, replay_distribution
from curriculum.scoring import episode_return, score_episode

MAX_PENDING = 10_000  # candidates awaiting their episode; beyond this the oldest are dropped


class ReplayCurriculum(Curriculum):
    def __init__(self, space: TaskSpace, plr: PLRConfig, gate: NoopFilterConfig | None = None,
                 name: str = "plr") -> None:
        super().__init__(space, gate.agent_max_score if gate is not None else 0.9)
        self.cfg = plr
        self.gate = gate
        self.name = name
        # buffer (insertion order)
        self.tasks: list[Any] = []
        self.ids: list[str] = []
        self.scores: list[float] = []
        self.last_played: list[int] = []
        self.plays: list[int] = []
        self._index: dict[str, int] = {}
        # candidates in flight: task_id -> (task, noop score)
        self.pending: OrderedDict[str, tuple[Any, float]] = OrderedDict()
        self.best_return: dict[str, float] = {}
        self.count = 0  # episodes sampled (the PLR clock c)

    # ---- sampling ------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return len(self.ids)

    def ready_to_replay(self) -> bool:
        return self.size > 0 and self.size >= self.cfg.min_fill * self.cfg.capacity

    def distribution(self) -> np.ndarray:
        """The replay distribution over the buffer right now (a pure function of its state)."""
        return replay_distribution(np.asarray(self.scores), np.asarray(self.last_played),
                                   self.count, self.cfg.prioritization, self.cfg.temperature,
                                   self.cfg.staleness_coef)

    def sample(self, rng: np.random.Generator) -> Any:
        self.count += 1
        replay = self.ready_to_replay() and rng.random() < self.cfg.replay_prob
        if replay:
            i = int(rng.choice(self.size, p=self.distribution()))
            self.last_played[i] = self.count
            self.plays[i] += 1
            task = self.tasks[i]
            self._count("replays")
        else:
            task = self._candidate(rng)
            self._count("candidates")
        return self._emit(task)

    def _candidate(self, rng: np.random.Generator) -> Any:
        limit = self.gate.max_candidates if self.gate is not None else 1
        for _ in range(limit):
            task = self.space.sample(rng)
            noop = 0.0
            if self.gate is not None:
                noop, frames = self.space.noop_score(task)
                self._count("noop_evaluations")
                self._count("noop_frames", frames)
                if noop > self.gate.noop_max_score:
                    self._count("noop_rejected")
                    continue
            self.pending[task.task_id] = (task, noop)
            self.pending.move_to_end(task.task_id)
            while len(self.pending) > MAX_PENDING:
                self.pending.popitem(last=False)
            return task
        raise CurriculumError(f"no fresh task passed the no-op filter in {limit} draws "
                              f"(noop_max_score={self.gate.noop_max_score if self.gate else 0}); "
                              "the family is mostly trivial for a no-op policy: raise "
                              "curriculum.noop.noop_max_score or change the family")

    def grad_allowed(self, task_id: str) -> bool:
        return not (self.cfg.no_grad_new and task_id not in self._index)

    # ---- learning ------------------------------------------------------------------------------
    def update(self, task_id: str, stats: EpisodeStats) -> None:
        """Scores the episode and updates the buffer. An episode with a non-finite value,
        reward or bootstrap value raises the scorer's ValueError (see `curriculum.scoring`)
        before anything is recorded, so the buffer and counters never hold a partial update."""
        score = score_episode(stats, self.cfg.scorer, self.cfg.gamma, self.cfg.gae_lambda,
                              self.best_return.get(task_id))
        self._record_outcome(stats)
        if stats.completed and stats.rewards is not None and stats.length > 0 and (
                task_id in self._index or task_id in self.pending):
            own = episode_return(stats, self.cfg.gamma)
            self.best_return[task_id] = max(self.best_return.get(task_id, own), own)
        if score is None:
            self._count("empty_episodes")
            return
        if task_id in self._index:
            self.scores[self._index[task_id]] = score
            return
        if task_id not in self.pending:
            self._count("unknown_task")  # e.g. an episode begun before a resume
            return
        if not stats.completed:
            return  # decide admission on a whole episode
        task, noop = self.pending.pop(task_id)
        self._count("candidate_episodes")
        self._count("candidate_frames", stats.length)
        if self.gate is not None and not self._admit(stats.score, noop):
            self._count("gate_rejected")
            self.best_return.pop(task_id, None)
            return
        self._count("admitted")
        self._insert(task, score)

    def _admit(self, agent: float, noop: float) -> bool:
        assert self.gate is not None
        return agent - noop >= self.gate.min_margin and agent <= self.gate.agent_max_score

    def _insert(self, task: Any, score: float) -> None:
        if self.size >= self.cfg.capacity:
            if self.cfg.prioritization != "uniform" and score <= min(self.scores):
                self._count("not_inserted")
                return
            self._remove(eviction_index(np.asarray(self.scores), np.asarray(self.last_played),
                                        self.cfg.prioritization, self.cfg.temperature))
            self._count("evicted")
        self.tasks.append(task)
        self.ids.append(task.task_id)
        self.scores.append(float(score))
        self.last_played.append(self.count)
        self.plays.append(1)
        self._index[task.task_id] = self.size - 1

    def _remove(self, i: int) -> None:
        tid = self.ids[i]
        for arr in (self.tasks, self.ids, self.scores, self.last_played, self.plays):
            del arr[i]
        self.best_return.pop(tid, None)
        self._index = {t: j for j, t in enumerate(self.ids)}

    # ---- logging -------------------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        w = self._window
        out: dict[str, float] = {
            "curriculum/buffer_size": float(self.size),
            "curriculum/buffer_fill": self.size / self.cfg.capacity,
            "curriculum/pending": float(len(self.pending)),
        }
        sampled = w["replays"] + w["candidates"]
        if sampled:
            out["curriculum/replay_fraction"] = w["replays"] / sampled
        decided = w["admitted"] + w["gate_rejected"]
        if self.gate is not None:
            drawn = w["noop_evaluations"]
            if drawn:
                out["curriculum/noop_pass_rate"] = 1.0 - w["noop_rejected"] / drawn
            if decided:
                out["curriculum/admission_rate"] = w["admitted"] / decided
            out["curriculum/noop_eval_frames_total"] = float(self.totals["noop_frames"])
        out["curriculum/candidate_episodes_total"] = float(self.totals["candidate_episodes"])
        out["curriculum/candidate_frames_total"] = float(self.totals["candidate_frames"])
        if self.scores:
            out.update(rolling_stats("curriculum/buffer_score", self.scores))
        out.update(self._window_metrics())
        return out

    # ---- state ---------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"tasks": [t.to_json() for t in self.tasks], "scores": list(self.scores),
                "last_played": list(self.last_played), "plays": list(self.plays),
                "pending": [(t.to_json(), noop) for t, noop in self.pending.values()],
                "best_return": dict(self.best_return), "count": self.count,
                "totals": dict(self.totals)}

    def _load_state(self, state: Mapping[str, Any]) -> None:
        keys = ("tasks", "scores", "last_played", "plays", "pending", "best_return", "count",
                "totals")
        missing = [k for k in keys if k not in state]
        if missing:
            raise CurriculumStateError(f"curriculum state.state: missing field(s) {missing}; "
                                       f"required are {list(keys)}")
        n = len(state["tasks"])
        for k in ("scores", "last_played", "plays"):
            if len(state[k]) != n:
                raise CurriculumStateError(f"curriculum state.state.{k}: {len(state[k])} "
                                           f"entries, but {n} tasks")
        if n > self.cfg.capacity:
            raise CurriculumStateError(f"curriculum state.state.tasks: {n} tasks exceed "
                                       f"plr.capacity={self.cfg.capacity}")
        scores = np.asarray(state["scores"], np.float64)
        if not np.all(np.isfinite(scores)):
            raise CurriculumStateError("curriculum state.state.scores: non-finite scores")
        tasks = [self.space.task_from_json(s) for s in state["tasks"]]
        for t in tasks:
            self._checked(t)
        self.tasks = tasks
        self.ids = [t.task_id for t in tasks]
        self.scores = [float(s) for s in scores]
        self.last_played = [int(x) for x in state["last_played"]]
        self.plays = [int(x) for x in state["plays"]]
        self._index = {t: j for j, t in enumerate(self.ids)}
        self.pending = OrderedDict()
        for text, noop in state["pending"]:
            task = self._checked(self.space.task_from_json(text))
            self.pending[task.task_id] = (task, float(noop))
        self.best_return = {str(k): float(v) for k, v in state["best_return"].items()}
        self.count = int(state["count"])
        self.totals = Counter({str(k): int(v) for k, v in state["totals"].items()})


__all__ = ["ReplayCurriculum"]
