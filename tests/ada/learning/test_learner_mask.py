"""The learner's gradient mask: masked env columns contribute nothing to the loss."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ada.bayes.bandit import BanditFamily
from ada.bayes.bandit_vec import VectorBandit
from ada.learning.learner import Learner, VTraceConfig
from ada.runtime.actor import Actor
from ada.runtime.trajectory import Trajectory
from ada.runtime.weights import InlineWeightSource, cpu_state
from agents.agent import Agent, agent_config


def columns(traj: Trajectory, cols: list[int]) -> Trajectory:
    return Trajectory(
        obs={k: v[:, cols] for k, v in traj.obs.items()}, first=traj.first[:, cols],
        actions=traj.actions[:, cols], rewards=traj.rewards[:, cols],
        discounts=traj.discounts[:, cols], behaviour_logits=traj.behaviour_logits[:, cols],
        memory_hidden=traj.memory_hidden[:, :, cols], memory_valid=traj.memory_valid[:, cols],
        policy_version=traj.policy_version)


@pytest.mark.parametrize("advantage_norm", ["none", "batch"])
def test_masked_columns_do_not_change_the_loss(advantage_norm: str) -> None:
    torch.manual_seed(0)
    env = VectorBandit(BanditFamily.beta(2, horizon=5), 6, seed=0)
    agent = Agent(env.observation_spec(), env.action_spec(), agent_config("tiny"))
    actor = Actor(env, copy.deepcopy(agent), InlineWeightSource(0, cpu_state(agent)), 7, seed=0)
    traj = actor.unroll()
    keep = [0, 2, 3]
    mask = np.zeros(traj.rewards.shape, np.float32)
    mask[:, keep] = 1.0
    masked = copy.copy(traj)
    masked.learn_mask = mask
    cfg = VTraceConfig(advantage_norm=advantage_norm, popart=False)
    learner = Learner(agent, cfg, total_updates=10)
    full, _, _ = learner.loss(masked)
    sub, _, _ = learner.loss(columns(traj, keep))
    assert full.item() == pytest.approx(sub.item(), rel=1e-5, abs=1e-6)
    unmasked, _, _ = learner.loss(traj)
    assert abs(unmasked.item() - sub.item()) > 1e-4  # the other columns do matter
    ones = copy.copy(traj)
    ones.learn_mask = np.ones_like(mask)
    assert learner.loss(ones)[0].item() == pytest.approx(unmasked.item(), rel=1e-5)
