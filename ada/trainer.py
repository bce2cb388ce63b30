"""One training run: actors, learner, weights, logging and checkpoints, from a `TrainConfig`.

`Trainer` is what `python -m ada.train` and `python -m ada.bayes_check` both drive. It builds
the env batches, the agent, the `Learner`, a weight source and the actors; `run()` then loops

    batch = one unroll from every actor  ->  learner.step(batch)  ->  publish weights

logging TensorBoard scalars (returns, losses, entropy, fps, policy lag) and a progress bar with
fps and ETA, and writing an atomic checkpoint every `checkpoint_every` updates and at the end.
A run with `resume=auto` continues from the latest checkpoint in its `out_dir`; for envs that
can save their state (bandits) the continuation is bit-for-bit the uninterrupted run.

With `runtime.backend=inline` the actors run in this process; with `runtime.backend=ray` the
same `Actor` class runs in Ray actor processes (`ada.runtime.ray_runtime`): the loop, logging,
curriculum and checkpoints here are shared, only collecting and publishing differ.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ada.config import BanditEnvConfig, LeversEnvConfig, TrainConfig, WorldEnvConfig
from ada.learning.checkpoint import (
    CheckpointError,
    latest_checkpoint,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    set_rng_state,
)
from ada.learning.learner import Learner
from ada.runtime.actor import Actor
from ada.runtime.env_batch import EnvBatch, SerialEnvBatch
from ada.runtime.trajectory import Trajectory
from ada.runtime.weights import InlineWeightSource, WeightSource, cpu_state
from agents.agent import Agent
from curriculum import Curriculum, EpisodeStats, make_curriculum

log = logging.getLogger(__name__)
KEEP_CHECKPOINTS = 3


EnvConfig = BanditEnvConfig | WorldEnvConfig | LeversEnvConfig
TaskSource = Callable[[np.random.Generator], Any]


def make_task_space(env_cfg: EnvConfig) -> Any:
    """The curriculum's view of the env's task family (None for prior-sampled bandits)."""
    if isinstance(env_cfg, LeversEnvConfig):
        from curriculum.spaces import LeverTaskSpace
        from worlds.levers import LeverTaskGenerator

        return LeverTaskSpace(LeverTaskGenerator(env_cfg.family(), env_cfg.split()))
    if isinstance(env_cfg, WorldEnvConfig):
        from curriculum.spaces import WorldTaskSpace
        from worlds.family import load_family
        from worlds.generator import TaskGenerator
        from worlds.split import Split

        split = Split(heldout_fraction=env_cfg.heldout_fraction, salt=env_cfg.split_salt)
        return WorldTaskSpace(TaskGenerator(load_family(env_cfg.family), split=split))
    return None


def make_env_batch(env_cfg: EnvConfig, num_envs: int, seed: int,
                   task_source: TaskSource | None = None) -> EnvBatch:
    """The env batch of one actor. Task-based envs take every episode's task from
    `task_source` (a curriculum's `sample`); by default, fresh training-side tasks."""
    if isinstance(env_cfg, BanditEnvConfig):
        from worlds.bandit_vec import VectorBandit

        return VectorBandit(env_cfg.family(), num_envs, seed=seed,
                            known_p_start=env_cfg.known_p_start,
                            warmup_frames=env_cfg.warmup_frames)
    if task_source is None:
        task_source = make_task_space(env_cfg).sample
    if isinstance(env_cfg, LeversEnvConfig):
        from worlds.levers import VectorLevers

        return VectorLevers(task_source, num_envs, env_cfg.n_levers, env_cfg.horizon,
                            seed=seed)
    from worlds.env import WorldEnv

    envs = [WorldEnv(task_source=task_source, seed=seed * 1009 + i,
                     image_size=env_cfg.image_size) for i in range(num_envs)]
    return SerialEnvBatch(envs)


def _no_task(rng: np.random.Generator) -> Any:
    raise RuntimeError("this env batch only provides specs; it has no task source")


def env_specs(env_cfg: EnvConfig) -> tuple[Any, Any]:
    """(observation spec, action spec) of the env, from a throw-away env without a renderer:
    the Ray driver needs the specs to build the learner's network but steps no envs."""
    if isinstance(env_cfg, WorldEnvConfig):
        from worlds.env import WorldEnv

        env: Any = WorldEnv(task_source=_no_task, image_size=env_cfg.image_size, render=False)
    else:
        env = make_env_batch(env_cfg, 1, seed=0, task_source=_no_task)
    try:
        return env.observation_spec(), env.action_spec()
    finally:
        env.close()


def curriculum_feedback(curriculum: Curriculum | None, episodes: list[dict[str, Any]]) -> None:
    """Report finished episodes to the curriculum (both backends), then drop the per-step
    values and rewards the actor attached for it, which the logs do not need."""
    for ep in episodes:
        if curriculum is not None and "task_id" in ep:
            curriculum.update(ep["task_id"], EpisodeStats.from_episode(ep))
        ep.pop("values", None)
        ep.pop("rewards", None)


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
        source = self.curriculum.sample if self.curriculum is not None else None
        if rt.backend == "ray":  # envs live in the actor processes
            self.envs: list[EnvBatch] = []
            spec, action_spec = env_specs(cfg.env)
        else:
            self.envs = [make_env_batch(cfg.env, rt.envs_per_actor, seed=cfg.seed * 7919 + i,
                                        task_source=source) for i in range(rt.num_actors)]
            spec, action_spec = self.envs[0].observation_spec(), self.envs[0].action_spec()
        agent = Agent(spec, action_spec, cfg.agent)
        self.learner = Learner(agent, cfg.algo, cfg.total_updates, device=rt.device)
        self.weights: WeightSource = InlineWeightSource(0, cpu_state(agent))
        grad_allowed = None
        if self.curriculum is not None and getattr(self.curriculum, "cfg", None) is not None \
                and self.curriculum.cfg.no_grad_new:
            grad_allowed = self.curriculum.grad_allowed
        self.runtime: Any = None
        if rt.backend == "ray":
            from ada.runtime.ray_runtime import RayRuntime

            self.runtime = RayRuntime(cfg, cpu_state(agent), self.curriculum,
                                      use_grad_flags=grad_allowed is not None,
                                      overlap=rt.overlap)
            self.weights = self.runtime.weights
            self.actors: list[Actor] = []  # remote; a Ray checkpoint holds no actor states
        else:
            self.actors = [Actor(env, copy.deepcopy(agent).cpu(), self.weights,
                                 rt.unroll_length, seed=cfg.seed * 104729 + i, actor_id=i,
                                 grad_allowed=grad_allowed)
                           for i, env in enumerate(self.envs)]
        self.episodes: list[dict[str, Any]] = []
        self.history: list[dict[str, float]] = []
        self._writer: Any = None

    # ---- checkpoints ---------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / "checkpoints"

    def save(self) -> Path:
        path = self.checkpoint_dir / f"ckpt_{self.learner.updates:08d}.pt"
        extra = {} if self.curriculum is None else {"curriculum": self.curriculum.state_dict()}
        save_checkpoint(path, learner=self.learner.state_dict(),
                        actors=[a.state_dict() for a in self.actors],
                        config=self.cfg.to_dict(), step=self.learner.updates, extra=extra)
        old = sorted(self.checkpoint_dir.glob("ckpt_*.pt"))[:-KEEP_CHECKPOINTS]
        for stale in old:
            stale.unlink(missing_ok=True)
        return path

    def restore(self, path: str | Path) -> None:
        payload = load_checkpoint(path, config=self.cfg.to_dict())
        if len(payload["actors"]) != len(self.actors):
            raise CheckpointError(f"checkpoint {path} has {len(payload['actors'])} actors, the run "
                             f"has runtime.num_actors={len(self.actors)}")
        self.learner.load_state_dict(payload["learner"], where=f"checkpoint {path}: learner")
        if self.curriculum is not None:
            state = payload.get("extra", {}).get("curriculum")
            if state is None:
                raise CheckpointError(f"checkpoint {path} has no curriculum state, but this run "
                                      f"uses curriculum.kind={self.cfg.curriculum.kind!r}")
            self.curriculum.load_state_dict(state)
        self.weights.publish(self.learner.version, cpu_state(self.learner.agent))
        for actor, state in zip(self.actors, payload["actors"], strict=True):
            actor.load_state_dict(state)
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
    def collect(self) -> Trajectory:
        return Trajectory.concat([actor.unroll() for actor in self.actors])

    def train_step(self) -> dict[str, float]:
        if self.runtime is not None:
            batch, metrics = self.runtime.train_step(
                self.learner, lambda eps: curriculum_feedback(self.curriculum, eps))
            self.episodes.extend(batch.episodes)
            return metrics
        t0 = time.perf_counter()
        batch = self.collect()
        t1 = time.perf_counter()
        metrics = self.learner.step(batch)
        self.weights.publish(self.learner.version, cpu_state(self.learner.agent))
        metrics["actor_s"] = t1 - t0
        metrics["step_s"] = time.perf_counter() - t0
        if batch.learn_mask is not None:
            metrics["learn/masked_fraction"] = float(1.0 - batch.learn_mask.mean())
        curriculum_feedback(self.curriculum, batch.episodes)
        self.episodes.extend(batch.episodes)
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
            scalars["episode/return"] = float(np.mean([e["return"] for e in self.episodes]))
            scalars["episode/length"] = float(np.mean([e["length"] for e in self.episodes]))
            scalars["episode/count"] = float(len(self.episodes))
            warned = [e["physics_warnings"] for e in self.episodes if "physics_warnings" in e]
            if warned:  # MuJoCo warnings per episode: 0 unless the physics misbehaves
                scalars["episode/physics_warnings"] = float(np.mean(warned))
            per_trial: dict[int, list[float]] = defaultdict(list)
            for e in self.episodes:
                for i, r in enumerate(e.get("trial_returns", ())):
                    per_trial[i].append(r)
            for i, rs in per_trial.items():
                scalars[f"episode/trial_{i + 1}_return"] = float(np.mean(rs))
            by_kind: dict[str, list[float]] = defaultdict(list)
            for e in self.episodes:
                if "kind" in e:  # families that label their tasks (levers)
                    by_kind[e["kind"]].append(e["return"])
            for kind, rs in by_kind.items():
                scalars[f"episode/return_{kind}"] = float(np.mean(rs))
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
        if self.runtime is not None:
            self.runtime.close()
        for env in self.envs:
            env.close()
        if self.space is not None:
            self.space.close()





def load_agent(checkpoint: str | Path) -> tuple[Agent, TrainConfig]:
    """The trained agent (on the CPU, where evaluation and videos run) and its config from a
    checkpoint. A damaged or foreign file, a config this code does not accept, or weights that
    do not fit the network that config builds is a one-line `CheckpointError` naming the file
    (and the tensor), which the CLIs report with exit status 2."""
    payload = load_checkpoint(checkpoint)
    try:
        cfg = TrainConfig.from_dict({**payload["config"], "resume": "never", "progress": False})
        agent = Agent(*env_specs(cfg.env), cfg.agent)  # specs only: no renderer, no task
    except (ValueError, TypeError) as e:  # a config this version of the code does not accept
        raise CheckpointError(f"checkpoint {checkpoint}: its config is not valid here ({e})"
                              ) from None
    load_weights(agent, payload["learner"]["agent"], f"checkpoint {checkpoint}: learner.agent")
    return agent.eval(), cfg


__all__ = ["Trainer", "curriculum_feedback", "env_specs", "load_agent", "make_env_batch"]
