"""A trained agent from a checkpoint, for everything that uses one without training it:
evaluation, videos and kickstarting teachers.

Kept apart from `ada.trainer` so that those users (the actors' kickstarting teacher among
them) need the config, the env specs and the checkpoint format, not the training loop.
"""

from __future__ import annotations

from pathlib import Path

from ada.config import TrainConfig
from ada.envs import env_specs
from ada.learning.checkpoint import CheckpointError, load_checkpoint, load_weights
from agents.agent import Agent


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


__all__ = ["load_agent"]
