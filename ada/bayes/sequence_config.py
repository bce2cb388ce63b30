"""The sequence checks' config: which source, which agent, how long, and the bar to clear.

`SequenceCheckConfig` is validated on construction (one `ConfigError` naming the field);
`SEQUENCE_CHECKS` are the named checks `python -m ada.bayes_check` and
`tools/run_sequence_checks.py` run (`FAST_SEQUENCE_CHECKS` are their test-sized twins). The
trainer and evaluator are `ada.bayes.sequence_trainer`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ada.validation import ConfigError, choice, fail, integer, known_fields, number
from agents.agent import AgentConfig, agent_config

KINDS = ("stationary", "piecewise")
METRICS = ("excess_per_sequence", "excess_per_step")
UPDATE_MODES = ("segment", "sequence")
START_SLOT = 2
# The bar of each kind and the metric it is stated on.
DEFAULT_BARS: dict[str, tuple[str, float]] = {
    "stationary": ("excess_per_sequence", 0.10),
    "piecewise": ("excess_per_step", 0.005),
}


@dataclass(frozen=True)
class SequenceCheckConfig:
    """One sequence-prediction check: source, agent, optimisation, evaluation and its pass bar.

    kind: "stationary" (one Beta(1, 1) bias per sequence) or "piecewise" (bias redrawn before
        each step with probability `hazard`).
    length: n, symbols per sequence; segment: steps per forward call (the memory cache is carried
        between the length / segment segments of a sequence); length must be a multiple of it.
    hazard: switch probability of the piecewise source, in (0, 1) (ignored when stationary).
    agent: an AgentConfig, or a mapping of overrides of `agent_config("small")`; stored as an
        AgentConfig so that the config stays hashable.
    batch_size: sequences per batch. lr: peak Adam learning rate, reached after `warmup` updates,
        then cosine-decayed to `lr * lr_final`. grad_clip: max global grad norm (0 = off).
    update: "segment" takes an optimiser step after every segment (truncated BPTT, more updates
        per sample), "sequence" accumulates the gradients of all segments of the batch into one.
    max_updates: optimiser steps (the schedule's length); train_seconds: wall-clock budget that
        stops training early (0 = none). At least one of them must bound training.
    seed: initialisation and training data. eval_sequences, eval_seed, eval_batch: evaluation
        set size, its seed, sequences per forward pass.
    metric, bar: the pass criterion, `metric <= bar`; default from the kind.
    """

    kind: str = "stationary"
    length: int = 256
    segment: int = 64
    hazard: float = 0.01
    agent: AgentConfig | Mapping[str, Any] = field(default_factory=dict)
    batch_size: int = 64
    lr: float = 1e-3
    lr_final: float = 0.05
    warmup: int = 20
    grad_clip: float = 1.0
    update: str = "segment"
    max_updates: int = 1000
    train_seconds: float = 900.0
    seed: int = 0
    eval_sequences: int = 8192
    eval_seed: int = 12345
    eval_batch: int = 64
    metric: str | None = None
    bar: float | None = None

    def __post_init__(self) -> None:
        choice("kind", self.kind, KINDS)
        for name, lo in (("length", 1), ("segment", 1), ("batch_size", 1), ("max_updates", 0),
                         ("warmup", 0), ("eval_sequences", 1), ("eval_batch", 1), ("seed", 0),
                         ("eval_seed", 0)):
            integer(name, getattr(self, name), lo=lo)
        if self.length % self.segment:
            raise ConfigError(f"length: {self.length} is not a multiple of "
                              f"segment={self.segment}; allowed are multiples of segment")
        number("hazard", self.hazard, 0.0, 1.0, lo_open=True, hi_open=True)
        number("lr", self.lr, lo=0.0, lo_open=True)
        number("lr_final", self.lr_final, 0.0, 1.0)  # a fraction of lr
        number("grad_clip", self.grad_clip, lo=0.0)  # 0 = no clipping
        number("train_seconds", self.train_seconds, lo=0.0)  # 0 = no time budget
        if self.max_updates == 0 and self.train_seconds == 0:
            raise ConfigError("max_updates: 0 together with train_seconds: 0 leaves training "
                              "unbounded; allowed is max_updates >= 1 or train_seconds > 0")
        choice("update", self.update, UPDATE_MODES)
        if isinstance(self.agent, Mapping):
            known_fields("agent", self.agent, [f.name for f in dataclasses.fields(AgentConfig)])
            object.__setattr__(self, "agent", agent_config("small", **dict(self.agent)))
        elif not isinstance(self.agent, AgentConfig):
            fail("agent", self.agent, "AgentConfigs or mappings of AgentConfig overrides")
        metric, bar = DEFAULT_BARS[self.kind]
        if self.metric is None:
            object.__setattr__(self, "metric", metric)
        if self.bar is None:
            object.__setattr__(self, "bar", bar)
        choice("metric", self.metric, METRICS)
        number("bar", self.bar)

    @property
    def agent_config(self) -> AgentConfig:
        assert isinstance(self.agent, AgentConfig)
        return self.agent

    @property
    def segments(self) -> int:
        return self.length // self.segment

    def replace(self, **changes: Any) -> SequenceCheckConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (the agent config as a dict) for logs and JSON."""
        out = dataclasses.asdict(self)
        out["agent"] = dataclasses.asdict(self.agent_config)
        return out


# Full-strength checks, measured with tools/run_sequence_checks.py on a 2-core CPU, one
# thread (about 0.15 s per update, 8192 evaluation sequences):
#   stationary, seeds 0/1/2: 155/158/134 s of training, excess 0.055/0.034/0.032 nats per
#     sequence (bar 0.10; KT 0.130, window 128 0.150).
#   piecewise, seeds 0/1/2: 225/229/201 s of training, excess 0.0027/0.0029/0.0031 nats per step
#     (bar 0.005; decay 0.9 0.0082, KT 0.109); 1000 updates gave 0.0041 (seed 0).
# A 1-layer, width-64 core is enough: its window holds the whole (stationary) or the relevant
# (piecewise) history, and a small model makes 1000-1500 Adam updates fit in a few minutes.
SEQUENCE_CHECKS: dict[str, SequenceCheckConfig] = {
    # One layer whose window (memory_length 256 >= n - 1) spans the whole sequence: the count
    # of ones since t = 0 must survive the three segment boundaries through the cache.
    "stationary": SequenceCheckConfig(
        kind="stationary", length=256, segment=64,
        agent=dict(width=64, layers=1, heads=4, memory_length=256, mlp_ratio=2,
                   vector_hidden=64, head_hidden=64),
        batch_size=64, lr=2e-3, max_updates=1000, train_seconds=900.0),
    "piecewise": SequenceCheckConfig(
        kind="piecewise", length=512, segment=64, hazard=0.01,
        agent=dict(width=64, layers=1, heads=4, memory_length=256, mlp_ratio=2,
                   vector_hidden=64, head_hidden=64),
        batch_size=64, lr=2e-3, max_updates=1500, train_seconds=900.0),
}

# Small, fast versions for the tests (about a minute of training each).
FAST_SEQUENCE_CHECKS: dict[str, SequenceCheckConfig] = {
    "stationary": SEQUENCE_CHECKS["stationary"].replace(
        length=128, segment=32,
        agent=dict(width=32, layers=1, heads=2, memory_length=128, mlp_ratio=2,
                   vector_hidden=32, head_hidden=32),
        batch_size=32, max_updates=600, train_seconds=120.0, eval_sequences=2048),
    "piecewise": SEQUENCE_CHECKS["piecewise"].replace(
        length=256, segment=64,
        agent=dict(width=32, layers=1, heads=2, memory_length=128, mlp_ratio=2,
                   vector_hidden=32, head_hidden=32),
        batch_size=32, max_updates=900, train_seconds=120.0, eval_sequences=2048),
}


__all__ = ["DEFAULT_BARS", "FAST_SEQUENCE_CHECKS", "KINDS", "METRICS", "SEQUENCE_CHECKS",
           "START_SLOT", "UPDATE_MODES", "SequenceCheckConfig"]
