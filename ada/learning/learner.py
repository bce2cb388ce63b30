"""The V-trace actor-critic learner (IMPALA) for the Transformer-XL agent.

`Learner.step(trajectory)` re-runs the agent on the unroll from the memory cache the actor had
at its first step (stored state), computes V-trace targets against the behaviour logits, and
takes one optimiser step on

    loss = policy_loss + baseline_cost * value_loss - entropy_cost * entropy.

Two normalisations, both optional, keep one set of hyper-parameters usable across reward
scales (bandit returns ~10, sparse 3D rewards ~1, dense ones ~100):
- `advantage_norm="batch"`: policy advantages are standardised per batch;
- `return_norm=True`: advantages are divided by max(1, S), with S an EMA of the 5th-95th
  percentile range of the V-trace targets (DreamerV3's return scaling), so large returns do not
  blow up the policy step and small ones are not amplified into noise.

The entropy cost and learning rate may anneal linearly to final values over the run: a
meta-learner that must end up near Bayes-optimal needs a near-deterministic final policy.

With a teacher (`algo.kickstart`, `ada.learning.kickstart`), the loss also has
`kickstart_weight * KL(teacher || student)` over the unroll's steps, the teacher's logits coming
with the trajectory from the actors; the weight follows a schedule in trained frames.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from ada.learning.checkpoint import (
    CheckpointError,
    check_optimizer_state,
    check_weights,
    load_weights,
)
from ada.learning.kickstart import KickstartConfig, kickstart_terms
from ada.learning.vtrace import vtrace
from ada.runtime.trajectory import Trajectory
from ada.validation import ConfigError, boolean, build, choice, number
from agents.agent import Agent

ADVANTAGE_NORMS = ("none", "batch")
LEARNER_DTYPES = ("float32", "bfloat16")


@dataclass(frozen=True)
class VTraceConfig:
    """Hyper-parameters of the V-trace learner (the `algo` config group).

    learning_rate, final_learning_rate: Adam step size, annealed linearly over the run
        (final None = constant).
    entropy_cost, final_entropy_cost: entropy bonus weight, annealed linearly (None = constant).
    discount: gamma; bandit and other finite-horizon families use 1.0.
    baseline_cost: weight of the value loss 0.5 (v_s - V)^2.
    max_grad_norm: global gradient-norm clip (0 = no clipping).
    rho_bar, c_bar, lambda_: V-trace truncation levels and trace decay.
    advantage_norm: "none" | "batch"; return_norm: divide advantages by the EMA return range.
    popart, popart_step: normalise value targets (and advantages) by running return moments
        with output-preserving rescaling (PopArt); step = EMA rate of the moments.
    adam_eps, weight_decay: optimiser details.
    kickstart: the teacher and its loss schedule (`ada.learning.kickstart.KickstartConfig`).
    """

    learning_rate: float = 3e-4
    final_learning_rate: float | None = None
    entropy_cost: float = 0.01
    final_entropy_cost: float | None = None
    discount: float = 0.99
    baseline_cost: float = 0.5
    max_grad_norm: float = 40.0
    rho_bar: float = 1.0
    c_bar: float = 1.0
    lambda_: float = 1.0
    advantage_norm: str = "none"
    popart: bool = True
    popart_step: float = 0.01
    return_norm: bool = False
    return_norm_decay: float = 0.99
    adam_eps: float = 1e-6
    weight_decay: float = 0.0
    kickstart: KickstartConfig = field(default_factory=KickstartConfig)

    def __post_init__(self) -> None:
        if isinstance(self.kickstart, Mapping):  # from YAML or a checkpoint's saved config
            object.__setattr__(self, "kickstart",
                               build(KickstartConfig, self.kickstart, "kickstart"))
        elif not isinstance(self.kickstart, KickstartConfig):
            raise ConfigError(f"kickstart: {self.kickstart!r} is not allowed; allowed is a "
                              "mapping with teacher, weight, hold_frames, anneal_frames")
        for name in ("learning_rate", "baseline_cost", "rho_bar", "c_bar", "adam_eps"):
            number(name, getattr(self, name), lo=0.0, lo_open=True)
        for name in ("entropy_cost", "max_grad_norm", "weight_decay"):
            number(name, getattr(self, name), lo=0.0)
        for name in ("discount", "lambda_", "return_norm_decay", "popart_step"):
            number(name, getattr(self, name), 0.0, 1.0)
        if self.final_learning_rate is not None:
            number("final_learning_rate", self.final_learning_rate, lo=0.0)
        if self.final_entropy_cost is not None:
            number("final_entropy_cost", self.final_entropy_cost, lo=0.0)
        choice("advantage_norm", self.advantage_norm, ADVANTAGE_NORMS)
        for name in ("return_norm", "popart"):
            boolean(name, getattr(self, name))


def _anneal(start: float, final: float | None, fraction: float) -> float:
    if final is None:
        return start
    fraction = min(max(fraction, 0.0), 1.0)
    return start + (final - start) * fraction


class Learner:
    """Owns the agent being trained, its optimiser and the update counter (= weight version)."""

    def __init__(self, agent: Agent, config: VTraceConfig, total_updates: int,
                 device: torch.device | str = "cpu", dtype: str = "float32") -> None:
        if total_updates < 1:
            raise ValueError(f"total_updates: {total_updates} is not allowed; allowed: >= 1")
        choice("dtype", dtype, LEARNER_DTYPES)
        self.device = torch.device(device)
        # bfloat16: the network's forward runs under autocast (weights, optimiser and the
        # V-trace arithmetic stay float32); float32: no autocast at all
        self.autocast = dtype == "bfloat16"
        self.agent = agent.to(self.device).train()
        self.config = config
        self.total_updates = total_updates
        self.optimizer = torch.optim.Adam(agent.parameters(), lr=config.learning_rate,
                                          eps=config.adam_eps, weight_decay=config.weight_decay)
        self.updates = 0
        self.frames = 0
        self.return_scale = 1.0

    @property
    def version(self) -> int:
        return self.updates

    def schedule(self) -> tuple[float, float]:
        """(learning rate, entropy cost) for the next update."""
        frac = self.updates / self.total_updates
        c = self.config
        return (_anneal(c.learning_rate, c.final_learning_rate, frac),
                _anneal(c.entropy_cost, c.final_entropy_cost, frac))

    def loss(self, traj: Trajectory) -> tuple[Tensor, dict[str, float], Tensor]:
        """(total loss, scalar metrics, V-trace value targets v_s for the PopArt statistics)."""
        c = self.config
        data = traj.tensors(self.device)
        memory = traj.memory(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            hidden, _ = self.agent.embed(data["obs"], memory, data["first"])
            logits = self.agent.policy(hidden).float()
            hidden = hidden.float()
        value_head = self.agent.value
        norm_values = value_head.normalized(hidden)
        values = value_head.mu + value_head.sigma * norm_values
        T = traj.length
        logp_all = torch.log_softmax(logits[:T].float(), dim=-1)
        actions = data["actions"]
        target_logp = logp_all.gather(-1, actions[..., None])[..., 0]
        behaviour_logp = torch.log_softmax(data["behaviour_logits"].float(), dim=-1).gather(
            -1, actions[..., None])[..., 0]
        discounts = data["discounts"] * c.discount
        ret = vtrace(behaviour_logp, target_logp.detach(), data["rewards"], discounts,
                     values[:T].detach(), values[T].detach(), c.rho_bar, c.c_bar,
                     lambda_=c.lambda_)
        adv = ret.pg_advantages
        learn, shown = data["learn_mask"], data["policy_mask"]
        # the policy learns from the agent's own steps only; the value (and the memory behind
        # both) also from a demonstrator's, whose V-trace weights are already off-policy
        mask = learn if shown is None else (shown if learn is None else learn * shown)

        def masked_mean(x: Tensor, m: Tensor | None) -> Tensor:
            return x.mean() if m is None else (x * m).sum() / m.sum().clamp(min=1.0)

        def mean(x: Tensor) -> Tensor:
            """Mean over the steps the policy may learn from (all, without a mask)."""
            return masked_mean(x, mask)

        if c.return_norm:
            lo, hi = torch.quantile(ret.vs.flatten().float(), torch.tensor([0.05, 0.95]))
            spread = float(hi - lo)
            d = c.return_norm_decay
            self.return_scale = d * self.return_scale + (1 - d) * spread
            adv = adv / max(1.0, self.return_scale)
        if c.advantage_norm == "batch":
            centred = adv - mean(adv)
            adv = centred / (mean(centred.pow(2)).sqrt() + 1e-8) if mask is not None \
                else centred / (adv.std() + 1e-8)
        if c.popart:
            adv = adv / value_head.sigma
            norm_targets = (ret.vs - value_head.mu) / value_head.sigma
            value_loss = 0.5 * masked_mean((norm_targets - norm_values[:T]).pow(2), learn)
        else:
            value_loss = 0.5 * masked_mean((ret.vs - values[:T]).pow(2), learn)
        policy_loss = -mean(target_logp * adv)
        probs = logp_all.exp()
        entropy = mean(-(probs * logp_all).sum(-1))
        _, entropy_cost = self.schedule()
        total = policy_loss + c.baseline_cost * value_loss - entropy_cost * entropy
        kick_metrics: dict[str, float] = {}
        if c.kickstart.enabled:
            total, kick_metrics = self._kickstart(total, logits[:T], data["teacher_logits"],
                                                  learn)
        metrics = {
            "loss/total": total.item(), "loss/policy": policy_loss.item(),
            "loss/value": value_loss.item(), "policy/entropy": entropy.item(),
            "policy/entropy_cost": entropy_cost,
            "vtrace/rho_mean": float(ret.log_rhos.exp().mean()),
            "vtrace/vs_mean": ret.vs.mean().item(), "value/mean": values[:T].mean().item(),
            "advantage/std": float(ret.pg_advantages.std()),
            "return_scale": self.return_scale,
            "demo/fraction": 0.0 if shown is None else float(1.0 - shown.mean()),
            "value/popart_mu": value_head.mu.item(), "value/popart_sigma": value_head.sigma.item(),
            **kick_metrics,
        }
        return total, metrics, ret.vs

    def kickstart_weight(self) -> float:
        """The kickstarting loss weight for the next update (its schedule is in frames)."""
        return self.config.kickstart.weight_at(self.frames)

    def teacher_needed(self) -> bool:
        """Whether any later update has a kickstarting weight above 0 (the schedule only falls
        after `hold_frames`): once not, the actors need not ask the teacher any more."""
        ks = self.config.kickstart
        return ks.enabled and ks.weight > 0 and self.frames < ks.hold_frames + ks.anneal_frames

    def _kickstart(self, total: Tensor, logits: Tensor, teacher_logits: Tensor | None,
                   learn: Tensor | None) -> tuple[Tensor, dict[str, float]]:
        """`total` plus the weighted KL to the teacher; at weight 0 only logged, so the update
        is exactly the one without a teacher."""
        weight = self.kickstart_weight()
        if teacher_logits is None:
            if weight > 0:
                raise ValueError("algo.kickstart: the kickstarting weight is "
                                 f"{weight:g} but the trajectory carries no teacher logits "
                                 "(the actors were built or asked without the teacher)")
            return total, {"kickstart/weight": 0.0}
        if weight > 0:
            kl, agree = kickstart_terms(logits, teacher_logits, learn)
            total = total + weight * kl
        else:
            with torch.no_grad():
                kl, agree = kickstart_terms(logits, teacher_logits, learn)
        return total, {"kickstart/loss": kl.item(), "kickstart/weight": weight,
                       "kickstart/agreement": agree.item()}

    def step(self, traj: Trajectory) -> dict[str, float]:
        """One update on one batch; returns scalar metrics (losses, lag, timing)."""
        t0 = time.perf_counter()
        lr, _ = self.schedule()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        total, metrics, targets = self.loss(traj)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if self.config.max_grad_norm > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(self.agent.parameters(),
                                                       self.config.max_grad_norm)
        else:
            grad_norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in self.agent.parameters()
                                       if p.grad is not None))
        self.optimizer.step()
        if self.config.popart:
            # Debiased start: the first updates set the moments directly, not 1% of the way.
            step = max(self.config.popart_step, 1.0 / (self.updates + 1))
            self.agent.value.update_stats(targets, step)
        metrics["policy_lag"] = float(self.updates - traj.policy_version)
        self.updates += 1
        self.frames += traj.frames
        metrics.update({"grad_norm": float(grad_norm), "learning_rate": lr,
                        "learner_s": time.perf_counter() - t0})
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {"agent": self.agent.state_dict(), "optimizer": self.optimizer.state_dict(),
                "updates": self.updates, "frames": self.frames,
                "return_scale": self.return_scale, "config": dataclasses.asdict(self.config)}

    def load_state_dict(self, state: dict[str, Any], where: str = "learner") -> None:
        """Restores what `state_dict` saved. A tensor missing or of the wrong shape, or an
        optimiser state for other parameters, raises `CheckpointError` starting with `where`
        (the trainer passes "checkpoint <file>: learner") and naming the field. Everything is
        checked before anything is changed, so a bad checkpoint cannot leave a half-restored
        learner behind."""
        missing = [k for k in ("agent", "optimizer", "updates", "frames", "return_scale")
                   if k not in state]
        if missing:
            raise CheckpointError(f"{where}: missing field(s) {missing}")
        try:
            counters = (int(state["updates"]), int(state["frames"]),
                        float(state["return_scale"]))
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{where}: 'updates', 'frames' and 'return_scale' must be "
                                  f"numbers ({err})") from None
        check_weights(self.agent, state["agent"], f"{where}.agent")
        check_optimizer_state(self.optimizer, state["optimizer"], f"{where}.optimizer")
        self.optimizer.load_state_dict(state["optimizer"])
        load_weights(self.agent, state["agent"], f"{where}.agent")
        self.updates, self.frames, self.return_scale = counters


__all__ = ["ADVANTAGE_NORMS", "LEARNER_DTYPES", "Learner", "VTraceConfig"]
