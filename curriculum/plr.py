"""Prioritized Level Replay's sampling distribution, as pure functions of the buffer's state.

Jiang et al. (2021), "Prioritized Level Replay", eqs. 1-3: with scores S_i and the episode count
C_i at which task i was last played (c is the current count),

    P_S(i) = h(S_i)^(1/beta) / sum_j h(S_j)^(1/beta),   h(S_i) = 1 / rank(S_i)   (rank)
    P_C(i) = (c - C_i) / sum_j (c - C_j)                                       (staleness)
    P(i)   = (1 - rho) P_S(i) + rho P_C(i)

Three bugs of public implementations are avoided by construction and pinned by tests: ranks
are computed in floating point (integer division would make every weight but the top one 0),
the temperature is an exponent 1/beta (dividing the weights by beta changes nothing after
normalisation), and scores are finite by construction: `curriculum.scoring` rejects episodes
with non-finite values or rewards instead of clamping them into an absurd finite score, and
non-finite scores are rejected here too rather than turned into NaN probabilities.

Ties: tied scores share the best rank among them ("min" ranking), so equal scores always get
equal probability, independent of buffer order.
"""

from __future__ import annotations

import numpy as np

PRIORITIZATIONS = ("rank", "power", "uniform")


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks, highest score first; ties share the smallest rank (float64)."""
    s = np.asarray(scores, np.float64)
    order = np.sort(s)[::-1]
    # number of strictly greater scores + 1, via a search in the descending sort
    greater = np.searchsorted(-order, -s, side="left")
    return greater.astype(np.float64) + 1.0


def score_weights(scores: np.ndarray, prioritization: str, temperature: float) -> np.ndarray:
    """P_S: the score-based distribution over buffer entries."""
    s = np.asarray(scores, np.float64)
    if s.size == 0:
        return s
    if not np.all(np.isfinite(s)):
        raise ValueError("scores must be finite (got inf or NaN); the scorers never produce "
                         "them, so this is a bug upstream")
    if prioritization not in PRIORITIZATIONS:
        raise ValueError(f"prioritization: {prioritization!r} is not allowed; allowed are "
                         f"{list(PRIORITIZATIONS)}")
    if temperature <= 0:
        raise ValueError(f"temperature: {temperature!r} is not allowed; allowed: > 0")
    if prioritization == "uniform":
        return np.full(s.size, 1.0 / s.size)
    if prioritization == "rank":
        h = 1.0 / ranks(s)
    else:  # power: scores shifted to be non-negative, as in the PLR code's "power" transform
        h = np.clip(s - min(s.min(), 0.0), 0.0, None)
        if h.sum() <= 0:
            return np.full(s.size, 1.0 / s.size)
    # h^(1/beta) computed in log space: small temperatures must not underflow to all-zero
    logw = np.where(h > 0, np.log(np.where(h > 0, h, 1.0)) / temperature, -np.inf)
    logw -= logw.max()
    w = np.exp(logw)
    return w / w.sum()


def staleness_weights(last_played: np.ndarray, count: int) -> np.ndarray:
    """P_C: proportional to episodes since each entry was last played; uniform if all are
    fresh (all zero)."""
    last = np.asarray(last_played, np.float64)
    if last.size == 0:
        return last
    stale = np.clip(count - last, 0.0, None)
    total = stale.sum()
    if total <= 0:
        return np.full(last.size, 1.0 / last.size)
    return stale / total


def replay_distribution(scores: np.ndarray, last_played: np.ndarray, count: int,
                        prioritization: str = "rank", temperature: float = 0.3,
                        staleness_coef: float = 0.3) -> np.ndarray:
    """P = (1 - rho) P_S + rho P_C over the buffer's entries (empty buffer: empty array)."""
    if not 0.0 <= staleness_coef <= 1.0:
        raise ValueError(f"staleness_coef: {staleness_coef!r} is not allowed; allowed: [0, 1]")
    if len(scores) != len(last_played):
        raise ValueError(f"scores ({len(scores)}) and last_played ({len(last_played)}) differ "
                         "in length")
    ps = score_weights(scores, prioritization, temperature)
    if ps.size == 0:
        return ps
    p = (1.0 - staleness_coef) * ps
    if staleness_coef > 0:
        p = p + staleness_coef * staleness_weights(last_played, count)
    return p / p.sum()


def eviction_index(scores: np.ndarray, last_played: np.ndarray, prioritization: str,
                   temperature: float) -> int:
    """The entry a full buffer drops: the lowest score weight; among ties the stalest (the
    smallest last-played count), then the oldest entry. A uniform buffer drops the oldest."""
    n = len(scores)
    if n == 0:
        raise ValueError("eviction from an empty buffer")
    if prioritization == "uniform":
        return 0
    w = score_weights(scores, prioritization, temperature)
    keys = np.lexsort((np.arange(n), np.asarray(last_played, np.float64), w))
    return int(keys[0])


__all__ = ["PRIORITIZATIONS", "eviction_index", "ranks", "replay_distribution",
           "score_weights", "staleness_weights"]
