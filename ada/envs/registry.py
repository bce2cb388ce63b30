"""The env-kind registry: everything the trainer and the runtimes need to know about a kind.

A kind (`env.kind` in the config: `world`, `bandit`, `levers`) is one `EnvKind`: its config
dataclass, its task space (what a curriculum chooses from, or None for prior-sampled kinds),
the env batch of one actor, the observation and action specs (which the Ray driver needs to
build the learner without stepping an env) and the shortest episode a task can have (which
sizes the task queue the driver sends an actor). The config parser, the trainer, the inline
and Ray runtimes and the CLIs all look the kind up here and nowhere else, so a new task family
is one module that calls `register_env_kind` (see `ada.envs.levers` for a small example).

This module sits below the trainer and both runtimes and imports neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ada.validation import ConfigError
from worlds.env_batch import EnvBatch

TaskSource = Callable[[np.random.Generator], Any]


@dataclass(frozen=True)
class EnvKind:
    """One kind of environment.

    config: the frozen dataclass of `env.*` (validated in its `__post_init__`).
    task_space(cfg): the curriculum's view of the kind's tasks, or None if the env samples its
        episodes from a prior and there is nothing to choose (then only `curriculum.kind=
        uniform` is allowed).
    env_batch(cfg, num_envs, seed, task_source): the batch one actor steps; task-based kinds
        take every episode's task from `task_source` (the driver's curriculum, through the
        actor's task queue).
    specs(cfg): (observation spec, action spec), cheaply (no renderer, no task).
    min_episode_length(cfg): the fewest steps an episode of this kind takes (None: no tasks).
    evaluator: "module:function" of the evaluation `python -m ada.train` runs after training,
        called as function(train_cfg, agent) -> dict for the run's report (None: none). A
        name, not a function, so that this bottom layer does not import the evaluation code
        that is built on top of it.
    """

    name: str
    config: type
    task_space: Callable[[Any], Any]
    env_batch: Callable[[Any, int, int, TaskSource | None], EnvBatch]
    specs: Callable[[Any], tuple[Mapping[str, Any], Any]]
    min_episode_length: Callable[[Any], int | None]
    evaluator: str | None = None

    @property
    def has_tasks(self) -> bool:
        """Whether the kind's episodes are tasks a curriculum chooses."""
        return self.min_episode_length is not _no_tasks


def _no_tasks(cfg: Any) -> None:
    return None


NO_TASKS: Callable[[Any], int | None] = _no_tasks
"""`min_episode_length` of a kind without tasks."""

_REGISTRY: dict[str, EnvKind] = {}


def register_env_kind(kind: EnvKind) -> EnvKind:
    """Add a kind (a name registered twice is an error: one module owns each kind)."""
    if kind.name in _REGISTRY and _REGISTRY[kind.name] != kind:
        raise ValueError(f"env kind {kind.name!r} is already registered")
    _REGISTRY[kind.name] = kind
    return kind


def env_kinds() -> tuple[str, ...]:
    """The registered kind names, in registration order."""
    return tuple(_REGISTRY)


def env_kind(name: Any, field: str = "env.kind") -> EnvKind:
    """The registered kind `name`; anything else is a ConfigError listing the kinds."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ConfigError(f"{field}: {name!r} is not allowed; allowed are {list(_REGISTRY)}")
    return _REGISTRY[name]


def kind_of(cfg: Any) -> EnvKind:
    """The kind of an env config instance."""
    return env_kind(getattr(cfg, "kind", None))


def make_task_space(cfg: Any) -> Any:
    """The curriculum's view of the env's tasks (None for prior-sampled kinds)."""
    return kind_of(cfg).task_space(cfg)


def make_env_batch(cfg: Any, num_envs: int, seed: int,
                   task_source: TaskSource | None = None) -> EnvBatch:
    """The env batch of one actor. A task-based kind without `task_source` draws fresh
    training-side tasks from its task space (for tools and tests; training always passes the
    actor's task queue)."""
    kind = kind_of(cfg)
    if task_source is None and kind.has_tasks:
        task_source = kind.task_space(cfg).sample
    return kind.env_batch(cfg, num_envs, seed, task_source)


def env_specs(cfg: Any) -> tuple[Mapping[str, Any], Any]:
    """(observation spec, action spec) of the env, without stepping or rendering one."""
    return kind_of(cfg).specs(cfg)


def min_episode_length(cfg: Any) -> int | None:
    """The shortest episode a task of this env can have (None: the env takes no tasks)."""
    return kind_of(cfg).min_episode_length(cfg)


def post_training_report(train_cfg: Any, agent: Any) -> dict[str, Any]:
    """What the kind's evaluator adds to the training report ({} if it has none)."""
    import importlib

    target = kind_of(train_cfg.env).evaluator
    if target is None:
        return {}
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(train_cfg, agent)


def no_task(rng: np.random.Generator) -> Any:
    """A task source for spec-only env batches: asking it for a task is a bug."""
    raise RuntimeError("this env batch only provides specs; it has no task source")


def specs_of_batch(build: Callable[[], EnvBatch]) -> tuple[Mapping[str, Any], Any]:
    """Specs from a throw-away batch (for kinds whose batches are cheap to build)."""
    env = build()
    try:
        return env.observation_spec(), env.action_spec()
    finally:
        env.close()


__all__ = ["NO_TASKS", "EnvKind", "TaskSource", "env_kind", "env_kinds", "env_specs", "kind_of",
           "make_env_batch", "make_task_space", "min_episode_length", "no_task",
           "post_training_report", "register_env_kind", "specs_of_batch"]
