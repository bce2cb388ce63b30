"""V-trace off-policy returns (Espeholt et al. 2018, "IMPALA").

Actors act with weights that are a few learner updates old (policy lag). V-trace corrects for
this with truncated importance weights, so the learner can use the data without waiting for
on-policy rollouts. With rho_bar = c_bar = 1 and no lag it reduces to n-step returns.

All tensors are time-major (T, B). `discounts[t]` is gamma * (0 if the episode terminated after
action t else 1): a terminal transition cuts both the bootstrap and the trace.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class VTraceReturns(NamedTuple):
    vs: Tensor  # (T, B) value targets v_s
    pg_advantages: Tensor  # (T, B) rho_s (r_s + gamma_s v_{s+1} - V(x_s))
    log_rhos: Tensor  # (T, B) log importance ratios pi / mu (untruncated)


@torch.no_grad()
def vtrace(behaviour_logp: Tensor, target_logp: Tensor, rewards: Tensor, discounts: Tensor,
           values: Tensor, bootstrap_value: Tensor, rho_bar: float = 1.0, c_bar: float = 1.0,
           pg_rho_bar: float | None = None, lambda_: float = 1.0) -> VTraceReturns:
    """V-trace targets and policy-gradient advantages.

    behaviour_logp, target_logp: (T, B) log mu(a_t|x_t) and log pi(a_t|x_t) of the taken actions.
    values: (T, B) V(x_t); bootstrap_value: (B,) V(x_T). Returns are computed without gradient:
    they are targets.

    v_s = V(x_s) + sum_{t>=s} (prod_{i=s}^{t-1} gamma_i c_i) delta_t, with
    delta_t = rho_t (r_t + gamma_t V(x_{t+1}) - V(x_t)), rho_t = min(rho_bar, pi/mu),
    c_i = lambda * min(c_bar, pi/mu); computed by the backward recursion
    v_s - V(x_s) = delta_s + gamma_s c_s (v_{s+1} - V(x_{s+1})).
    """
    shapes = {behaviour_logp.shape, target_logp.shape, rewards.shape, discounts.shape,
              values.shape}
    if len(shapes) != 1 or values.dim() != 2:
        raise ValueError(f"vtrace needs equal (T, B) shapes, got {sorted(map(tuple, shapes))}")
    if bootstrap_value.shape != values.shape[1:]:
        raise ValueError(f"bootstrap_value has shape {tuple(bootstrap_value.shape)}, "
                         f"expected {tuple(values.shape[1:])}")
    log_rhos = target_logp - behaviour_logp
    rhos = log_rhos.exp()
    clipped_rhos = rhos.clamp(max=rho_bar)
    cs = lambda_ * rhos.clamp(max=c_bar)
    next_values = torch.cat([values[1:], bootstrap_value[None]], dim=0)
    deltas = clipped_rhos * (rewards + discounts * next_values - values)

    acc = torch.zeros_like(bootstrap_value)
    corrections = []
    for t in range(values.shape[0] - 1, -1, -1):
        acc = deltas[t] + discounts[t] * cs[t] * acc
        corrections.append(acc)
    vs_minus_v = torch.stack(corrections[::-1])
    vs = values + vs_minus_v

    next_vs = torch.cat([vs[1:], bootstrap_value[None]], dim=0)
    pg_rhos = rhos.clamp(max=pg_rho_bar if pg_rho_bar is not None else rho_bar)
    pg_advantages = pg_rhos * (rewards + discounts * next_vs - values)
    return VTraceReturns(vs, pg_advantages, log_rhos)


__all__ = ["VTraceReturns", "vtrace"]
