"""Structured, validated training configs: Hydra composes YAML, these dataclasses check it.

Hydra (configs/train.yaml and its groups agent/, algo/, env/, runtime/, experiment/) decides
*which* values a run gets; `TrainConfig.from_dict` decides whether they are *allowed*, before
anything is built. Every error names the dotted field (`algo.entropy_cost`, `env.kind`) and the
allowed values, so a typo fails in a second instead of after minutes of training. Unknown keys
are errors too: a misspelt override must not be silently ignored.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ada.envs import EnvConfig, env_kind
from ada.learning.learner import LEARNER_DTYPES, VTraceConfig
from ada.validation import (
    ConfigError,
    boolean,
    build,
    choice,
    fail,
    integer,
    known_fields,
    number,
    prefixed,
)
from agents.agent import AGENT_SIZES, AgentConfig, agent_config
from curriculum.config import CurriculumConfig

BACKENDS = ("inline", "ray")
ALGOS = ("vtrace",)
DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class RuntimeConfig:
    """How acting is laid out. num_actors actors each step envs_per_actor envs for
    unroll_length steps; one learner batch is one unroll of every actor.

    backend "inline" runs the actors in the learner's process; "ray" runs each in its own Ray
    actor process (`ada.runtime.ray_runtime`). The remaining fields only matter for "ray":
    address: None starts a private Ray instance on this machine; "auto", "host:port" or
    "ray://host:port" joins an existing cluster. actor_cpus: CPUs Ray reserves per actor.
    max_actor_restarts: actor process deaths replaced before the run gives up.
    overlap: relaunch the consumed actors before the learner step, so acting and learning
    run concurrently (asynchronous, one update of policy lag that V-trace corrects); false
    waits for the learner (lock-step, zero lag).
    worker_nice: the niceness of Ray's actor processes (Ray starts its workers at 15, so
    any other busy process on the machine, the driver's learner included, runs first); null
    keeps Ray's. Lowering it below the current value needs the privilege to do so.
    device: where the learner runs ("cuda": the learner on the GPU; actors always act on CPU
    with weights published to them as CPU tensors). learner_dtype: "bfloat16" runs the
    learner's forward pass under autocast (weights and optimiser stay float32).
    """

    backend: str = "inline"
    num_actors: int = 1
    envs_per_actor: int = 64
    unroll_length: int = 20
    device: str = "cpu"
    learner_dtype: str = "float32"
    torch_threads: int = 1
    address: str | None = None
    actor_cpus: float = 1.0
    max_actor_restarts: int = 10
    overlap: bool = True
    worker_nice: int | None = None

    def __post_init__(self) -> None:
        choice("backend", self.backend, BACKENDS)
        choice("device", self.device, DEVICES)
        choice("learner_dtype", self.learner_dtype, LEARNER_DTYPES)
        for name in ("num_actors", "envs_per_actor", "unroll_length", "torch_threads"):
            integer(name, getattr(self, name), lo=1)
        if self.address is not None and (not isinstance(self.address, str)
                                         or not self.address.strip()):
            fail("address", self.address, "null (a private Ray instance), 'auto', "
                 "'host:port' or 'ray://host:port'")
        number("actor_cpus", self.actor_cpus, lo=0.0, lo_open=True)
        integer("max_actor_restarts", self.max_actor_restarts, lo=0)
        boolean("overlap", self.overlap)
        if self.worker_nice is not None:
            integer("worker_nice", self.worker_nice, lo=-20, hi=19)


@dataclass(frozen=True)
class TrainConfig:
    """The whole run. total_frames: env steps over all actors; log_every/checkpoint_every in
    learner updates; out_dir: where checkpoints and TensorBoard logs go; resume: a checkpoint
    path, or "auto" to continue from out_dir's latest checkpoint if there is one.
    eval_episodes: bandit rollouts for the exact suboptimality after training; eval_tasks,
    eval_trials, eval_videos: 3D world held-out evaluation after training (ada.evaluate, into
    out_dir/eval; 0 tasks = skip). demo_prob: the fraction of training episodes whose trial 1
    the expert plays while the agent watches (`ada.prompting`; its steps train value and
    memory, not the policy); 0 = none."""

    agent: AgentConfig
    algo: VTraceConfig
    env: EnvConfig
    runtime: RuntimeConfig
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    name: str = "run"
    seed: int = 0
    total_frames: int = 1_000_000
    log_every: int = 10
    checkpoint_every: int = 200
    eval_episodes: int = 0
    eval_tasks: int = 0
    eval_trials: int = 3
    eval_videos: int = 1
    demo_prob: float = 0.0
    out_dir: str = "outputs/train/run"
    resume: str | None = "auto"
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def frames_per_update(self) -> int:
        """One learner batch: an unroll from every actor."""
        rt = self.runtime
        return rt.num_actors * rt.envs_per_actor * rt.unroll_length

    @property
    def total_updates(self) -> int:
        return max(1, -(-self.total_frames // self.frames_per_update))

    @staticmethod
    def from_dict(cfg: Mapping[str, Any]) -> TrainConfig:
        cfg = dict(cfg)
        top = {"agent", "algo", "env", "runtime", "curriculum", "name", "seed", "total_frames",
               "log_every", "checkpoint_every", "eval_episodes", "eval_tasks", "eval_trials",
               "eval_videos", "demo_prob", "out_dir", "resume", "progress", "extra"}
        known_fields("", cfg, top)

        agent = dict(cfg.get("agent") or {})
        size = choice("agent.size", agent.pop("size", "small"), AGENT_SIZES)
        known_fields("agent", agent, [f.name for f in dataclasses.fields(AgentConfig)] + ["size"])
        try:
            agent_cfg = agent_config(size, **agent)
        except (ValueError, TypeError) as err:
            raise prefixed("agent", err) from None

        algo = dict(cfg.get("algo") or {})
        choice("algo.name", algo.pop("name", "vtrace"), ALGOS)
        algo_cfg = build(VTraceConfig, algo, "algo")

        env = dict(cfg.get("env") or {})
        kind = env_kind(env.get("kind", "bandit"))
        env_cfg = build(kind.config, env, "env")
        if algo_cfg.kickstart.teacher == "expert" and kind.name != "world":
            raise ConfigError(f"algo.kickstart.teacher: 'expert' needs env.kind=world (the "
                              f"expert plans in the 3D world), not {kind.name!r}; use 'none' "
                              "or a checkpoint")
        runtime_cfg = build(RuntimeConfig, cfg.get("runtime"), "runtime")
        try:
            curriculum_cfg = CurriculumConfig.from_dict(dict(cfg.get("curriculum") or {}))
        except ValueError as err:
            raise prefixed("curriculum", err) from None
        if not kind.has_tasks and curriculum_cfg.kind != "uniform":
            raise ConfigError(f"curriculum.kind: {curriculum_cfg.kind!r} is not allowed with "
                              f"env.kind={kind.name} (its episodes draw from a prior, there "
                              "are no tasks to choose); allowed: 'uniform'")

        rest = {k: cfg[k] for k in top - {"agent", "algo", "env", "runtime", "curriculum"}
                if k in cfg}
        for name in ("seed", "eval_episodes", "eval_tasks", "eval_videos"):
            if name in rest:
                integer(name, rest[name], lo=0)
        for name in ("total_frames", "log_every", "checkpoint_every", "eval_trials"):
            if name in rest:
                integer(name, rest[name], lo=1)
        if "demo_prob" in rest:
            rest["demo_prob"] = number("demo_prob", rest["demo_prob"], 0.0, 1.0)
            if rest["demo_prob"] > 0 and kind.name != "world":
                raise ConfigError(f"demo_prob: {rest['demo_prob']!r} needs env.kind=world (the "
                                  f"demonstrator is the 3D world's expert), not {kind.name!r}")
        if "resume" in rest and rest["resume"] not in (None, "auto", "never") \
                and not os.path.exists(str(rest["resume"])):
            fail("resume", rest["resume"], "null, 'auto', 'never' or the path of an existing "
                 "checkpoint")
        if "extra" in rest:
            rest["extra"] = dict(rest["extra"] or {})
        return TrainConfig(agent=agent_cfg, algo=algo_cfg, env=env_cfg, runtime=runtime_cfg,
                           curriculum=curriculum_cfg, **rest)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


__all__ = ["ConfigError", "RuntimeConfig", "TrainConfig"]
