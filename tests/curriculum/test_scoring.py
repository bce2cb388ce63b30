"""PLR scorers: exact on small episodes, finite on cut-off and empty ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from curriculum.base import EpisodeStats
from curriculum.scoring import gae, returns_to_go, score_episode
from worlds.env_batch import EpisodeRecord


def stats(values, rewards, completed=True, bootstrap=0.0) -> EpisodeStats:
    return EpisodeStats("t", float(np.sum(rewards)), len(rewards), float(len(rewards)),
                        completed=completed, values=np.asarray(values, float),
                        rewards=np.asarray(rewards, float), bootstrap_value=bootstrap)


def test_gae_matches_hand_computation() -> None:
    v, r = np.array([0.5, 0.2]), np.array([0.0, 1.0])
    gamma, lam = 0.9, 0.8
    d1 = 1.0 + 0.0 - 0.2
    d0 = 0.0 + gamma * 0.2 - 0.5
    np.testing.assert_allclose(gae(v, r, 0.0, gamma, lam), [d0 + gamma * lam * d1, d1])
    np.testing.assert_allclose(returns_to_go(r, 2.0, 0.5), [0.5 * (1 + 0.5 * 2.0), 2.0])


def test_positive_value_loss_and_maxmc() -> None:
    s = stats([0.5, 0.2], [0.0, 1.0])
    adv = gae(np.array([0.5, 0.2]), np.array([0.0, 1.0]), 0.0, 0.9, 0.8)
    assert score_episode(s, "positive_value_loss", 0.9, 0.8) == pytest.approx(
        np.maximum(adv, 0).mean())
    # MaxMC against the best return seen (here higher than this episode's 0.9)
    assert score_episode(s, "maxmc", 0.9, 0.8, best_return=3.0) == pytest.approx(
        3.0 - 0.35)
    # no history: the episode's own discounted return is the maximum
    assert score_episode(s, "maxmc", 0.9, 0.8) == pytest.approx(0.9 - 0.35)


def test_value_overestimate_gives_zero_positive_value_loss() -> None:
    assert score_episode(stats([5.0, 5.0], [0.0, 0.0]), "positive_value_loss", 0.99, 0.95) == 0


def test_cut_off_episode_bootstraps_and_is_finite() -> None:
    done = stats([0.0, 0.0], [0.0, 0.0])
    cut = stats([0.0, 0.0], [0.0, 0.0], completed=False, bootstrap=1.0)
    assert score_episode(done, "positive_value_loss", 1.0, 1.0) == 0.0
    assert score_episode(cut, "positive_value_loss", 1.0, 1.0) == pytest.approx(1.0)
    for scorer in ("positive_value_loss", "maxmc"):
        for best in (None, -math.inf, math.nan):
            got = score_episode(cut, scorer, 0.99, 0.95, best_return=best)
            assert got is not None and math.isfinite(got)


def test_empty_episode_has_no_score_and_bad_input_is_named() -> None:
    empty = EpisodeStats("t", 0.0, 0, 1.0, completed=False, values=np.zeros(0),
                         rewards=np.zeros(0))
    assert score_episode(empty, "maxmc", 0.99, 0.95) is None
    with pytest.raises(ValueError, match="scorer"):
        score_episode(stats([0.0], [0.0]), "l1", 0.99, 0.95)
    with pytest.raises(ValueError, match="values and rewards"):
        score_episode(EpisodeStats("t", 1.0, 1, 1.0), "maxmc", 0.99, 0.95)
    with pytest.raises(ValueError, match="values"):
        EpisodeStats("t", 1.0, 3, 3.0, values=np.zeros(2), rewards=np.zeros(3))


def test_normalised_score() -> None:
    assert EpisodeStats("t", 30.0, 60, 60.0).score == 0.5
    assert EpisodeStats("t", 3.0, 2, 0.0).score == 0.0
    ep = EpisodeRecord(task_id="x", episode_return=2.0, length=4, env=0, max_return=8,
                       values=np.zeros(4), rewards=np.array([0.0, 1, 0, 1]), trial_returns=(2.0,))
    s = EpisodeStats.from_episode(ep)
    assert s.score == 0.25 and s.completed and s.trial_returns == (2.0,)


@pytest.mark.parametrize("scorer", ["positive_value_loss", "value_l1", "maxmc"])
@pytest.mark.parametrize(("field", "bad"), [
    ("values", -math.inf), ("values", math.inf), ("values", math.nan), ("rewards", math.nan),
    ("rewards", math.inf),
])
def test_non_finite_values_and_rewards_are_rejected_naming_them(scorer: str, field: str,
                                                                 bad: float) -> None:
    arrays = {"values": [0.1, 0.2, 0.3], "rewards": [0.0, 1.0, 0.0]}
    arrays[field][1] = bad
    # episode_return is checked by EpisodeStats itself; the per-step arrays are the scorer's
    s = EpisodeStats("t", 1.0, 3, 3.0, values=np.asarray(arrays["values"]),
                     rewards=np.asarray(arrays["rewards"]))
    with pytest.raises(ValueError, match=rf"^EpisodeStats\.{field}\[1\] of task t is "):
        score_episode(s, scorer, 0.99, 0.95)


def test_minus_inf_value_is_not_an_absurd_top_score() -> None:
    """Clamping -inf to the largest float gave a positive value loss of about 3e307."""
    s = stats([0.0, -math.inf], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"values\[1\] .* is -inf"):
        score_episode(s, "positive_value_loss", 0.99, 0.95)


def test_bootstrap_value_is_checked_only_where_it_is_used() -> None:
    cut = stats([0.0, 0.0], [0.0, 1.0], completed=False, bootstrap=math.nan)
    with pytest.raises(ValueError, match="bootstrap_value of task t is nan"):
        score_episode(cut, "maxmc", 0.99, 0.95)
    done = stats([0.0, 0.0], [0.0, 1.0], completed=True, bootstrap=math.nan)
    assert math.isfinite(score_episode(done, "maxmc", 0.99, 0.95))


def test_finite_inputs_whose_score_overflows_are_rejected() -> None:
    s = stats([1e308, -1e308], [0.0, 0.0])
    with pytest.raises(ValueError, match="overflows"):
        score_episode(s, "value_l1", 1.0, 1.0)
