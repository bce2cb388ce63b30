"""Held-out lever-task scores (ada.eval.levers): exact baselines, per-task attribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ada.bayes.levers import LeverFamily, LeverTaskGenerator
from ada.envs import LeversEnvConfig, env_specs
from ada.eval.levers import evaluate_lever_agent
from agents.agent import Agent, agent_config

FAMILY = LeverFamily(n_levers=4, horizon=10)


def fixed_agent(bias: np.ndarray) -> Agent:
    """A tiny agent whose logits are `bias` whatever it sees (last layer zeroed)."""
    agent = Agent(*env_specs(LeversEnvConfig(n_levers=4, horizon=10)),
                  agent_config("tiny", memory_length=10))
    last = agent.policy.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return agent


def tasks(kind: str, n: int = 6) -> list:
    return LeverTaskGenerator(FAMILY).generate(seed=0, n=n, kind=kind)


def test_baselines_are_the_exact_scores_of_the_tasks() -> None:
    played = tasks("learnable")
    out = evaluate_lever_agent(fixed_agent(np.zeros(5)), played, episodes_per_task=2, seed=0)
    probs = np.array([t.probs for t in played])
    assert out["tasks"] == len(played) and out["episodes"] == 2 * len(played)
    assert out["noop"] == pytest.approx(probs[:, 0].mean())
    assert out["random"] == pytest.approx(probs.mean(axis=1).mean())
    assert out["oracle"] == pytest.approx(probs.max(axis=1).mean())


def test_an_agent_that_only_waits_scores_the_noop_baseline_and_a_lever_puller_its_lever() -> None:
    played = tasks("learnable")  # the no-op never pays on a learnable task
    wait = evaluate_lever_agent(fixed_agent(np.array([50.0, 0, 0, 0, 0])), played, 4, seed=1)
    assert wait["agent"] == 0.0 == wait["noop"]
    # always lever 2: each task's score is its p[2] up to Bernoulli noise, attributed per task
    pull = evaluate_lever_agent(fixed_agent(np.array([0, 0, 50.0, 0, 0])), played, 40, seed=2)
    expected = float(np.mean([t.probs[2] for t in played]))
    assert pull["agent"] == pytest.approx(expected, abs=4 * 0.5 / np.sqrt(40 * 10 * 6))


def test_no_tasks_or_mixed_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="no tasks"):
        evaluate_lever_agent(fixed_agent(np.zeros(5)), [], 1, seed=0)
    other = LeverTaskGenerator(LeverFamily(n_levers=4, horizon=5)).generate(0, 1, "learnable")
    with pytest.raises(ValueError, match="mix lever counts/horizons"):
        evaluate_lever_agent(fixed_agent(np.zeros(5)), tasks("learnable", 1) + other, 1, seed=0)
