"""The unit of data between actors and the learner: an unroll of T steps of B envs.

Stored-state unrolls (R2D2, Kapturowski et al. 2019): with the observations, actions and
rewards, an unroll carries the agent's memory cache at its first step, so the learner re-runs
the network from exactly the context the actor had. It also carries the behaviour policy's
logits (for V-trace) and the weight version that produced them (to measure policy lag).

Arrays are numpy and time-major so that a trajectory pickles cheaply (Ray's object store) and
does not tie actors to the learner's device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from agents.gtrxl import Memory
from worlds.env_batch import EpisodeRecord


@dataclass
class Trajectory:
    """obs[k]: (T+1, B, ...) observations, the last one only for bootstrapping.
    first: (T+1, B) True where the observation starts a new episode.
    actions (T, B) int64, rewards (T, B) float32, discounts (T, B) float32 (0 at termination),
    behaviour_logits (T, B, A) float32, memory: the cache before obs[0] (hidden (L, M, B, D),
    valid (M, B)), policy_version: learner update count of the acting weights.
    episodes: statistics of episodes that ended inside this unroll (return, length, ...).
    learn_mask: (T, B) float32, 0 where the learner must take no gradient (a curriculum's
    evaluation-only episodes, robust PLR); None means all ones.
    policy_mask: (T, B) float32, 0 where a demonstrator, not the agent, acted (`demo_prob`):
    those steps train the memory and the value but not the policy; None means all ones.
    teacher_logits: (T, B, A) float32, a kickstarting teacher's logits at every step
    (`ada.learning.kickstart`); None without a teacher.
    """

    obs: dict[str, np.ndarray]
    first: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    discounts: np.ndarray
    behaviour_logits: np.ndarray
    memory_hidden: np.ndarray
    memory_valid: np.ndarray
    policy_version: int
    episodes: list[EpisodeRecord] = field(default_factory=list)
    actor_id: int = 0
    learn_mask: np.ndarray | None = None
    policy_mask: np.ndarray | None = None
    teacher_logits: np.ndarray | None = None

    @property
    def length(self) -> int:
        return int(self.actions.shape[0])

    @property
    def batch_size(self) -> int:
        return int(self.actions.shape[1])

    @property
    def frames(self) -> int:
        return self.length * self.batch_size

    def memory(self, device: torch.device | str = "cpu") -> Memory:
        return Memory(torch.as_tensor(self.memory_hidden, device=device),
                      torch.as_tensor(self.memory_valid, device=device))

    def tensors(self, device: torch.device | str = "cpu") -> dict[str, Any]:
        """Everything as torch tensors on `device` (obs stay in their dtypes)."""
        return {
            "obs": {k: torch.as_tensor(v, device=device) for k, v in self.obs.items()},
            "first": torch.as_tensor(self.first, device=device),
            "actions": torch.as_tensor(self.actions, device=device),
            "rewards": torch.as_tensor(self.rewards, device=device),
            "discounts": torch.as_tensor(self.discounts, device=device),
            "behaviour_logits": torch.as_tensor(self.behaviour_logits, device=device),
            "learn_mask": None if self.learn_mask is None
            else torch.as_tensor(self.learn_mask, device=device),
            "policy_mask": None if self.policy_mask is None
            else torch.as_tensor(self.policy_mask, device=device),
            "teacher_logits": None if self.teacher_logits is None
            else torch.as_tensor(self.teacher_logits, device=device),
        }

    @staticmethod
    def concat(trajectories: list[Trajectory]) -> Trajectory:
        """Join unrolls of equal length along the batch axis (one learner batch).

        policy_version becomes the oldest of the parts, so lag is never under-reported.
        """
        if not trajectories:
            raise ValueError("cannot concatenate an empty list of trajectories")
        lengths = {t.length for t in trajectories}
        if len(lengths) != 1:
            raise ValueError(f"trajectories have different lengths {sorted(lengths)}")
        if len(trajectories) == 1:
            return trajectories[0]
        keys = trajectories[0].obs.keys()
        return Trajectory(
            obs={k: np.concatenate([t.obs[k] for t in trajectories], axis=1) for k in keys},
            first=np.concatenate([t.first for t in trajectories], axis=1),
            actions=np.concatenate([t.actions for t in trajectories], axis=1),
            rewards=np.concatenate([t.rewards for t in trajectories], axis=1),
            discounts=np.concatenate([t.discounts for t in trajectories], axis=1),
            behaviour_logits=np.concatenate([t.behaviour_logits for t in trajectories], axis=1),
            memory_hidden=np.concatenate([t.memory_hidden for t in trajectories], axis=2),
            memory_valid=np.concatenate([t.memory_valid for t in trajectories], axis=1),
            policy_version=min(t.policy_version for t in trajectories),
            episodes=[e for t in trajectories for e in t.episodes],
            actor_id=trajectories[0].actor_id,
            learn_mask=_concat_mask([t.learn_mask for t in trajectories], trajectories),
            policy_mask=_concat_mask([t.policy_mask for t in trajectories], trajectories),
            teacher_logits=_concat_teacher([t.teacher_logits for t in trajectories]),
        )


def _concat_mask(masks: list[np.ndarray | None], parts: list[Trajectory]) -> np.ndarray | None:
    """Masks joined along the batch axis, a missing one standing for all ones."""
    if all(m is None for m in masks):
        return None
    return np.concatenate([np.ones(t.rewards.shape, np.float32) if m is None else m
                           for m, t in zip(masks, parts, strict=True)], axis=1)


def _concat_teacher(parts: list[np.ndarray | None]) -> np.ndarray | None:
    """Teacher logits joined along the batch axis; None if any part has none (the unrolls
    launched after the teacher was turned off: the batch has no use for the rest)."""
    if any(p is None for p in parts):
        return None
    return np.concatenate(parts, axis=1)


def memory_to_numpy(memory: Memory) -> tuple[np.ndarray, np.ndarray]:
    return memory.hidden.detach().cpu().numpy(), memory.valid.detach().cpu().numpy()


def as_memory(hidden: np.ndarray | Tensor, valid: np.ndarray | Tensor) -> Memory:
    return Memory(torch.as_tensor(hidden), torch.as_tensor(valid))


__all__ = ["Trajectory", "as_memory", "memory_to_numpy"]
