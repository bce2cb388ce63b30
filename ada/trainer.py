"""One training run: actors, learner, weights, logging and checkpoints, from a `TrainConfig`.

`Trainer` is what `python -m ada.train` and `python -m ada.bayes_check` both drive. It builds
the curriculum, the agent, the `Learner` and a runtime (`ada.runtime.base`: the actors, inline
or on Ray); `run()` then loops

    batch = one unroll from every actor  ->  learner.step(batch)  ->  publish weights
    ->  curriculum feedback

logging TensorBoard scalars (returns, losses, entropy, fps, policy lag) and a progress bar with
fps and ETA, and writing an atomic checkpoint every `checkpoint_every` updates and at the end.
A run with `resume=auto` continues from the latest checkpoint in its `out_dir`; for envs that
can save their state (bandits) the continuation is bit-for-bit the uninterrupted run.

With `runtime.backend=inline` the actors run in this process; with `runtime.backend=ray` the
same `ActorHost` class runs in Ray actor processes (`ada.runtime.ray_runtime`). The loop,
logging, curriculum, task feed and checkpoints are the same for both; only where the actors
run differs.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ada.agent_checkpoint import load_agent
from ada.config import TrainConfig
from ada.envs import env_specs, make_task_space
from ada.learning.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from ada.learning.learner import Learner
from ada.runtime.base import Runtime, make_runtime
from ada.runtime.trajectory import Trajectory
from ada.runtime.weights import WeightSource, cpu_state
from agents.agent import Agent
from curriculum import Curriculum, EpisodeStats, make_curriculum
from worlds.env_batch import EpisodeRecord

log = logging.getLogger(__name__)
KEEP_CHECKPOINTS = 3


def curriculum_feedback(curriculum: Curriculum | None,
                        episodes: list[EpisodeRecord]) -> list[EpisodeRecord]:
    """Report finished episodes to the curriculum (both backends); returns them without the
    per-step values and rewards the actor attached for it, which the logs do not need."""
    for ep in episodes:
        if curriculum is not None and ep.task_id is not None:
            curriculum.update(ep.task_id, EpisodeStats.from_episode(ep))
    return [ep.without_steps() for ep in episodes]


def episode_scalars(episodes: list[EpisodeRecord]) -> dict[str, float]:
    """The logged means over a window of finished episodes: count, length, MuJoCo warnings (0
    unless the physics misbehaves); the agent's own episodes' return, per-trial returns and,
    for families that label their tasks (levers), return per kind; and prompted episodes
    (`demo_prob`) apart, since a demonstrator played their first trial: their count and
    per-trial returns (`episode/prompted_trial_1_return` is the demonstrator's)."""
    out = {"episode/length": float(np.mean([e.length for e in episodes])),
           "episode/count": float(len(episodes))}
    warned = [e.physics_warnings for e in episodes if e.physics_warnings is not None]
    if warned:
        out["episode/physics_warnings"] = float(np.mean(warned))
    own = [e for e in episodes if not e.demo_steps]
    shown = [e for e in episodes if e.demo_steps]
    if own:
        out["episode/return"] = float(np.mean([e.episode_return for e in own]))
    if shown:
        out["episode/prompted_count"] = float(len(shown))
    for prefix, group in (("episode/trial", own), ("episode/prompted_trial", shown)):
        per_trial: dict[int, list[float]] = defaultdict(list)
        for e in group:
            for i, r in enumerate(e.trial_returns):
                per_trial[i].append(r)
        for i, rs in per_trial.items():
            out[f"{prefix}_{i + 1}_return"] = float(np.mean(rs))
    by_kind: dict[str, list[float]] = defaultdict(list)
    for e in own:
        if e.kind is not None:
            by_kind[e.kind].append(e.episode_return)
    for kind, rs in by_kind.items():
        out[f"episode/return_{kind}"] = float(np.mean(rs))
    return out


class Trainer:
    def __init__(self, cfg: TrainConfig,
                 on_log: Callable[[int, dict[str, float]], None] | None = None) -> None:
        self.cfg = cfg
        self.on_log = on_log
        self.out_dir = Path(cfg.out_dir)
        rt = cfg.runtime
        torch.set_num_threads(rt.torch_threads)
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        self.space = make_task_space(cfg.env)
        self.curriculum: Curriculum | None = None
        if self.space is not None:
            self.curriculum = make_curriculum(cfg.curriculum, self.space)
        agent = Agent(*env_specs(cfg.env), cfg.agent)
        if cfg.algo.kickstart.is_checkpoint:  # a bad teacher fails here, not in an actor
            from ada.runtime.teacher import load_teacher

            load_teacher(cfg.algo.kickstart.teacher, env_specs(cfg.env)[0])
        self.learner = Learner(agent, cfg.algo, cfg.total_updates, device=rt.device,
                               dtype=rt.learner_dtype)
        use_grad_flags = self.curriculum is not None \
            and getattr(self.curriculum, "cfg", None) is not None \
            and self.curriculum.cfg.no_grad_new
        self.runtime: Runtime = make_runtime(cfg, cpu_state(agent), self.curriculum,
                                             use_grad_flags=use_grad_flags)
        self.episodes: list[EpisodeRecord] = []
        self.history: list[dict[str, float]] = []
        self._writer: Any = None

    @property
    def weights(self) -> WeightSource:
        return self.runtime.weights

    # ---- checkpoints ---------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / "checkpoints"

    def save(self) -> Path:
        path = self.checkpoint_dir / f"ckpt_{self.learner.updates:08d}.pt"
        extra: dict[str, Any] = {}
        if self.curriculum is not None:
            extra["curriculum"] = self.curriculum.state_dict()
        feed = self.runtime.feed_state()
        if feed is not None:
            extra["task_feed"] = feed
        save_checkpoint(path, learner=self.learner.state_dict(),
                        actors=self.runtime.actor_states(),
                        config=self.cfg.to_dict(), step=self.learner.updates, extra=extra)
        old = sorted(self.checkpoint_dir.glob("ckpt_*.pt"))[:-KEEP_CHECKPOINTS]
        for stale in old:
            stale.unlink(missing_ok=True)
        return path

    def restore(self, path: str | Path) -> None:
        payload = load_checkpoint(path, config=self.cfg.to_dict())
        expected = len(self.runtime.actor_states())
        if len(payload["actors"]) != expected:
            raise CheckpointError(f"checkpoint {path} has {len(payload['actors'])} actor states, "
                                  f"this run (runtime.backend={self.cfg.runtime.backend!r}, "
                                  f"runtime.num_actors={self.cfg.runtime.num_actors}) has "
                                  f"{expected}")
        self.learner.load_state_dict(payload["learner"], where=f"checkpoint {path}: learner")
        extra = payload.get("extra", {})
        if self.curriculum is not None:
            state = extra.get("curriculum")
            if state is None:
                raise CheckpointError(f"checkpoint {path} has no curriculum state, but this run "
                                      f"uses curriculum.kind={self.cfg.curriculum.kind!r}")
            self.curriculum.load_state_dict(state)
            if extra.get("task_feed") is not None and self.space is not None:
                try:
                    self.runtime.load_feed_state(extra["task_feed"], self.space.task_from_json)
                except (KeyError, TypeError, ValueError) as err:
                    raise CheckpointError(f"checkpoint {path}: extra.task_feed: {err}") from None
        self.runtime.publish(self.learner.version, cpu_state(self.learner.agent))
        self.runtime.load_actor_states(payload["actors"])
        set_rng_state(payload["rng"])
        log.info("resumed from %s at update %d", path, self.learner.updates)

    def maybe_resume(self) -> Path | None:
        resume = self.cfg.resume
        if resume in (None, "never"):
            return None
        path = latest_checkpoint(self.checkpoint_dir) if resume == "auto" else Path(resume)
        if path is not None:
            self.restore(path)
        return path

    # ---- loop ----------------------------------------------------------------------------------
    def collect(self) -> tuple[Trajectory, dict[str, float]]:
        """One batch from the runtime (a seam tests use to watch what the actors played)."""
        return self.runtime.collect()

    def train_step(self) -> dict[str, float]:
        """collect -> (overlap: relaunch) -> learner.step -> publish -> curriculum feedback
        -> relaunch; the same on both backends."""
        t0 = time.perf_counter()
        self.runtime.teacher_on = self.learner.teacher_needed()
        batch, timing = self.collect()
        t1 = time.perf_counter()
        if self.runtime.overlap:
            self.runtime.relaunch()
        t2 = time.perf_counter()
        with warnings.catch_warnings():
            # A one-actor Ray batch is the object store's zero-copy, read-only arrays; torch
            # warns when wrapping them, but the learner only reads its batch.
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            metrics = self.learner.step(batch)
        t3 = time.perf_counter()
        self.runtime.publish(self.learner.version, cpu_state(self.learner.agent))
        t4 = time.perf_counter()
        self.episodes.extend(curriculum_feedback(self.curriculum, batch.episodes))
        t5 = time.perf_counter()
        self.runtime.teacher_on = self.learner.teacher_needed()  # for the unrolls sent now
        self.runtime.relaunch()
        t6 = time.perf_counter()
        metrics.update(timing)
        metrics.update({"actor_s": t1 - t0, "publish_s": t4 - t3, "curriculum_s": t5 - t4,
                        "relaunch_s": (t2 - t1) + (t6 - t5), "step_s": t6 - t0})
        if batch.learn_mask is not None:
            metrics["learn/masked_fraction"] = float(1.0 - batch.learn_mask.mean())
        return metrics

    def run(self, max_updates: int | None = None) -> dict[str, Any]:
        """Train until total_frames (or `max_updates` more updates); returns a summary."""
        self.maybe_resume()
        target = self.cfg.total_updates if max_updates is None \
            else min(self.cfg.total_updates, self.learner.updates + max_updates)
        bar = self._progress_bar()
        window: dict[str, list[float]] = defaultdict(list)
        start_frames, t_start = self.learner.frames, time.perf_counter()
        try:
            while self.learner.updates < target:
                metrics = self.train_step()
                for k, v in metrics.items():
                    window[k].append(v)
                if bar is not None:
                    bar.update(self.learner.frames - bar.n)
                if self.learner.updates % self.cfg.log_every == 0 or \
                        self.learner.updates == target:
                    elapsed = time.perf_counter() - t_start
                    self._log(window, (self.learner.frames - start_frames) / max(elapsed, 1e-9))
                    if bar is not None and self.history:
                        bar.set_postfix(ret=f"{self.history[-1].get('episode/return', 0):.2f}")
                    window.clear()
                if self.learner.updates % self.cfg.checkpoint_every == 0:
                    self.save()
            self.save()
        finally:
            if bar is not None:
                bar.close()
            if self._writer is not None:
                self._writer.flush()
        return {"updates": self.learner.updates, "frames": self.learner.frames,
                "history": self.history}

    def _progress_bar(self) -> Any:
        if not self.cfg.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=self.cfg.total_updates * self.cfg.frames_per_update,
                    initial=self.learner.frames, unit="frame", unit_scale=True, smoothing=0.1,
                    desc=self.cfg.name, dynamic_ncols=True)

    def _log(self, window: dict[str, list[float]], fps: float) -> None:
        scalars = {k: float(np.mean(v)) for k, v in window.items()}
        scalars["fps"] = fps
        scalars["frames"] = float(self.learner.frames)
        if self.episodes:
            scalars.update(episode_scalars(self.episodes))
            self.episodes.clear()
        if self.curriculum is not None:
            scalars.update(self.curriculum.metrics())
        scalars["update"] = float(self.learner.updates)
        self.history.append(scalars)
        writer = self._tensorboard()
        if writer is not None:
            for k, v in scalars.items():
                writer.add_scalar(k, v, self.learner.frames)
        if self.on_log is not None:
            self.on_log(self.learner.updates, scalars)

    def _tensorboard(self) -> Any:
        if self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is a dependency; tolerate a broken install
                log.warning("tensorboard is not importable; scalars are not written")
                self._writer = False
                return None
            self._writer = SummaryWriter(str(self.out_dir / "tb"))
        return self._writer or None

    def close(self) -> None:
        if self._writer:
            self._writer.close()
        self.runtime.close()
        if self.space is not None:
            self.space.close()


__all__ = ["Trainer", "curriculum_feedback", "episode_scalars", "load_agent"]
