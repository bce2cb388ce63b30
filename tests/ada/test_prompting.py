"""ada.prompting: a demonstration reaches the agent's memory, and only the demonstrator acts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ada.agent_policy import AgentPolicy
from ada.eval.jobs import Job, StepInfo, run_jobs
from ada.policies import ExpertPolicy, NoopPolicy, RandomPolicy
from ada.prompting import (
    PrivilegedPromptedPolicy,
    PromptedPolicy,
    ReplayDemonstrator,
    ReplayMismatchError,
    prompted,
)
from agents.agent import Agent, agent_config
from worlds.avatar import NOOP, NUM_ACTIONS
from worlds.env import WorldEnv
from worlds.task import Task

torch.set_num_threads(1)
IMAGE = 16
TRIAL_STEPS = 8


def make_agent(memory: int, task: Task) -> Agent:
    env = WorldEnv(task, image_size=IMAGE)
    try:
        torch.manual_seed(0)
        # gate_bias 0 lets memory move the outputs at initialisation (no training needed)
        return Agent(env.observation_spec(), env.action_spec(),
                     agent_config("tiny", gate_bias=0.0, memory_length=memory)).eval()
    finally:
        env.close()


def play(policy, task: Task, agent_policy: AgentPolicy | None = None,
         seed: int = 3) -> list[tuple[StepInfo, np.ndarray | None]]:
    """Every step of one 2-trial episode: what was executed, and the agent's own logits."""
    out: list[tuple[StepInfo, np.ndarray | None]] = []

    def on_step(info: StepInfo) -> None:
        if agent_policy is None:
            out.append((info, None))
            return
        assert agent_policy.last_logits is not None
        out.append((info, agent_policy.last_logits[info.slot].copy()))

    run_jobs([task], [Job(0, 0, seed)], policy, image_size=IMAGE, batch_size=1,
             on_step=on_step)
    return out


@pytest.fixture(scope="module")
def task(make_hold_task) -> Task:
    return make_hold_task(trials=2, trial_steps=TRIAL_STEPS)


@pytest.fixture(scope="module")
def agents(task: Task) -> dict[int, Agent]:
    return {m: make_agent(m, task) for m in (8, 0)}


def test_the_demonstrator_acts_in_trial_one_and_the_agent_after(agents, task) -> None:
    own = AgentPolicy(agents[8])
    demo = play(prompted(own, ExpertPolicy()), task, own)
    alone = play(ExpertPolicy(), task)  # the expert's own trial 1
    trial1 = [i.action for i, _ in demo if i.trial == 0]
    assert trial1 == [i.action for i, _ in alone if i.trial == 0]
    assert len(set(trial1)) > 1  # it walked and grabbed, not a constant
    # the agent's own choices in trial 1 (argmax of its logits) were not what ran
    assert any(int(np.argmax(lg)) != i.action for i, lg in demo if i.trial == 0)
    # from trial 2 on the executed action is the agent's: its logits' sampled choice, which
    # for this untrained agent is no longer the expert's plan
    assert [i.action for i, _ in demo if i.trial == 1] != [i.action for i, _ in alone
                                                           if i.trial == 1]


def test_the_demonstration_reaches_memory_and_only_memory(agents, task) -> None:
    for memory, differs in ((8, True), (0, False)):
        own = AgentPolicy(agents[memory])
        with_demo = play(prompted(own, ExpertPolicy()), task, own)
        bare = AgentPolicy(agents[memory])
        without = play(prompted(bare, NoopPolicy(NOOP)), task, bare)
        first2 = [lg for i, lg in with_demo if i.trial == 1 and i.t_in_trial == 0][0]
        first2_bare = [lg for i, lg in without if i.trial == 1 and i.t_in_trial == 0][0]
        gap = float(np.abs(first2 - first2_bare).max())
        # trial 2 starts from the same reset world and the same observation either way; only
        # a memory of trial 1 can tell the two apart
        assert (gap > 1e-4) == differs, (memory, gap)
        if not differs:
            acts = [i.action for i, _ in with_demo if i.trial == 1]
            assert acts == [i.action for i, _ in without if i.trial == 1]


def test_prompted_wraps_privileged_demonstrators_only() -> None:
    agent = RandomPolicy(NUM_ACTIONS)
    assert isinstance(prompted(agent, ExpertPolicy()), PrivilegedPromptedPolicy)
    plain = prompted(agent, NoopPolicy(NOOP))
    assert type(plain) is PromptedPolicy and not hasattr(plain, "attach")
    with pytest.raises(ValueError, match="demo_trials"):
        PromptedPolicy(agent, NoopPolicy(NOOP), demo_trials=0)


def test_a_recorded_episode_replays_and_a_wrong_one_names_the_step(agents, task) -> None:
    alone = play(ExpertPolicy(), task)
    steps = [i for i, _ in alone if i.trial == 0]
    actions = [i.action for i in steps]
    # the reward of step t is the next step's prev_reward
    rewards = [float(i.observation["prev_reward"]) for i in steps[1:]] + [0.0]
    own = AgentPolicy(agents[0])
    replayed = play(prompted(own, ReplayDemonstrator(actions, rewards)), task, own)
    assert [i.action for i, _ in replayed if i.trial == 0] == actions
    assert max(rewards) == 1.0  # the expert got hold of the cube within the trial
    wrong = list(rewards)
    k = rewards.index(1.0)
    wrong[k] = 0.0
    with pytest.raises(ReplayMismatchError, match=f"step {k} of the recording paid 1"):
        own = AgentPolicy(agents[0])
        play(prompted(own, ReplayDemonstrator(actions, wrong)), task, own)
    with pytest.raises(ValueError, match="rewards\\[0\\]: 2 rewards for 8 actions"):
        ReplayDemonstrator(actions, rewards[:2])
