"""Task scores for Prioritized Level Replay: how much an agent can still learn on a task.

Both scorers of Jiang et al. (2021) / robust PLR (Jiang et al. 2021b) work on one episode's
value predictions and rewards:

- positive value loss: mean over steps of max(GAE_t, 0), the part of the value error that says
  the agent did better than it expected (it can still improve there);
- L1 value loss (the original PLR's best scorer): mean of |GAE_t|, which also counts the steps
  where the agent did worse than it expected;
- MaxMC: mean over steps of (highest return ever reached on the task - V_t): regret against the
  best the agent has shown on it, which does not decay as the value function catches up.

Public implementations produce -inf or NaN scores when an episode has not finished (MaxMC starts
its running maximum at -inf) or is empty. Here a cut-off episode bootstraps from the value of
its last state, the running maximum falls back to the episode's own bootstrapped return, and an
empty episode has no score (`None`): every score returned is finite.

Non-finite inputs are rejected, not repaired. A value prediction of -inf, +inf or NaN (or such
a reward, or bootstrap value where one is used) raises a `ValueError` naming the input, the step
and the task. Repairing it cannot give a meaningful score: clamping -inf to the largest float
turned it into a positive value loss of about 3e307, which pinned the task at the top of the
replay ranking for good, and mapping NaN to 0 hid an agent whose value head had diverged. The
same holds for finite inputs so large that the score overflows. The one non-finite input with a
stated meaning is `best_return` (MaxMC): -inf or NaN there means "no return seen yet", as it
does in the reference implementation's initial running maximum.
"""

from __future__ import annotations

import math

import numpy as np

from curriculum.base import EpisodeStats

SCORERS = ("positive_value_loss", "value_l1", "maxmc")


def gae(values: np.ndarray, rewards: np.ndarray, bootstrap: float, gamma: float,
        lam: float) -> np.ndarray:
    """Generalised advantage estimates of one episode (float64)."""
    values = np.asarray(values, np.float64)
    rewards = np.asarray(rewards, np.float64)
    n = len(rewards)
    nxt = np.append(values[1:], bootstrap)
    deltas = rewards + gamma * nxt - values
    adv = np.zeros(n)
    acc = 0.0
    for t in range(n - 1, -1, -1):  # one pass per finished episode, not per env step
        acc = deltas[t] + gamma * lam * acc
        adv[t] = acc
    return adv


def returns_to_go(rewards: np.ndarray, bootstrap: float, gamma: float) -> np.ndarray:
    """Discounted returns from every step (bootstrapped at the end)."""
    rewards = np.asarray(rewards, np.float64)
    out = np.zeros(len(rewards))
    acc = bootstrap
    for t in range(len(rewards) - 1, -1, -1):
        acc = rewards[t] + gamma * acc
        out[t] = acc
    return out


def episode_return(stats: EpisodeStats, gamma: float) -> float:
    """The discounted return from the episode's first step (bootstrapped if cut off)."""
    if stats.rewards is None or stats.length == 0:
        return float(stats.episode_return)
    boot = 0.0 if stats.completed else stats.bootstrap_value
    return float(returns_to_go(stats.rewards, boot, gamma)[0])


def _check_finite(stats: EpisodeStats, name: str, arr: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        more = f" (and {bad.size - 1} more steps)" if bad.size > 1 else ""
        raise ValueError(f"EpisodeStats.{name}[{i}] of task {stats.task_id} is "
                         f"{float(arr[i])!r}{more}; PLR scores need finite values and rewards "
                         "(a non-finite value prediction means the agent's value head diverged)")


def score_episode(stats: EpisodeStats, scorer: str, gamma: float, lam: float,
                  best_return: float | None = None) -> float | None:
    """The PLR score of one episode, or None if it has no steps. `best_return` is the highest
    return already seen on this task (MaxMC), None (or -inf/NaN) if there is none yet.

    Raises ValueError, naming the input, for a non-finite value prediction, reward or (on a
    cut-off episode) bootstrap value, and for a score that overflows: see the module docstring
    for why these are not repaired into a number."""
    if scorer not in SCORERS:
        raise ValueError(f"scorer: {scorer!r} is not allowed; allowed are {list(SCORERS)}")
    if stats.length == 0:
        return None
    if stats.values is None or stats.rewards is None:
        raise ValueError(f"scorer {scorer!r} needs the episode's per-step values and rewards; "
                         "the actor attaches them (EpisodeStats.values/rewards)")
    values = np.asarray(stats.values, np.float64)
    rewards = np.asarray(stats.rewards, np.float64)
    _check_finite(stats, "values", values)
    _check_finite(stats, "rewards", rewards)
    boot = 0.0 if stats.completed else float(stats.bootstrap_value)
    if not math.isfinite(boot):
        raise ValueError(f"EpisodeStats.bootstrap_value of task {stats.task_id} is {boot!r}; "
                         "a cut-off episode needs a finite value of its last state")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
        if scorer == "positive_value_loss":
            score = float(np.maximum(gae(values, rewards, boot, gamma, lam), 0.0).mean())
        elif scorer == "value_l1":
            score = float(np.abs(gae(values, rewards, boot, gamma, lam)).mean())
        else:
            own = episode_return(stats, gamma)
            best = own if best_return is None or not math.isfinite(best_return) \
                else max(best_return, own)
            score = float((best - values).mean())
    if not math.isfinite(score):
        raise ValueError(f"score_episode: the {scorer} score of task {stats.task_id} overflows "
                         f"(largest |value| {np.abs(values).max():.3g}, largest |reward| "
                         f"{np.abs(rewards).max():.3g}); PLR scores need values and rewards of "
                         "a sane magnitude")
    return score


__all__ = ["SCORERS", "episode_return", "gae", "returns_to_go", "score_episode"]
