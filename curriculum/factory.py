"""`make_curriculum(config, space)`: the curriculum a Hydra `curriculum=<kind>` choice names.

    uniform   fresh tasks every episode
    noop      AdA's no-op filter; admitted tasks replayed uniformly (no prioritisation)
    plr       Prioritized Level Replay (rank, temperature, staleness; robust with no_grad_new)
    noop_plr  the no-op filter as PLR's admission gate (AdA's combination)
"""

from __future__ import annotations

import dataclasses

from curriculum.base import Curriculum, TaskSpace
from curriculum.config import CurriculumConfig
from curriculum.replay import ReplayCurriculum
from curriculum.uniform import UniformCurriculum


def make_curriculum(cfg: CurriculumConfig, space: TaskSpace) -> Curriculum:
    if cfg.kind == "uniform":
        return UniformCurriculum(space)
    if cfg.kind == "noop":
        plr = dataclasses.replace(cfg.plr, prioritization="uniform", staleness_coef=0.0)
        return ReplayCurriculum(space, plr, gate=cfg.noop, name="noop")
    gate = cfg.noop if cfg.kind == "noop_plr" else None
    return ReplayCurriculum(space, cfg.plr, gate=gate, name=cfg.kind)


__all__ = ["make_curriculum"]
