"""Env kinds: the registry (`ada.envs.registry`) and the kinds that ship with ada.

Importing this package registers `world`, `bandit` and `levers`. Each kind module is cheap to
import (MuJoCo and the families load only when a kind builds something).
"""

from ada.envs import bandit, world, levers  # noqa: F401, I001  (registers, in this order)
from ada.envs.bandit import BanditEnvConfig
from ada.envs.levers import LeversEnvConfig
from ada.envs.registry import (
    EnvKind,
    env_kind,
    env_kinds,
    env_specs,
    make_env_batch,
    make_task_space,
    min_episode_length,
    post_training_report,
    register_env_kind,
)
from ada.envs.world import WorldEnvConfig

EnvConfig = BanditEnvConfig | WorldEnvConfig | LeversEnvConfig

__all__ = ["BanditEnvConfig", "EnvConfig", "EnvKind", "LeversEnvConfig", "WorldEnvConfig",
           "env_kind", "env_kinds", "env_specs", "make_env_batch", "make_task_space",
           "min_episode_length", "post_training_report", "register_env_kind"]
