"""Exact suboptimality of a trained agent on a bandit family (Mikulik et al. 2020).

The agent acts in fresh episodes; at every step we record the posterior counts b_t (from the
actions and rewards so far) and the agent's full action distribution pi(.|h_t). The metric

    mean over rollouts of sum_t sum_a pi(a|h_t) (V*(b_t) - Q*(b_t, a))

uses the exact Bayes-optimal Q* from `ada.bayes.bandit`, so it has far lower variance than
comparing sampled returns: reward noise only enters through which beliefs are visited. It
equals V*(prior) - V^pi(prior) in expectation. The agent is scored both as it acts (sampling
from pi) and greedily (argmax of pi): the first is the issue's metric, the second shows how
much of the gap is residual policy entropy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ada.acting import Rollout
from ada.agent_policy import AgentPolicy
from ada.bayes.bandit import BanditFamily
from ada.bayes.bandit_solver import (
    BayesOptimalBandit,
    exact_suboptimality,
    greedy_policy,
    posterior_counts,
    random_policy,
    suboptimality,
    thompson_policy,
)
from ada.bayes.bandit_vec import VectorBandit
from agents.agent import Agent


def rollout_agent(agent: Agent, family: BanditFamily, n_rollouts: int, seed: int,
                  greedy: bool = False, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(counts (R, H, n, 2), action_probs (R, H, n)) of the agent in fresh episodes.

    The agent acts through the one acting path (sampling, or argmax with `greedy`); the
    probabilities recorded are the full softmax it sampled from (one-hot when greedy)."""
    rng = np.random.default_rng(seed)
    all_counts, all_probs = [], []
    H = family.horizon
    policy = AgentPolicy(agent, greedy=greedy)
    for start in range(0, n_rollouts, batch_size):
        B = min(batch_size, n_rollouts - start)
        env = VectorBandit(family, B, seed=int(rng.integers(2**31)))
        rollout = Rollout(env, policy, rng)
        actions = np.zeros((B, H), np.int64)
        rewards = np.zeros((B, H))
        probs = np.zeros((B, H, family.n_arms))
        for t in range(H):  # exactly one episode per env: the horizon is fixed
            step = rollout.step()
            assert step.decision.logits is not None
            a = step.decision.actions
            p = softmax(step.decision.logits)
            actions[:, t], rewards[:, t] = a, step.out.reward
            probs[:, t] = np.eye(family.n_arms)[a] if greedy else p
        all_counts.append(posterior_counts(family, actions, rewards))
        all_probs.append(probs)
    return np.concatenate(all_counts), np.concatenate(all_probs)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (the exact metric weighs every action by it)."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def reference_table(family: BanditFamily) -> dict[str, float]:
    """Exact values: Bayes-optimal, and the gaps of greedy, Thompson sampling and random."""
    bayes = BayesOptimalBandit(family)
    refs = {"bayes_value": bayes.value()}
    for name, fn in (("greedy", greedy_policy), ("thompson", thompson_policy),
                     ("random", random_policy)):
        refs[f"{name}_gap"] = exact_suboptimality(family, fn(family), bayes)
    return refs


def evaluate_bandit_agent(agent: Agent, family: BanditFamily, n_rollouts: int = 8192,
                          seed: int = 0) -> dict[str, Any]:
    """Suboptimality (mean, standard error) of the agent sampling and acting greedily."""
    bayes = BayesOptimalBandit(family)
    out: dict[str, Any] = {"bayes_value": bayes.value(), "rollouts": n_rollouts}
    for mode in ("sampled", "greedy"):
        counts, probs = rollout_agent(agent, family, n_rollouts, seed, greedy=mode == "greedy")
        per = np.array([suboptimality(family, counts[i:i + 1], probs[i:i + 1], bayes)
                        for i in range(len(counts))])
        out[f"suboptimality_{mode}"] = float(per.mean())
        out[f"suboptimality_{mode}_se"] = float(per.std(ddof=1) / np.sqrt(len(per)))
    return out


def post_training_report(train_cfg: Any, agent: Agent) -> dict[str, Any]:
    """`python -m ada.train`'s bandit evaluation: the exact suboptimality over
    `eval_episodes` fresh rollouts (none if 0)."""
    if not train_cfg.eval_episodes:
        return {}
    return {"eval": evaluate_bandit_agent(agent, train_cfg.env.family(),
                                          train_cfg.eval_episodes,
                                          seed=train_cfg.seed + 10_000)}


__all__ = ["evaluate_bandit_agent", "post_training_report", "reference_table", "rollout_agent"]
