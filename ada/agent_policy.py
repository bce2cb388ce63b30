"""The learned agent as a `Policy`: `Agent.step` behind the one acting interface.

The state is the agent's Transformer-XL memory cache. It is reset where `first` is True (the
first step of an episode, not of a trial), explicitly here as well as by the agent's own
episode mask, so that nothing from an earlier episode can reach a later one even if the mask
were wrong; inside an episode it is carried across trials, which is what lets the agent adapt.
Actions come from `ada.acting.sample_actions` (argmax with `greedy`). The training actors,
held-out evaluation, the lever and bandit evaluations and the video tool all act through this
class; `last_logits` / `last_values` keep the outputs of the latest call, for inspection.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from ada.acting import PolicyStep, Rngs, SingleEnvActing, sample_actions
from agents.agent import Agent
from agents.gtrxl import Memory


def reset_memory_rows(memory: Memory, rows: np.ndarray) -> Memory:
    """`memory` with the envs in boolean `rows` set to the empty cache (zeros, all invalid,
    which is what `initial_memory` holds); a new value, the input is not modified."""
    keep = torch.as_tensor(~np.asarray(rows, dtype=bool), device=memory.valid.device)
    hidden = memory.hidden * keep.to(memory.hidden.dtype)[None, None, :, None]
    return Memory(hidden, memory.valid & keep[None, :])


class AgentPolicy(SingleEnvActing):
    """An `Agent` acting on batches of observations (see the module docstring)."""

    def __init__(self, agent: Agent, greedy: bool = False) -> None:
        self.agent = agent.eval()
        self.agent.encoder.memoise_tokens()  # goal and rules repeat for a whole episode
        self.greedy = bool(greedy)
        self.device = next(agent.parameters()).device
        self.last_logits: np.ndarray | None = None
        self.last_values: np.ndarray | None = None

    def initial_state(self, batch_size: int) -> Memory:
        return self.agent.initial_memory(batch_size, device=self.device)

    @torch.inference_mode()
    def step(self, obs: Mapping[str, np.ndarray], state: Memory | None, first: np.ndarray,
             rngs: Rngs) -> PolicyStep:
        """(B, ...) observations, the memory and (B,) first flags -> actions, new memory,
        logits (float32, as the learner recomputes them) and values."""
        first = np.asarray(first, dtype=bool)
        if state is None:
            state = self.initial_state(len(first))
        if first.any():
            state = reset_memory_rows(state, first)
        tensors = {k: torch.as_tensor(np.asarray(obs[k]), device=self.device)
                   for k in self.agent.obs_keys}
        logits, values, state = self.agent.step(tensors, state,
                                                torch.as_tensor(first, device=self.device))
        logits_np = logits.float().cpu().numpy()
        values_np = values.float().cpu().numpy()
        self.last_logits, self.last_values = logits_np, values_np
        return PolicyStep(sample_actions(logits_np, rngs, self.greedy), state, logits_np,
                          values_np)


__all__ = ["AgentPolicy", "reset_memory_rows"]
