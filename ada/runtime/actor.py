"""The actor: steps a batch of envs with recent weights and emits stored-state unrolls.

An actor owns its env batch, its own copy of the network (so it never sees the learner's
parameters mid-update and can live in another process), the memory cache of every env, and an
RNG for action sampling. Each `unroll()` first refreshes the weights if the source has newer
ones, then acts T steps and returns a `Trajectory` holding the memory cache from before its
first step: the learner replays the unroll from exactly that context (R2D2 stored state).

Actions are sampled by Gumbel-max from a numpy Generator, so an actor's whole state (env state
included, where the env supports it) round-trips through `state_dict` and a resumed run repeats
the same actions.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch

from ada.runtime.env_batch import EnvBatch
from ada.runtime.trajectory import Trajectory, memory_to_numpy
from ada.runtime.weights import WeightSource
from agents.agent import Agent
from agents.gtrxl import Memory


class Actor:
    def __init__(self, env: EnvBatch, agent: Agent, weights: WeightSource, unroll_length: int,
                 seed: int, actor_id: int = 0) -> None:
        if unroll_length < 1:
            raise ValueError(f"unroll_length: {unroll_length} is not allowed; allowed: >= 1")
        self.env = env
        self.agent = agent.eval()
        self.weights = weights
        self.unroll_length = unroll_length
        self.actor_id = actor_id
        self.rng = np.random.default_rng(seed)
        self.version = -1
        self.obs: dict[str, np.ndarray] | None = None
        self.first = np.ones(env.num_envs, dtype=bool)
        self.memory: Memory = agent.initial_memory(env.num_envs, device="cpu")
        self.frames = 0
        self.timing = {"env_s": 0.0, "inference_s": 0.0}

    def sync_weights(self) -> None:
        """Load the newest published weights if they are newer than ours."""
        if self.weights.version() > self.version or self.version < 0:
            version, state = self.weights.latest()
            self.agent.load_state_dict(state)
            self.version = version

    @torch.inference_mode()
    def act(self, obs: dict[str, np.ndarray], first: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One batched policy step: (actions (B,), logits (B, A)); advances the memory."""
        logits, _, self.memory = self.agent.step(obs, self.memory, torch.as_tensor(first))
        logits_np = logits.float().numpy()
        gumbel = -np.log(-np.log(self.rng.random(logits_np.shape) + 1e-20) + 1e-20)
        return np.argmax(logits_np + gumbel, axis=-1), logits_np

    def unroll(self) -> Trajectory:
        self.sync_weights()
        if self.obs is None:
            self.obs = self.env.reset()
            self.first = np.ones(self.env.num_envs, dtype=bool)
        T, B = self.unroll_length, self.env.num_envs
        hidden0, valid0 = memory_to_numpy(self.memory)
        obs_steps = [self.obs]
        firsts = [self.first]
        actions = np.zeros((T, B), np.int64)
        rewards = np.zeros((T, B), np.float32)
        discounts = np.zeros((T, B), np.float32)
        logits_all: list[np.ndarray] = []
        episodes: list[dict[str, Any]] = []
        for t in range(T):
            t0 = time.perf_counter()
            actions[t], logits = self.act(self.obs, self.first)
            t1 = time.perf_counter()
            out = self.env.step(actions[t])
            self.timing["inference_s"] += t1 - t0
            self.timing["env_s"] += time.perf_counter() - t1
            logits_all.append(logits)
            rewards[t], discounts[t] = out.reward, out.discount
            self.obs, self.first = out.obs, np.asarray(out.first, dtype=bool)
            obs_steps.append(self.obs)
            firsts.append(self.first)
            for ep in out.episodes:
                episodes.append({**ep, "actor": self.actor_id, "policy_version": self.version})
        self.frames += T * B
        return Trajectory(
            obs={k: np.stack([o[k] for o in obs_steps]) for k in obs_steps[0]},
            first=np.stack(firsts), actions=actions, rewards=rewards, discounts=discounts,
            behaviour_logits=np.stack(logits_all).astype(np.float32),
            memory_hidden=hidden0, memory_valid=valid0, policy_version=self.version,
            episodes=episodes, actor_id=self.actor_id)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (the env only if it can save itself)."""
        env_state = self.env.state_dict() if hasattr(self.env, "state_dict") else None
        return {"obs": copy.deepcopy(self.obs), "first": self.first.copy(),
                "memory": memory_to_numpy(self.memory), "rng": self.rng.bit_generator.state,
                "frames": self.frames, "env": env_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore; an env without `load_state_dict` restarts its episodes instead (inexact)."""
        if state.get("env") is not None and hasattr(self.env, "load_state_dict"):
            self.env.load_state_dict(state["env"])
            self.obs = copy.deepcopy(state["obs"])
            self.first = np.asarray(state["first"], dtype=bool).copy()
            hidden, valid = state["memory"]
            self.memory = Memory(torch.as_tensor(hidden).clone(), torch.as_tensor(valid).clone())
        else:
            self.obs = None
            self.memory = self.agent.initial_memory(self.env.num_envs, device="cpu")
        self.rng.bit_generator.state = state["rng"]
        self.frames = int(state["frames"])


__all__ = ["Actor"]
