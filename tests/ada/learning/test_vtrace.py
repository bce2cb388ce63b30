"""V-trace against a direct transcription of the IMPALA paper's definition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ada.learning.vtrace import vtrace


def naive_vtrace(mu, pi, r, disc, v, boot, rho_bar, c_bar, lam):
    """v_s = V(x_s) + sum_{t=s}^{T-1} (prod_{i=s}^{t-1} gamma_i c_i) rho_t delta_t (eq. 1)."""
    T, B = v.shape
    ratio = np.exp(pi - mu)
    rho = np.minimum(rho_bar, ratio)
    c = lam * np.minimum(c_bar, ratio)
    v_next = np.concatenate([v[1:], boot[None]])
    vs = np.zeros((T, B))
    for b in range(B):
        for s in range(T):
            total, coef = v[s, b], 1.0
            for t in range(s, T):
                total += coef * rho[t, b] * (r[t, b] + disc[t, b] * v_next[t, b] - v[t, b])
                coef *= disc[t, b] * c[t, b]
            vs[s, b] = total
    vs_next = np.concatenate([vs[1:], boot[None]])
    adv = rho * (r + disc * vs_next - v)
    return vs, adv


@pytest.mark.parametrize("lam,rho_bar,c_bar", [(1.0, 1.0, 1.0), (0.9, 1.5, 0.8)])
def test_vtrace_matches_the_paper_definition(lam: float, rho_bar: float, c_bar: float) -> None:
    rng = np.random.default_rng(0)
    T, B = 7, 5
    mu, pi = np.log(rng.uniform(0.1, 1, (T, B))), np.log(rng.uniform(0.1, 1, (T, B)))
    r, v, boot = rng.normal(size=(T, B)), rng.normal(size=(T, B)), rng.normal(size=B)
    disc = 0.95 * (rng.random((T, B)) > 0.2)  # some terminations
    vs, adv = naive_vtrace(mu, pi, r, disc, v, boot, rho_bar, c_bar, lam)
    mu_t, pi_t, r_t, d_t, v_t, b_t = (torch.tensor(x, dtype=torch.float64)
                                      for x in (mu, pi, r, disc, v, boot))
    out = vtrace(mu_t, pi_t, r_t, d_t, v_t, b_t, rho_bar, c_bar, lambda_=lam)
    np.testing.assert_allclose(out.vs.numpy(), vs, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out.pg_advantages.numpy(), adv, rtol=1e-10, atol=1e-10)


def test_on_policy_vtrace_is_the_bootstrapped_return_and_termination_cuts_it() -> None:
    T = 4
    r = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    disc = torch.tensor([[0.5], [0.0], [0.5], [0.5]])  # episode ends after step 1
    v = torch.zeros(T, 1)
    boot = torch.tensor([10.0])
    logp = torch.zeros(T, 1)
    out = vtrace(logp, logp, r, disc, v, boot)
    # step 0: 1 + 0.5 * 2 (then cut); step 2: 3 + 0.5 * (4 + 0.5 * 10)
    expected = torch.tensor([[2.0], [2.0], [3.0 + 0.5 * (4 + 5.0)], [4.0 + 5.0]])
    torch.testing.assert_close(out.vs, expected)


def test_vtrace_rejects_mismatched_shapes() -> None:
    z = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="bootstrap_value"):
        vtrace(z, z, z, z, z, torch.zeros(3))
    with pytest.raises(ValueError, match="equal"):
        vtrace(z, z, z, z, torch.zeros(4, 2), torch.zeros(2))
