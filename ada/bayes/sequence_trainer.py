"""Log-loss training of the Transformer-XL agent on binary sequences, checked against exact Bayes.

Why this exists. Sequence prediction is the cheapest world in which a memory-based meta-learner
can be compared with the exact Bayes-optimal predictor (Genewein et al. 2023, "Memory-based
meta-learning on non-stationary distributions"): the prior over sequences is known, its
posterior predictive is computable (`ada.bayes.sequence`), so the gap of the trained agent to Bayes
is measured directly instead of being guessed from reward curves. The checks exercise exactly
the parts of the agent the 3D world depends on: the encoder chosen from a dm_env spec, the
GTrXL memory cache carried across segments, and episode masking.

Agent as predictor. The agent is the project's `agents.Agent`, unchanged. Its action spec is
`DiscreteArray(2)`: the policy logits are the logits of the next symbol (the value head is
unused). The observation at step t is

- `prev_symbol` (3,): one-hot of x_{t-1} in slots 0/1, or slot 2 ("start") at t = 0. A third
  slot rather than a zero vector because attention averages its inputs: averaged over a window
  that reaches back to the start, the start slot equals 1 / (steps seen), so the counts of ones
  and zeros, and hence Laplace's (k + 1) / (t + 2), are recoverable from one uniform-attention
  head. A zero vector would leave the count of steps to positional encodings alone.
- `step` (1,): t / n, the same normalised clock the bandit world gives (t / H). The time carries
  no information about the bias; it tells the agent how far back the sequence begins once the
  start has left its attention window.

Training. Every batch is a fresh draw from the source (the data is infinite, there is no
overfitting to guard against). A batch of length-n sequences is processed segment by segment,
`segment` steps at a time, exactly as evaluation and acting do: the memory cache returned by one
segment is passed (detached: truncated backprop within a segment, as in Transformer-XL) to the
next, and `first` is True only at t = 0 of each sequence. The loss is the mean log loss in nats;
Adam with a linear warmup and a cosine decay to a fraction of the learning rate. The schedule
runs on the larger of update progress and wall-clock progress, so a run cut short by its time
budget still ends with an annealed learning rate (annealing is what makes the last few hundredths
of a nat).

Evaluation. `eval_sequences` fresh sequences (default 8192, seed `eval_seed`, independent of the
training seed) are scored by the agent and by the Bayes-optimal predictor (Laplace for the
stationary Beta(1, 1) source, the exact changepoint predictor for the piecewise source) on the
same sequences, so the excess is a paired difference with a small standard error. Reference
predictors (KT, Laplace, decay 0.9, window 128) are scored on the same sequences. With
`carry_memory=False` the cache is reset at every segment boundary: a control that shows how much
of the agent's performance comes from the carried memory.

Pass bars: stationary Beta(1, 1), n = 256 in 4 segments of 64: excess over Laplace at
most 0.10 nats per sequence (a predictor that sees only the last 128 symbols loses 0.146).
Piecewise, h = 0.01, n = 512 in segments of 64, memory >= 256: excess over the changepoint
predictor at most 0.005 nats per step (decay 0.9 is 0.008 above, KT 0.109 above).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from dm_env import specs
from torch import Tensor

from ada.bayes.sequence import (
    changepoint_predictor,
    decay_predictor,
    kt,
    laplace,
    log_loss,
    sample_sequences,
    window_predictor,
)
from ada.bayes.sequence_config import (
    FAST_SEQUENCE_CHECKS,
    SEQUENCE_CHECKS,
    START_SLOT,
    SequenceCheckConfig,
)
from agents.agent import Agent, AgentConfig, count_parameters

__all__ = [
    "FAST_SEQUENCE_CHECKS",
    "SEQUENCE_CHECKS",
    "SequenceCheckConfig",
    "evaluate_sequence_predictor",
    "make_observations",
    "observation_spec",
    "run_sequence_check",
    "sequence_agent",
    "train_sequence_predictor",
]

# --------------------------------------------------------------------------------------------
# Agent and observations


def observation_spec() -> dict[str, specs.BoundedArray]:
    """The predictor's observation spec (see the module docstring for why these two keys)."""
    return {
        "prev_symbol": specs.BoundedArray((3,), np.float32, 0.0, 1.0, name="prev_symbol"),
        "step": specs.BoundedArray((1,), np.float32, 0.0, 1.0, name="step"),
    }


def action_spec() -> specs.DiscreteArray:
    """Two "actions": the logits over the next symbol."""
    return specs.DiscreteArray(2, dtype=np.int32, name="next_symbol")


def sequence_agent(cfg: SequenceCheckConfig | AgentConfig) -> Agent:
    """A fresh agent for the predictor specs (seed torch before calling for reproducibility)."""
    config = cfg.agent_config if isinstance(cfg, SequenceCheckConfig) else cfg
    return Agent(observation_spec(), action_spec(), config)


def make_observations(seqs: np.ndarray | Tensor) -> tuple[dict[str, Tensor], Tensor, Tensor]:
    """(B, n) 0/1 sequences -> time-major observations {prev_symbol (n, B, 3), step (n, B, 1)},
    `first` (n, B) bool (True at t = 0 only) and targets (n, B) long (x_t, predicted at t)."""
    x = torch.as_tensor(np.asarray(seqs), dtype=torch.long).T.contiguous()  # (n, B)
    n, B = x.shape
    prev = torch.full((n, B), START_SLOT, dtype=torch.long)
    prev[1:] = x[:-1]
    obs = {
        "prev_symbol": torch.nn.functional.one_hot(prev, 3).float(),
        "step": (torch.arange(n, dtype=torch.float32) / n)[:, None, None].expand(n, B, 1),
    }
    first = torch.zeros(n, B, dtype=torch.bool)
    first[0] = True
    return obs, first, x


def _sample(cfg: SequenceCheckConfig, n_seqs: int, rng: np.random.Generator) -> np.ndarray:
    out = sample_sequences(cfg.kind, n_seqs, cfg.length, rng, h=cfg.hazard)  # type: ignore[arg-type]
    assert isinstance(out, np.ndarray)
    return out


def _segment_slices(cfg: SequenceCheckConfig) -> list[slice]:
    return [slice(s, s + cfg.segment) for s in range(0, cfg.length, cfg.segment)]


def _lr_factor(cfg: SequenceCheckConfig, progress: float, update: int) -> float:
    """Linear warmup over `warmup` updates, then cosine from 1 to `lr_final` over progress."""
    warm = min(1.0, (update + 1) / cfg.warmup) if cfg.warmup else 1.0
    cosine = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return warm * (cfg.lr_final + (1.0 - cfg.lr_final) * cosine)


# --------------------------------------------------------------------------------------------
# Training


def train_sequence_predictor(
    cfg: SequenceCheckConfig, log: Callable[[int, dict], None] | None = None,
    log_every: int = 50,
) -> tuple[Agent, dict[str, Any]]:
    """Train a fresh agent by log loss on fresh batches of `cfg`'s source, segment by segment
    with the memory carried (see the module docstring).

    Stops after `cfg.max_updates` optimiser steps or `cfg.train_seconds` of wall clock, whichever
    comes first. `log(update, stats)` is called every `log_every` updates with the mean loss
    (nats per step) since the last call, the learning rate and the elapsed seconds. Returns the
    agent (in eval mode) and a history with `updates`, `wall_seconds`, `sequences`, `batches`,
    `losses` ((update, mean loss) every `log_every` updates) and `parameters`.
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng([cfg.seed, 0x5E0])
    agent = sequence_agent(cfg)
    agent.train()
    params = [p for p in agent.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=cfg.lr)
    slices = _segment_slices(cfg)
    history: dict[str, Any] = {"losses": [], "parameters": count_parameters(agent)}
    start = time.perf_counter()
    update, sequences, batches = 0, 0, 0
    running, running_n = 0.0, 0

    def elapsed() -> float:
        return time.perf_counter() - start

    def progress() -> float:
        fractions = []
        if cfg.max_updates:
            fractions.append(update / cfg.max_updates)
        if cfg.train_seconds:
            fractions.append(elapsed() / cfg.train_seconds)
        return max(fractions)

    def step() -> None:
        nonlocal update, running, running_n
        for group in optimiser.param_groups:
            group["lr"] = cfg.lr * _lr_factor(cfg, progress(), update)
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimiser.step()
        optimiser.zero_grad(set_to_none=True)
        update += 1
        if update % log_every == 0:
            stats = {"loss": running / max(running_n, 1),
                     "lr": optimiser.param_groups[0]["lr"], "seconds": elapsed()}
            history["losses"].append((update, stats["loss"]))
            if log is not None:
                log(update, stats)
            running, running_n = 0.0, 0

    while progress() < 1.0:
        obs, first, target = make_observations(_sample(cfg, cfg.batch_size, rng))
        memory = agent.initial_memory(cfg.batch_size)
        for i, sl in enumerate(slices):
            seg_obs = {k: v[sl] for k, v in obs.items()}
            logits, _, memory = agent(seg_obs, memory, first[sl])
            memory = memory.detach()
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 2),
                                                     target[sl].reshape(-1))
            running += float(loss.detach())
            running_n += 1
            if cfg.update == "segment":
                loss.backward()
                step()
                if progress() >= 1.0:
                    break
            else:
                (loss / len(slices)).backward()
                if i == len(slices) - 1:
                    step()
        sequences += cfg.batch_size
        batches += 1
    agent.eval()
    history.update(updates=update, wall_seconds=elapsed(), sequences=sequences, batches=batches)
    return agent, history


# --------------------------------------------------------------------------------------------
# Evaluation


@torch.no_grad()
def agent_log_loss(agent: Agent, seqs: np.ndarray, segment: int, carry_memory: bool = True,
                   batch: int = 1024) -> np.ndarray:
    """Per-step log loss (nats, float64, shape (B, n)) of the agent's predictions on `seqs`,
    computed `segment` steps at a time with the memory carried (or reset when not
    `carry_memory`) between segments."""
    was_training = agent.training
    agent.eval()
    B, n = seqs.shape
    out = np.empty((B, n))
    for lo in range(0, B, batch):
        obs, first, target = make_observations(seqs[lo:lo + batch])
        nb = target.shape[1]
        memory = agent.initial_memory(nb)
        for s in range(0, n, segment):
            sl = slice(s, s + segment)
            if not carry_memory:
                memory = agent.initial_memory(nb)
            logits, _, memory = agent({k: v[sl] for k, v in obs.items()}, memory, first[sl])
            logp = torch.log_softmax(logits.double(), dim=-1)
            nll = -logp.gather(-1, target[sl][..., None]).squeeze(-1)  # (T, nb)
            out[lo:lo + nb, sl] = nll.T.numpy()
    agent.train(was_training)
    return out


def bayes_predictor(cfg: SequenceCheckConfig, seqs: np.ndarray) -> np.ndarray:
    """The exact Bayes-optimal P(x_t = 1 | x_<t) for `cfg`'s source."""
    if cfg.kind == "stationary":
        return laplace(seqs)
    return changepoint_predictor(seqs, cfg.hazard)


REFERENCES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "kt": kt,
    "laplace": laplace,
    "decay_0.9": lambda s: decay_predictor(s, 0.9),
    "window_128": lambda s: window_predictor(s, 128),
}


def _paired(per_seq: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of a per-sequence quantity."""
    return float(per_seq.mean()), float(per_seq.std(ddof=1) / math.sqrt(len(per_seq)))


def evaluate_sequence_predictor(
    agent: Agent, cfg: SequenceCheckConfig, n_sequences: int | None = None,
    seed: int | None = None, carry_memory: bool = True,
    seqs: np.ndarray | None = None,
) -> dict[str, Any]:
    """Score the agent, the Bayes-optimal predictor and the references on the same fresh
    sequences (paired, so the excess has a small standard error).

    Returns nats: `agent_loss`, `bayes_loss` (per sequence), `excess_per_sequence` (+ `_se`),
    `excess_per_step` (+ `_se`) of the agent over Bayes, `agent_loss_per_step`,
    `bayes_loss_per_step`, and `references[name]` = {loss_per_step, excess_per_sequence,
    excess_per_step}. `seqs` overrides sampling (e.g. to score several agents on one set).
    """
    if seqs is None:
        n = cfg.eval_sequences if n_sequences is None else n_sequences
        rng = np.random.default_rng([cfg.eval_seed if seed is None else seed, 0xE7A1])
        seqs = _sample(cfg, n, rng)
    seqs = np.asarray(seqs)
    n_steps = seqs.shape[1]
    start = time.perf_counter()
    agent_steps = agent_log_loss(agent, seqs, cfg.segment, carry_memory, cfg.eval_batch)
    agent_seconds = time.perf_counter() - start
    agent_seq = agent_steps.sum(axis=1)
    bayes_seq = np.asarray(log_loss(bayes_predictor(cfg, seqs), seqs, "sequence"))
    excess, excess_se = _paired(agent_seq - bayes_seq)
    result: dict[str, Any] = {
        "sequences": int(seqs.shape[0]),
        "length": int(n_steps),
        "carry_memory": carry_memory,
        "agent_loss": float(agent_seq.mean()),
        "bayes_loss": float(bayes_seq.mean()),
        "agent_loss_per_step": float(agent_seq.mean() / n_steps),
        "bayes_loss_per_step": float(bayes_seq.mean() / n_steps),
        "excess_per_sequence": excess,
        "excess_per_sequence_se": excess_se,
        "excess_per_step": excess / n_steps,
        "excess_per_step_se": excess_se / n_steps,
        "agent_eval_seconds": agent_seconds,
        "references": {},
    }
    for name, predictor in REFERENCES.items():
        ref_seq = np.asarray(log_loss(predictor(seqs), seqs, "sequence"))
        ref_excess, ref_se = _paired(ref_seq - bayes_seq)
        result["references"][name] = {
            "loss_per_step": float(ref_seq.mean() / n_steps),
            "excess_per_sequence": ref_excess,
            "excess_per_sequence_se": ref_se,
            "excess_per_step": ref_excess / n_steps,
        }
    return result


# --------------------------------------------------------------------------------------------
# A whole check


def run_sequence_check(
    name_or_cfg: str | SequenceCheckConfig, seed: int | None = None,
    log: Callable[[int, dict], None] | None = None,
) -> dict[str, Any]:
    """Train (seed `seed`, default the config's) and evaluate one check; apply its pass bar.

    `name_or_cfg` is a key of SEQUENCE_CHECKS or a config. The result holds the evaluation (see
    `evaluate_sequence_predictor`), `train` (updates, wall seconds, ...), `metric`, `value` (the
    metric's measured value), `bar`, `passed` (value <= bar; training cannot exceed the config's
    `train_seconds`, which stops it) and `config` (plain values).
    """
    if isinstance(name_or_cfg, str):
        if name_or_cfg not in SEQUENCE_CHECKS:
            raise ValueError(f"check: {name_or_cfg!r} is not one of {sorted(SEQUENCE_CHECKS)}")
        cfg = SEQUENCE_CHECKS[name_or_cfg]
    elif isinstance(name_or_cfg, SequenceCheckConfig):
        cfg = name_or_cfg
    else:
        raise ValueError(f"name_or_cfg: {name_or_cfg!r} is not a check name or a "
                         "SequenceCheckConfig")
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    agent, history = train_sequence_predictor(cfg, log)
    result = evaluate_sequence_predictor(agent, cfg)
    value = float(result[cfg.metric])
    result.update(
        name=name_or_cfg if isinstance(name_or_cfg, str) else cfg.kind,
        seed=cfg.seed,
        train={k: v for k, v in history.items() if k != "losses"},
        metric=cfg.metric,
        value=value,
        bar=cfg.bar,
        passed=bool(value <= cfg.bar),
        config=cfg.to_dict(),
    )
    return result
