"""Kickstarting: a loss pulling the student's policy toward a teacher's on the student's own
trajectories, annealed away over a schedule in frames.

Schmitt et al. (2018), "Kickstarting Deep Reinforcement Learning", and AdA's distillation (its
large agents learnt from a smaller teacher over the first billions of steps) add to the RL loss

    weight(frames) * KL(teacher || student)

at every step the student took, where the teacher is queried on the student's observations.
Two teachers:

* `expert`: the privileged planner (`worlds.expert`). It reads the true state, so the actors ask
  it for its choice at every step, before the env moves, and ship that choice with the
  trajectory as one-hot logits (all mass on the chosen action; the KL is then the student's
  cross-entropy on the expert's action).
* a trained checkpoint (a file or a run directory): its policy logits, from its own memory of
  the episode, computed by the actors beside the student. Its network may be smaller or larger
  than the student's (AdA distilled a small teacher into a large student); only the
  observations it reads must match (`ada.runtime.teacher.check_teacher`).

The weight is `weight` for the first `hold_frames` frames, then falls linearly to 0 over the
next `anneal_frames` frames and stays there. The learner's frame counter drives it, so a
resumed run continues the schedule. Weight 0 leaves the learner's update exactly as without a
teacher (the term is not added, only logged).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ada.validation import ConfigError, integer, number

TEACHERS = ("none", "expert")
ONE_HOT_FLOOR = -1e9  # teacher logit of the actions the expert did not choose


@dataclass(frozen=True)
class KickstartConfig:
    """`algo.kickstart`: teacher ("none", "expert" or the path of a checkpoint or training run
    directory), its loss weight, and the schedule in frames (see the module docstring)."""

    teacher: str = "none"
    weight: float = 1.0
    hold_frames: int = 0
    anneal_frames: int = 1_000_000

    def __post_init__(self) -> None:
        if not isinstance(self.teacher, str) or not self.teacher.strip():
            raise ConfigError(f"teacher: {self.teacher!r} is not allowed; allowed are 'none', "
                              "'expert' or the path of a checkpoint or training run directory")
        number("weight", self.weight, lo=0.0)
        integer("hold_frames", self.hold_frames, lo=0)
        integer("anneal_frames", self.anneal_frames, lo=1)
        if self.teacher not in TEACHERS:  # a path, from where the run was launched (actor
            # processes may start elsewhere)
            object.__setattr__(self, "teacher", os.path.abspath(self.teacher))

    @property
    def enabled(self) -> bool:
        return self.teacher != "none"

    @property
    def is_checkpoint(self) -> bool:
        return self.teacher not in TEACHERS

    def weight_at(self, frames: int) -> float:
        """The loss weight after `frames` trained frames (0 without a teacher)."""
        if not self.enabled:
            return 0.0
        past = max(0, frames - self.hold_frames)
        return float(self.weight) * max(0.0, 1.0 - past / self.anneal_frames)


def kickstart_terms(student_logits: Tensor, teacher_logits: Tensor,
                    mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """(mean KL(teacher || student), fraction of steps where both pick the same most likely
    action), over the steps `mask` keeps (all if None). Logits are (T, B, A)."""
    t_logp = torch.log_softmax(teacher_logits.float(), dim=-1)
    s_logp = torch.log_softmax(student_logits.float(), dim=-1)
    kl = (t_logp.exp() * (t_logp - s_logp)).sum(-1)
    agree = (student_logits.argmax(-1) == teacher_logits.argmax(-1)).float()
    if mask is None:
        return kl.mean(), agree.mean()
    n = mask.sum().clamp(min=1.0)
    return (kl * mask).sum() / n, (agree * mask).sum() / n


def one_hot_logits(actions: np.ndarray, num_actions: int) -> np.ndarray:
    """(B,) chosen actions as (B, A) float32 logits with all the mass on the choice."""
    out = np.full((len(actions), num_actions), ONE_HOT_FLOOR, np.float32)
    out[np.arange(len(actions)), np.asarray(actions, np.int64)] = 0.0
    return out


__all__ = ["KickstartConfig", "ONE_HOT_FLOOR", "TEACHERS", "kickstart_terms", "one_hot_logits"]
