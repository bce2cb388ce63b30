"""The PLR sampling distribution, exactly, including the known public-implementation bugs."""

from __future__ import annotations

import numpy as np
import pytest

from curriculum.plr import (
    eviction_index,
    ranks,
    replay_distribution,
    score_weights,
    staleness_weights,
)


def test_ranks_descending_with_ties_sharing_the_best_rank() -> None:
    np.testing.assert_array_equal(ranks(np.array([3.0, 1.0, 2.0, 2.0])), [1.0, 4.0, 2.0, 2.0])
    np.testing.assert_array_equal(ranks(np.array([5.0, 5.0, 5.0])), [1.0, 1.0, 1.0])
    assert ranks(np.array([1, 2, 3])).dtype == np.float64  # integer input, float ranks


def test_exact_distribution_rank_temperature_and_staleness() -> None:
    scores = np.array([3.0, 1.0, 2.0, 2.0])
    last = np.array([1, 3, 0, 2])
    beta, rho, count = 0.3, 0.3, 5
    h = np.array([1.0, 1 / 4, 1 / 2, 1 / 2]) ** (1 / beta)
    ps = h / h.sum()
    pc = np.array([4.0, 2.0, 5.0, 3.0]) / 14.0
    expected = (1 - rho) * ps + rho * pc
    got = replay_distribution(scores, last, count, "rank", beta, rho)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got.sum() == pytest.approx(1.0)
    assert got[2] == pytest.approx(got[3] + rho * (5 - 3) / 14.0)  # ties differ by staleness


def test_temperature_is_an_exponent_not_a_divisor() -> None:
    scores = np.array([2.0, 1.0])
    hot, cold = score_weights(scores, "rank", 10.0), score_weights(scores, "rank", 0.1)
    # weights 1 and (1/2)^(1/beta): beta=0.1 -> ~1/1025, beta=10 -> ~0.933 relative weight
    assert cold[1] == pytest.approx(0.5 ** 10 / (1 + 0.5 ** 10))
    assert hot[1] == pytest.approx(0.5 ** 0.1 / (1 + 0.5 ** 0.1))
    # dividing weights by beta would leave the normalised distribution unchanged
    assert not np.allclose(hot, cold)


def test_integer_scores_do_not_zero_out_weights() -> None:
    w = score_weights(np.array([3, 2, 1]), "rank", 1.0)
    np.testing.assert_allclose(w, np.array([1, 1 / 2, 1 / 3]) / (11 / 6))
    assert np.all(w > 0)


def test_tiny_temperature_does_not_underflow_to_nan() -> None:
    w = score_weights(np.arange(200, dtype=float), "rank", 1e-3)
    assert np.all(np.isfinite(w)) and w.sum() == pytest.approx(1.0)
    assert w.argmax() == 199


def test_ties_get_equal_probability_independent_of_order() -> None:
    a = replay_distribution(np.array([1.0, 1.0, 0.5]), np.zeros(3), 3, "rank", 0.3, 0.0)
    b = replay_distribution(np.array([0.5, 1.0, 1.0]), np.zeros(3), 3, "rank", 0.3, 0.0)
    assert a[0] == pytest.approx(a[1])
    np.testing.assert_allclose(a, b[::-1])


def test_staleness_when_everything_was_just_played_is_uniform() -> None:
    np.testing.assert_allclose(staleness_weights(np.array([4, 4, 4]), 4), [1 / 3] * 3)
    np.testing.assert_allclose(replay_distribution(np.array([1.0, 0.0]), np.array([2, 2]), 2,
                                                   "rank", 1.0, 1.0), [0.5, 0.5])


def test_empty_buffer_and_non_finite_scores() -> None:
    assert replay_distribution(np.array([]), np.array([]), 0).size == 0
    with pytest.raises(ValueError, match="finite"):
        score_weights(np.array([1.0, -np.inf]), "rank", 0.3)
    with pytest.raises(ValueError, match="finite"):
        score_weights(np.array([np.nan, 1.0]), "rank", 0.3)
    with pytest.raises(ValueError, match="prioritization"):
        score_weights(np.array([1.0]), "greedy", 0.3)
    with pytest.raises(ValueError, match="temperature"):
        score_weights(np.array([1.0]), "rank", 0.0)
    with pytest.raises(ValueError, match="staleness_coef"):
        replay_distribution(np.array([1.0]), np.array([0]), 1, "rank", 0.3, 1.5)


def test_power_and_uniform_prioritisation() -> None:
    np.testing.assert_allclose(score_weights(np.array([1.0, 3.0]), "power", 1.0), [0.25, 0.75])
    np.testing.assert_allclose(score_weights(np.array([1.0, 3.0]), "power", 0.5),
                               [1 / 10, 9 / 10])
    np.testing.assert_allclose(score_weights(np.array([0.0, 0.0]), "power", 0.3), [0.5, 0.5])
    np.testing.assert_allclose(score_weights(np.array([5.0, 1.0, 2.0]), "uniform", 0.3),
                               [1 / 3] * 3)


def test_eviction_lowest_weight_then_stalest_then_oldest() -> None:
    assert eviction_index(np.array([3.0, 0.5, 2.0]), np.array([0, 9, 0]), "rank", 0.3) == 1
    # tie on the lowest score: the one played longest ago goes
    assert eviction_index(np.array([0.5, 3.0, 0.5]), np.array([7, 0, 2]), "rank", 0.3) == 2
    # full tie: the oldest entry
    assert eviction_index(np.array([1.0, 1.0]), np.array([3, 3]), "rank", 0.3) == 0
    assert eviction_index(np.array([9.0, 0.0]), np.array([0, 0]), "uniform", 0.3) == 0
    with pytest.raises(ValueError, match="empty"):
        eviction_index(np.array([]), np.array([]), "rank", 0.3)
