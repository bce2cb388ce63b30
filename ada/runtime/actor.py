"""The actor: steps a batch of envs with recent weights and emits stored-state unrolls.

An actor owns its env batch, its own copy of the network (so it never sees the learner's
parameters mid-update and can live in another process), the memory cache of every env, and an
RNG for action sampling. Each `unroll()` first refreshes the weights if the source has newer
ones, then acts T steps and returns a `Trajectory` holding the memory cache from before its
first step: the learner replays the unroll from exactly that context (R2D2 stored state).

For curricula, the actor also keeps each env's per-step value predictions and rewards and
attaches them to the episode's statistics when it ends (PLR scores tasks by them), and, given a
`grad_allowed(task_id)` callback, writes a learn mask that is 0 on a curriculum's
evaluation-only episodes (decided once per episode, at its first step).

It acts through the one acting path (`ada.acting.Rollout` with an `AgentPolicy`); actions are
sampled by Gumbel-max from one numpy Generator, so an actor's whole state (env state included,
where the env supports it) round-trips through `state_dict` and a resumed run repeats the same
actions.

With `demo_prob` > 0 and a `demonstrator`, each episode is, with that probability (drawn at its
first step from a Generator of its own, so the action stream is the same as without), a
prompted one (`ada.prompting`): the demonstrator acts in trial 1 while the agent's memory takes
it in. Those steps carry `policy_mask` 0 (the learner trains value and memory on them, not the
policy: they are not the agent's actions) and behaviour logits that put all mass on the
demonstrated action (the demonstrator is deterministic), so V-trace weighs them off-policy.
The episode's record counts those steps (`demo_steps`), so curricula score the agent on its own
trials only (`curriculum.EpisodeStats.from_episode`) and the logs keep prompted episodes apart.

With a kickstarting `teacher` (`ada.learning.kickstart`), the actor also asks the teacher at
every step, on the same observations and before the env moves (the expert reads the true
state), and ships its logits (the expert's choice as one-hot logits) in `teacher_logits`. The
teacher keeps its own state (a checkpoint teacher's memory) and samples from its own Generator,
so the agent's action stream is the same with and without it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ada.acting import Policy, PrivilegedPolicy, Rollout
from ada.agent_policy import AgentPolicy
from ada.learning.kickstart import one_hot_logits
from ada.prompting import PromptedPolicy, prompted
from ada.runtime.trajectory import Trajectory, memory_to_numpy
from ada.runtime.weights import WeightSource
from agents.agent import Agent
from agents.gtrxl import Memory
from worlds.env_batch import EnvBatch, EpisodeRecord

DEMO_LOGIT_FLOOR = -1e9  # behaviour logit of the actions a demonstrator did not take


class Actor:
    def __init__(self, env: EnvBatch, agent: Agent, weights: WeightSource, unroll_length: int,
                 seed: int, actor_id: int = 0,
                 grad_allowed: Callable[[str], bool] | None = None,
                 demo_prob: float = 0.0, demonstrator: Policy | None = None,
                 teacher: Policy | None = None) -> None:
        if unroll_length < 1:
            raise ValueError(f"unroll_length: {unroll_length} is not allowed; allowed: >= 1")
        if not 0.0 <= demo_prob <= 1.0 or (demo_prob > 0 and demonstrator is None):
            raise ValueError(f"demo_prob: {demo_prob!r} needs a value in [0, 1] and, above 0, "
                             "a demonstrator")
        self.env = env
        self.agent = agent.eval()
        self.weights = weights
        self.unroll_length = unroll_length
        self.actor_id = actor_id
        self.rng = np.random.default_rng(seed)
        self.version = -1
        self.demo_prob = float(demo_prob)
        self._prompted: PromptedPolicy | None = None
        policy: Policy = AgentPolicy(self.agent)
        if self.demo_prob > 0:
            assert demonstrator is not None
            self._prompted = prompted(policy, demonstrator)
            self._prompted.active = np.zeros(env.num_envs, bool)
            policy = self._prompted
        self.demo_rng = np.random.default_rng([seed, 1])
        self.rollout = Rollout(env, policy, self.rng)
        self.teacher = teacher
        self.teacher_rng = np.random.default_rng([seed, 2])
        self._teacher_state: Any = None
        self.teacher_on = True  # False: the teacher is not asked (no teacher_logits)
        if teacher is not None:
            if isinstance(teacher, PrivilegedPolicy):
                teacher.attach(getattr(env, "envs", ()))
            self._teacher_state = teacher.initial_state(env.num_envs)
        self.num_actions = int(env.action_spec().num_values)
        self.frames = 0
        self.timing = {"env_s": 0.0, "inference_s": 0.0}
        if teacher is not None:
            self.timing["teacher_s"] = 0.0
        self.grad_allowed = grad_allowed
        self._learn = np.ones(env.num_envs, np.float32)
        # per-env episode so far: values and rewards, (B, capacity), grown by doubling
        self._ep_values = np.zeros((env.num_envs, 64), np.float32)
        self._ep_rewards = np.zeros((env.num_envs, 64), np.float32)
        self._ep_len = np.zeros(env.num_envs, np.int64)
        self._ep_demo = np.zeros(env.num_envs, np.int64)  # steps a demonstrator played

    @property
    def memory(self) -> Memory:
        """The memory cache of every env (the rollout's policy state)."""
        state = self.rollout.state
        return state[0] if self._prompted is not None else state

    def _set_memory(self, memory: Memory) -> None:
        ro = self.rollout
        ro.state = (memory, ro.state[1]) if self._prompted is not None else memory

    def sync_weights(self) -> None:
        """Load the newest published weights if they are newer than ours."""
        if self.weights.version() > self.version or self.version < 0:
            version, state = self.weights.latest()
            self.agent.load_state_dict(state)
            self.version = version

    def _episode_starts(self, first: np.ndarray) -> None:
        """Per-episode bookkeeping at the first step of new episodes."""
        self._ep_len[first] = 0
        self._ep_demo[first] = 0
        if self._prompted is not None and first.any():
            active = self._prompted.active
            assert active is not None
            active[first] = self.demo_rng.random(int(first.sum())) < self.demo_prob
        if self.grad_allowed is None or not first.any():
            return
        ids = self.env.current_task_ids()  # type: ignore[attr-defined]
        for i in np.flatnonzero(first):
            self._learn[i] = float(self.grad_allowed(ids[i]))

    def _record(self, values: np.ndarray, rewards: np.ndarray) -> None:
        """Appends one step's values and rewards to every env's running episode."""
        if self._ep_len.max() >= self._ep_values.shape[1]:
            grow = np.zeros_like(self._ep_values)
            self._ep_values = np.concatenate([self._ep_values, grow], axis=1)
            self._ep_rewards = np.concatenate([self._ep_rewards, grow], axis=1)
        rows = np.arange(len(values))
        self._ep_values[rows, self._ep_len] = values
        self._ep_rewards[rows, self._ep_len] = rewards
        self._ep_len += 1

    def unroll(self) -> Trajectory:
        self.sync_weights()
        ro = self.rollout
        if ro.obs is None:
            ro.reset()
            if self.teacher is not None:
                self._teacher_state = self.teacher.initial_state(self.env.num_envs)
        T, B = self.unroll_length, self.env.num_envs
        hidden0, valid0 = memory_to_numpy(self.memory)
        obs_steps = [ro.obs]
        firsts = [ro.first]
        actions = np.zeros((T, B), np.int64)
        rewards = np.zeros((T, B), np.float32)
        discounts = np.zeros((T, B), np.float32)
        learn = np.ones((T, B), np.float32)
        own = np.ones((T, B), np.float32)
        logits_all: list[np.ndarray] = []
        teacher_all: list[np.ndarray] = []
        episodes: list[EpisodeRecord] = []
        for t in range(T):
            self._episode_starts(ro.first)
            learn[t] = self._learn
            if self.teacher is not None and self.teacher_on:
                teacher_all.append(self._ask_teacher())
            t0 = time.perf_counter()
            tr = ro.step()
            self.timing["inference_s"] += tr.decision_s
            self.timing["env_s"] += time.perf_counter() - t0 - tr.decision_s
            out, decision = tr.out, tr.decision
            assert decision.logits is not None and decision.values is not None
            actions[t] = decision.actions
            logits = decision.logits
            shown = getattr(decision, "demo", None)
            if shown is not None and shown.any():
                own[t] = ~shown
                self._ep_demo[shown] += 1
                logits = logits.copy()  # the demonstrator's choice, with certainty
                logits[shown] = np.where(
                    np.arange(logits.shape[1])[None] == decision.actions[shown][:, None],
                    0.0, DEMO_LOGIT_FLOOR)
            logits_all.append(logits)
            rewards[t], discounts[t] = out.reward, out.discount
            self._record(decision.values, rewards[t])
            obs_steps.append(ro.obs)
            firsts.append(ro.first)
            for ep in out.episodes:
                n = int(self._ep_len[ep.env])
                episodes.append(ep.with_actor(
                    self.actor_id, self.version, bool(self._learn[ep.env]),
                    self._ep_values[ep.env, :n].copy(), self._ep_rewards[ep.env, :n].copy(),
                    int(self._ep_demo[ep.env])))
        self.frames += T * B
        return Trajectory(
            obs={k: np.stack([o[k] for o in obs_steps]) for k in obs_steps[0]},
            first=np.stack(firsts), actions=actions, rewards=rewards, discounts=discounts,
            behaviour_logits=np.stack(logits_all).astype(np.float32),
            memory_hidden=hidden0, memory_valid=valid0, policy_version=self.version,
            episodes=episodes, actor_id=self.actor_id,
            learn_mask=None if self.grad_allowed is None else learn,
            policy_mask=None if self._prompted is None else own,
            teacher_logits=np.stack(teacher_all).astype(np.float32) if teacher_all else None)

    def _ask_teacher(self) -> np.ndarray:
        """The teacher's (B, A) logits on the current observations, before the env moves."""
        assert self.teacher is not None
        ro = self.rollout
        t0 = time.perf_counter()
        step = self.teacher.step(ro.obs, self._teacher_state, ro.first, self.teacher_rng)
        self._teacher_state = step.state
        self.timing["teacher_s"] += time.perf_counter() - t0
        if step.logits is not None:
            return np.asarray(step.logits, np.float32)
        return one_hot_logits(step.actions, self.num_actions)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (the env only if it can save itself)."""
        ro = self.rollout
        env_state = self.env.state_dict() if hasattr(self.env, "state_dict") else None
        demo = None if self._prompted is None else (self._prompted.active.copy(),
                                                     self.demo_rng.bit_generator.state)
        return {"obs": copy.deepcopy(ro.obs), "first": ro.first.copy(), "demo": demo,
                "memory": memory_to_numpy(self.memory), "rng": self.rng.bit_generator.state,
                "frames": self.frames, "env": env_state, "learn": self._learn.copy(),
                "ep_values": self._ep_values.copy(), "ep_rewards": self._ep_rewards.copy(),
                "ep_len": self._ep_len.copy(), "ep_demo": self._ep_demo.copy(),
                "teacher_memory": (memory_to_numpy(self._teacher_state)
                                   if isinstance(self._teacher_state, Memory) else None)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore; an env without `load_state_dict` restarts its episodes instead (inexact)."""
        ro = self.rollout
        if state.get("env") is not None and hasattr(self.env, "load_state_dict"):
            self.env.load_state_dict(state["env"])
            ro.obs = copy.deepcopy(state["obs"])
            ro.first = np.asarray(state["first"], dtype=bool).copy()
            hidden, valid = state["memory"]
            self._set_memory(Memory(torch.as_tensor(hidden).clone(),
                                    torch.as_tensor(valid).clone()))
            if "learn" in state:
                self._learn = np.asarray(state["learn"], np.float32).copy()
                self._ep_values = np.asarray(state["ep_values"], np.float32).copy()
                self._ep_rewards = np.asarray(state["ep_rewards"], np.float32).copy()
                self._ep_len = np.asarray(state["ep_len"], np.int64).copy()
                self._ep_demo = np.asarray(state.get("ep_demo", np.zeros_like(self._ep_len)),
                                           np.int64).copy()
            if state.get("teacher_memory") is not None and self.teacher is not None:
                hidden, valid = state["teacher_memory"]
                self._teacher_state = Memory(torch.as_tensor(hidden).clone(),
                                             torch.as_tensor(valid).clone())
        else:
            ro.obs = None  # the next unroll resets the envs and the memory
        self.rng.bit_generator.state = state["rng"]
        self.frames = int(state["frames"])
        if self._prompted is not None and state.get("demo") is not None:
            active, rng_state = state["demo"]
            self._prompted.active = np.asarray(active, bool).copy()
            self.demo_rng.bit_generator.state = rng_state


__all__ = ["Actor"]
