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

from ada.learning.learner import VTraceConfig
from agents.agent import AGENT_SIZES, AgentConfig, agent_config
from curriculum.config import CurriculumConfig

ENV_KINDS = ("bandit", "world", "levers")
BACKENDS = ("inline", "ray")
ALGOS = ("vtrace",)
DEVICES = ("cpu", "cuda")


class ConfigError(ValueError):
    """A config value is not allowed; the message names the dotted field and allowed values."""


def _fields(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def build(cls: type, values: Mapping[str, Any] | None, path: str) -> Any:
    """Instantiate dataclass `cls` from `values`, naming `path.field` in every error."""
    values = dict(values or {})
    unknown = sorted(set(values) - set(_fields(cls)))
    if unknown:
        raise ConfigError(f"{path}: unknown field(s) {unknown}; allowed fields are "
                          f"{sorted(_fields(cls))}")
    try:
        return cls(**values)
    except (ValueError, TypeError) as err:
        msg = str(err)
        raise ConfigError(f"{path}.{msg}" if not msg.startswith(path) else msg) from None


def _check_int(path: str, value: Any, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(f"{path}: {value!r} is not allowed; allowed are integers >= {lo}")


def _check_choice(path: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{path}: {value!r} is not allowed; allowed are {list(allowed)}")


@dataclass(frozen=True)
class BanditEnvConfig:
    """env.kind=bandit. arms: list of {beta: [a, b]} (unknown arm) or {p: x} (known arm).
    known_p_start / warmup_frames: training curriculum moving the known arms' p from
    known_p_start to their configured p over the first warmup_frames frames of each actor's
    env batch (see worlds.bandit_vec); evaluation always uses the configured arms."""

    kind: str = "bandit"
    arms: tuple[Any, ...] = ({"beta": [1.0, 1.0]}, {"beta": [1.0, 1.0]})
    horizon: int = 20
    known_p_start: float | None = None
    warmup_frames: int = 0

    def __post_init__(self) -> None:
        family = self.family()  # validates
        if self.known_p_start is not None:
            if not family.known_arms:
                raise ValueError(f"known_p_start: {self.known_p_start!r} is not allowed "
                                 "without a known arm ({p: x}); allowed is null")
            if (isinstance(self.known_p_start, bool)
                    or not isinstance(self.known_p_start, (int, float))
                    or not 0.0 <= float(self.known_p_start) <= 1.0):
                raise ValueError(f"known_p_start: {self.known_p_start!r} is not allowed; "
                                 "allowed are null or numbers in [0, 1]")
        _check_int("warmup_frames", self.warmup_frames, 0)

    def family(self) -> Any:
        from worlds.bandit import BanditFamily, BetaArm, KnownArm

        arms = []
        if not isinstance(self.arms, (list, tuple)) or not self.arms:
            raise ValueError(f"arms: {self.arms!r} is not allowed; allowed is a non-empty list "
                             "of {beta: [a, b]} or {p: x}")
        for i, arm in enumerate(self.arms):
            arm = dict(arm) if isinstance(arm, Mapping) else arm
            if isinstance(arm, dict) and set(arm) == {"beta"} and len(arm["beta"]) == 2:
                arms.append(BetaArm(float(arm["beta"][0]), float(arm["beta"][1])))
            elif isinstance(arm, dict) and set(arm) == {"p"}:
                arms.append(KnownArm(float(arm["p"])))
            else:
                raise ValueError(f"arms[{i}]: {arm!r} is not allowed; allowed are "
                                 "{beta: [a, b]} or {p: x}")
        try:
            return BanditFamily(tuple(arms), self.horizon)
        except ValueError as err:
            raise ValueError(f"horizon: {err}") from None


@dataclass(frozen=True)
class WorldEnvConfig:
    """env.kind=world: tasks from a family (configs/world/<family>.yaml), held-out split
    excluded from training (split salt and fraction define the split)."""

    kind: str = "world"
    family: str = "tiny"
    image_size: int = 64
    heldout_fraction: float = 0.1
    split_salt: str = "ada-heldout-v1"

    def __post_init__(self) -> None:
        from worlds.family import ConfigError as FamilyError
        from worlds.family import load_family

        _check_int("image_size", self.image_size, 8)
        if not 0.0 <= float(self.heldout_fraction) < 1.0:
            raise ValueError(f"heldout_fraction: {self.heldout_fraction!r} is not allowed; "
                             "allowed are numbers in [0, 1)")
        try:
            load_family(self.family)
        except FamilyError as err:
            raise ValueError(f"family: {err}") from None


@dataclass(frozen=True)
class LeversEnvConfig:
    """env.kind=levers: the lever family of `worlds.levers` (trivial, impossible and learnable
    tasks mixed by `weights`), built to show what a curriculum buys; held-out split as for
    the world."""

    kind: str = "levers"
    n_levers: int = 4
    horizon: int = 20
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    good_p: tuple[float, float] = (0.7, 1.0)
    bad_p: tuple[float, float] = (0.0, 0.1)
    trivial_p: tuple[float, float] = (0.9, 1.0)
    heldout_fraction: float = 0.2
    split_salt: str = "ada-levers-v1"

    def __post_init__(self) -> None:
        for name in ("weights", "good_p", "bad_p", "trivial_p"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        if not 0.0 < float(self.heldout_fraction) < 1.0:
            raise ValueError(f"heldout_fraction: {self.heldout_fraction!r} is not allowed; "
                             "allowed are numbers in (0, 1)")
        try:
            self.family()
        except ValueError as err:
            msg = str(err).removeprefix("LeverFamily.")
            raise ValueError(msg) from None

    def family(self) -> Any:
        from worlds.levers import LeverFamily

        return LeverFamily(self.n_levers, self.horizon, self.weights, self.good_p, self.bad_p,
                           self.trivial_p)

    def split(self) -> Any:
        from worlds.split import Split

        return Split(name="levers", heldout_fraction=float(self.heldout_fraction),
                     salt=self.split_salt)


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
    """

    backend: str = "inline"
    num_actors: int = 1
    envs_per_actor: int = 64
    unroll_length: int = 20
    device: str = "cpu"
    torch_threads: int = 1
    address: str | None = None
    actor_cpus: float = 1.0
    max_actor_restarts: int = 10
    overlap: bool = True

    def __post_init__(self) -> None:
        _check_choice("backend", self.backend, BACKENDS)
        _check_choice("device", self.device, DEVICES)
        for name in ("num_actors", "envs_per_actor", "unroll_length", "torch_threads"):
            _check_int(name, getattr(self, name), 1)
        if self.address is not None and (not isinstance(self.address, str)
                                         or not self.address.strip()):
            raise ConfigError(f"address: {self.address!r} is not allowed; allowed are null (a "
                              "private Ray instance), 'auto', 'host:port' or 'ray://host:port'")
        cpus = self.actor_cpus
        if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or not cpus > 0 \
                or cpus != cpus or cpus == float("inf"):
            raise ConfigError(f"actor_cpus: {cpus!r} is not allowed; allowed are finite "
                              "numbers > 0")
        _check_int("max_actor_restarts", self.max_actor_restarts, 0)
        if not isinstance(self.overlap, bool):
            raise ConfigError(f"overlap: {self.overlap!r} is not allowed; allowed are true or "
                              "false")


@dataclass(frozen=True)
class TrainConfig:
    """The whole run. total_frames: env steps over all actors; log_every/checkpoint_every in
    learner updates; out_dir: where checkpoints and TensorBoard logs go; resume: a checkpoint
    path, or "auto" to continue from out_dir's latest checkpoint if there is one.
    eval_episodes: bandit rollouts for the exact suboptimality after training; eval_tasks,
    eval_trials, eval_videos: 3D world held-out evaluation after training (ada.evaluate, into
    out_dir/eval; 0 tasks = skip)."""

    agent: AgentConfig
    algo: VTraceConfig
    env: BanditEnvConfig | WorldEnvConfig | LeversEnvConfig
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
               "eval_videos", "out_dir", "resume", "progress", "extra"}
        unknown = sorted(set(cfg) - top)
        if unknown:
            raise ConfigError(f"unknown top-level field(s) {unknown}; allowed are {sorted(top)}")

        agent = dict(cfg.get("agent") or {})
        size = agent.pop("size", "small")
        _check_choice("agent.size", size, tuple(AGENT_SIZES))
        agent_fields = set(_fields(AgentConfig))
        bad = sorted(set(agent) - agent_fields)
        if bad:
            raise ConfigError(f"agent: unknown field(s) {bad}; allowed fields are "
                              f"{sorted(agent_fields | {'size'})}")
        try:
            agent_cfg = agent_config(size, **agent)
        except (ValueError, TypeError) as err:
            raise ConfigError(f"agent.{err}") from None

        algo = dict(cfg.get("algo") or {})
        _check_choice("algo.name", algo.pop("name", "vtrace"), ALGOS)
        algo_cfg = build(VTraceConfig, algo, "algo")

        env = dict(cfg.get("env") or {})
        kind = env.get("kind", "bandit")
        _check_choice("env.kind", kind, ENV_KINDS)
        env_cls = {"bandit": BanditEnvConfig, "world": WorldEnvConfig,
                   "levers": LeversEnvConfig}[kind]
        env_cfg = build(env_cls, env, "env")
        runtime_cfg = build(RuntimeConfig, cfg.get("runtime"), "runtime")
        try:
            curriculum_cfg = CurriculumConfig.from_dict(dict(cfg.get("curriculum") or {}))
        except ValueError as err:
            raise ConfigError(f"curriculum.{err}") from None
        if kind == "bandit" and curriculum_cfg.kind != "uniform":
            raise ConfigError(f"curriculum.kind: {curriculum_cfg.kind!r} is not allowed with "
                              "env.kind=bandit (its episodes draw from a prior, there are no "
                              "tasks to choose); allowed: 'uniform'")

        rest = {k: cfg[k] for k in top - {"agent", "algo", "env", "runtime", "curriculum"}
                if k in cfg}
        for name in ("seed", "eval_episodes", "eval_tasks", "eval_videos"):
            if name in rest:
                _check_int(name, rest[name], 0)
        for name in ("total_frames", "log_every", "checkpoint_every", "eval_trials"):
            if name in rest:
                _check_int(name, rest[name], 1)
        if "resume" in rest and rest["resume"] not in (None, "auto", "never") \
                and not os.path.exists(str(rest["resume"])):
            raise ConfigError(f"resume: {rest['resume']!r} is not allowed; allowed are null, "
                              "'auto', 'never' or the path of an existing checkpoint")
        if "extra" in rest:
            rest["extra"] = dict(rest["extra"] or {})
        return TrainConfig(agent=agent_cfg, algo=algo_cfg, env=env_cfg, runtime=runtime_cfg,
                           curriculum=curriculum_cfg, **rest)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


__all__ = ["BanditEnvConfig", "ConfigError", "LeversEnvConfig", "RuntimeConfig", "TrainConfig",
           "WorldEnvConfig", "build"]
