"""Bayes-optimal sequence predictors: exactness by enumeration, Monte Carlo reference losses."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest

from ada.bayes.sequence import (
    beta_predictor,
    changepoint_predictor,
    decay_predictor,
    kt,
    laplace,
    log_loss,
    ptw_predictor,
    sample_sequences,
    window_predictor,
)

# ------------------------------------------------------------------ brute-force references


def _segment_marginal(x: tuple[int, ...], a: float, b: float) -> float:
    k, m = sum(x), len(x)
    return math.exp(
        math.lgamma(a + k)
        + math.lgamma(b + m - k)
        - math.lgamma(a + b + m)
        - math.lgamma(a)
        - math.lgamma(b)
        + math.lgamma(a + b)
    )


def _piecewise_marginal(x: tuple[int, ...], h: float, a: float, b: float) -> float:
    """P(x) under the piecewise source by summing over every switch pattern."""
    n = len(x)
    total = 0.0
    for switches in itertools.product((0, 1), repeat=max(n - 1, 0)):
        prob, cuts = 1.0, [0]
        for i, s in enumerate(switches):
            prob *= h if s else 1 - h
            if s:
                cuts.append(i + 1)
        cuts.append(n)
        for u, v in itertools.pairwise(cuts):
            prob *= _segment_marginal(x[u:v], a, b)
        total += prob
    return total


def _ptw_marginal(x: tuple[int, ...], depth: int, a: float, b: float) -> float:
    """PTW by its recursive definition on a fully observed block of length 2^depth."""
    if depth == 0:
        return _segment_marginal(x, a, b)
    half = len(x) // 2
    split = _ptw_marginal(x[:half], depth - 1, a, b) * _ptw_marginal(x[half:], depth - 1, a, b)
    return 0.5 * _segment_marginal(x, a, b) + 0.5 * split


def _all_binary(n: int) -> np.ndarray:
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8)


@pytest.mark.parametrize(("h", "a", "b"), [(0.2, 1.0, 1.0), (0.05, 0.5, 0.5), (0.5, 2.0, 1.0)])
def test_changepoint_predictor_is_exact_posterior_predictive(h: float, a: float, b: float) -> None:
    n = 6
    seqs = _all_binary(n)
    probs = changepoint_predictor(seqs, h, a, b)
    marg = functools.cache(lambda x: _piecewise_marginal(x, h, a, b) if x else 1.0)
    for i, x in enumerate(seqs.tolist()):
        for t in range(n):
            prefix = tuple(x[:t])
            assert probs[i, t] == pytest.approx(marg((*prefix, 1)) / marg(prefix), abs=1e-12)


def test_ptw_predictor_is_exact_mixture() -> None:
    depth, n = 3, 8
    seqs = _all_binary(n)
    full = {tuple(x): _ptw_marginal(tuple(x), depth, 0.5, 0.5) for x in seqs.tolist()}
    assert sum(full.values()) == pytest.approx(1.0, abs=1e-12)  # a proper distribution

    @functools.cache
    def prefix_marginal(prefix: tuple[int, ...]) -> float:
        return sum(p for x, p in full.items() if x[: len(prefix)] == prefix)

    probs = ptw_predictor(seqs, depth=depth)
    for i, x in enumerate(seqs.tolist()):
        for t in range(n):
            prefix = tuple(x[:t])
            expect = prefix_marginal((*prefix, 1)) / prefix_marginal(prefix)
            assert probs[i, t] == pytest.approx(expect, abs=1e-12)
    # A shorter sequence in the same tree predicts exactly like the prefix of a longer one.
    np.testing.assert_allclose(ptw_predictor(seqs[:, :5], depth=depth), probs[:, :5], atol=1e-12)
    with pytest.raises(ValueError):
        ptw_predictor(seqs, depth=2)


# ------------------------------------------------------------------ predictor identities


def test_changepoint_limits_reduce_to_stationary_predictors() -> None:
    seqs = sample_sequences("stationary", 64, 300, np.random.default_rng(0))
    np.testing.assert_allclose(changepoint_predictor(seqs, 0.0), laplace(seqs), atol=1e-12)
    np.testing.assert_allclose(changepoint_predictor(seqs, 0.0, 0.5, 0.5), kt(seqs), atol=1e-12)
    np.testing.assert_allclose(changepoint_predictor(seqs, 1.0, 2.0, 1.0), 2.0 / 3.0)
    # Block size is a performance knob only.
    np.testing.assert_allclose(
        changepoint_predictor(seqs, 0.03, block=7), changepoint_predictor(seqs, 0.03), atol=1e-12
    )


def test_baselines_reduce_to_stationary_predictors() -> None:
    seqs = sample_sequences("stationary", 32, 100, np.random.default_rng(1))
    np.testing.assert_allclose(decay_predictor(seqs, 1.0, 1.0, 1.0), laplace(seqs), atol=1e-12)
    np.testing.assert_allclose(window_predictor(seqs, 100), laplace(seqs), atol=1e-12)
    np.testing.assert_allclose(window_predictor(seqs, 10)[:, :11], laplace(seqs)[:, :11])
    assert not np.allclose(window_predictor(seqs, 10)[:, 11:], laplace(seqs)[:, 11:])
    np.testing.assert_allclose(beta_predictor(seqs, 0.5, 0.5)[:, 0], 0.5)
    # Laplace by hand on one sequence.
    x = np.array([[1, 1, 0, 1]], dtype=np.uint8)
    np.testing.assert_allclose(laplace(x), [[1 / 2, 2 / 3, 3 / 4, 3 / 5]])
    np.testing.assert_allclose(kt(x), [[1 / 2, 3 / 4, 5 / 6, 5 / 8]])


@pytest.mark.parametrize(
    "predict",
    [
        laplace,
        kt,
        lambda s: changepoint_predictor(s, 0.01),
        lambda s: changepoint_predictor(s, 0.3, 0.5, 0.5),
        lambda s: decay_predictor(s, 0.9),
        lambda s: window_predictor(s, 16),
        ptw_predictor,
    ],
)
def test_probabilities_strictly_inside_unit_interval(
    predict: Callable[[np.ndarray], np.ndarray],
) -> None:
    rng = np.random.default_rng(2)
    seqs = np.concatenate(
        [
            np.zeros((1, 512), np.uint8),
            np.ones((1, 512), np.uint8),
            sample_sequences("piecewise", 30, 512, rng, h=0.05),
        ]
    )
    probs = predict(seqs)
    assert probs.shape == seqs.shape
    assert np.all(probs > 0.0) and np.all(probs < 1.0)
    assert np.isfinite(log_loss(probs, seqs, "step"))


def test_log_loss_reductions() -> None:
    seqs = np.array([[0, 1, 1], [1, 0, 0]], dtype=np.uint8)
    probs = np.full(seqs.shape, 0.5)
    np.testing.assert_allclose(log_loss(probs, seqs), math.log(2))
    np.testing.assert_allclose(log_loss(probs, seqs, "sequence"), 3 * math.log(2))
    assert log_loss(probs, seqs, "step") == pytest.approx(math.log(2))
    p = np.array([[0.9, 0.9, 0.2], [0.9, 0.9, 0.2]])
    np.testing.assert_allclose(
        log_loss(p, seqs), -np.log([[0.1, 0.9, 0.2], [0.9, 0.1, 0.8]]), atol=1e-15
    )
    with pytest.raises(ValueError):
        log_loss(probs[:, :2], seqs)
    with pytest.raises(ValueError):
        log_loss(probs, seqs + 1)


# ------------------------------------------------------------------ sources


def test_sources_shapes_and_statistics() -> None:
    rng = np.random.default_rng(3)
    seqs, theta = sample_sequences("piecewise", 2000, 200, rng, h=0.05, return_biases=True)
    assert seqs.dtype == np.uint8 and seqs.shape == (2000, 200)
    assert set(np.unique(seqs)) <= {0, 1}
    switch_rate = np.mean(theta[:, 1:] != theta[:, :-1])
    assert switch_rate == pytest.approx(0.05, abs=0.003)  # 398k Bernoulli(0.05): sd 3.5e-4
    assert seqs.mean() == pytest.approx(0.5, abs=0.02)
    assert np.mean(seqs == (theta > 0.5)) > 0.6  # symbols follow the bias in force

    st, th = sample_sequences("stationary", 500, 50, rng, return_biases=True)
    assert np.all(th == th[:, :1])
    assert np.corrcoef(st.mean(1), th[:, 0])[0, 1] > 0.8

    same = sample_sequences("piecewise", 50, 100, rng, h=0.0, return_biases=True)[1]
    assert np.all(same == same[:, :1])
    a = sample_sequences("piecewise", 4, 30, np.random.default_rng(9))
    np.testing.assert_array_equal(a, sample_sequences("piecewise", 4, 30, np.random.default_rng(9)))
    with pytest.raises(ValueError):
        sample_sequences("markov", 4, 30, rng)  # type: ignore[arg-type]


def test_ptw_source_segments_follow_the_dyadic_prior() -> None:
    rng = np.random.default_rng(4)
    _, theta = sample_sequences("ptw", 4000, 16, rng, a=0.5, b=0.5, return_biases=True)
    changes = theta[:, 1:] != theta[:, :-1]
    # Changes can only occur at dyadic boundaries; at the middle with probability 1/2 (root
    # splits), at 4 and 12 with 1/4, at odd positions with 1/16.
    assert changes[:, 7].mean() == pytest.approx(0.5, abs=0.03)
    assert changes[:, 3].mean() == pytest.approx(0.25, abs=0.03)
    assert changes[:, 0].mean() == pytest.approx(1 / 16, abs=0.015)
    # The PTW predictor is Bayes for this source: better than KT and the changepoint model.
    seqs = sample_sequences("ptw", 2000, 64, rng)
    ptw = log_loss(ptw_predictor(seqs), seqs, "step")
    assert ptw < log_loss(kt(seqs), seqs, "step")
    assert ptw < log_loss(changepoint_predictor(seqs, 0.05, 0.5, 0.5), seqs, "step")


# ------------------------------------------------------------------ Monte Carlo reference numbers


@pytest.fixture(scope="module")
def piecewise_losses() -> dict[str, float | np.ndarray]:
    seqs = sample_sequences("piecewise", 8192, 512, np.random.default_rng(0), h=0.01)
    bayes = log_loss(changepoint_predictor(seqs, 0.01), seqs, "sequence")
    out: dict[str, float | np.ndarray] = {"bayes": bayes}
    out["kt"] = log_loss(kt(seqs), seqs, "sequence")
    for d in (0.8, 0.9, 0.95):
        out[f"decay{d}"] = log_loss(decay_predictor(seqs, d), seqs, "sequence")
    return out


def test_piecewise_bayes_optimal_loss(piecewise_losses: dict) -> None:
    per_step = piecewise_losses["bayes"] / 512
    # 73,728 sequences over 9 seeds give 0.5345 +- 0.0004; this seed's sem is 0.0011. (The brief
    # quoted ~0.542: the predictor is exact by enumeration above, so we keep the measured value.)
    assert per_step.mean() == pytest.approx(0.5345, abs=0.005)
    assert per_step.mean() > 0.5  # above the source's average entropy E[H(theta)] = 1/2 nat


def test_piecewise_baseline_gaps(piecewise_losses: dict) -> None:
    bayes = piecewise_losses["bayes"]

    def gap(name: str) -> float:
        return float(np.mean(piecewise_losses[name] - bayes) / 512)

    # KT: 0.109 +- 0.0003 over 73,728 sequences (brief: ~0.100; its KT loss 0.642 matches ours).
    assert gap("kt") == pytest.approx(0.109, abs=0.004)
    # Best fixed decay is ~0.9, with a gap of 0.0081 +- 0.0001 (KT pseudo-counts).
    assert gap("decay0.9") == pytest.approx(0.009, abs=0.002)
    assert gap("decay0.9") < gap("decay0.8") and gap("decay0.9") < gap("decay0.95")
    for name in ("kt", "decay0.8", "decay0.9", "decay0.95"):
        assert gap(name) > 0.0


def _laplace_expected_step_loss(k: int) -> float:
    """Exact E[-log P_laplace(x_k | x_<k)] under Beta(1,1): H(x_<=k) - H(x_<k)."""

    def entropy(m: int) -> float:  # count of ones is uniform on 0..m, sequences within it too
        return math.log(m + 1) + sum(
            math.lgamma(m + 1) - math.lgamma(j + 1) - math.lgamma(m - j + 1) for j in range(m + 1)
        ) / (m + 1)

    return entropy(k + 1) - entropy(k)


def test_sliding_window_loses_about_0146_nats_per_sequence() -> None:
    # By exchangeability a window-w Laplace at step t >= w is as good as Laplace at step w, so the
    # exact expected loss is sum_{t=w}^{n-1} [l(w) - l(t)] = 0.14578 for n = 256, w = 128.
    ell = _laplace_expected_step_loss
    exact = sum(ell(128) - ell(t) for t in range(128, 256))
    assert exact == pytest.approx(0.146, abs=5e-4)
    seqs = sample_sequences("stationary", 8192, 256, np.random.default_rng(1))
    gap = log_loss(window_predictor(seqs, 128), seqs, "sequence") - log_loss(
        laplace(seqs), seqs, "sequence"
    )
    sem = gap.std() / math.sqrt(len(gap))  # ~0.0054
    assert abs(gap.mean() - exact) < 4 * sem
    assert gap.shape == (8192,)
