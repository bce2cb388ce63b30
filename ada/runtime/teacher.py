"""The actors' kickstarting teacher (`algo.kickstart.teacher`, `ada.learning.kickstart`): the
expert, or a trained checkpoint's network acting beside the student on the same observations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ada.learning.kickstart import KickstartConfig
from ada.validation import ConfigError


def make_teacher(cfg: KickstartConfig, observation_spec: Any) -> Any:
    """The actor's teacher policy (`ada.acting.Policy`): `ExpertPolicy`, or an `AgentPolicy`
    on the teacher checkpoint's network (checked against the student's observations)."""
    if cfg.teacher == "expert":
        from ada.policies import ExpertPolicy

        return ExpertPolicy()
    from ada.agent_policy import AgentPolicy

    agent = load_teacher(cfg.teacher, observation_spec)
    return AgentPolicy(agent)


def load_teacher(path: str, observation_spec: Any) -> Any:
    """The teacher's network from a checkpoint file or run directory; `ConfigError` naming
    `algo.kickstart.teacher` if it cannot be loaded or reads other observations."""
    from ada.agent_checkpoint import load_agent
    from ada.learning.checkpoint import CheckpointError, resolve_checkpoint

    where = "algo.kickstart.teacher"
    if not Path(path).exists():
        raise ConfigError(f"{where}: {path!r} does not exist; allowed are 'none', 'expert' or "
                          "the path of a checkpoint or training run directory")
    try:
        agent, _ = load_agent(resolve_checkpoint(path))
    except CheckpointError as e:
        raise ConfigError(f"{where}: {e}") from None
    check_teacher(agent, observation_spec, where)
    return agent


def check_teacher(agent: Any, observation_spec: Any, where: str) -> None:
    """The teacher must read the observations the student's envs produce (names and shapes)."""
    want = {k: tuple(observation_spec[k].shape) for k in agent.obs_keys if k in observation_spec}
    missing = [k for k in agent.obs_keys if k not in observation_spec]
    wrong = {k: (agent.obs_shapes[k], want[k]) for k in want if agent.obs_shapes[k] != want[k]}
    if missing or wrong:
        raise ConfigError(f"{where}: the teacher reads observations the student's envs do not "
                          f"give (missing {missing}, shape teacher vs env {wrong}); train both "
                          "on the same env.image_size and observation set")


__all__ = ["check_teacher", "load_teacher", "make_teacher"]
