"""ada.eval.trials: the agent's memory lives exactly one episode, the aggregation math is exact,
and every policy plays the same, reproducible episodes."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ada.agent_policy import AgentPolicy
from ada.eval.jobs import Job, StepInfo, job_seed, run_jobs
from ada.eval.trials import (
    EvalResults,
    aggregate,
    evaluate_policies,
    paired_difference,
    write_results,
)
from ada.policies import NoopPolicy, RandomPolicy
from ada.render import render_episode
from agents.agent import Agent, agent_config
from worlds.avatar import NOOP, NUM_ACTIONS
from worlds.env import WorldEnv
from worlds.task import (
    AvatarSpec,
    EpisodeSpec,
    Game,
    Goal,
    Literal,
    ObjectSpec,
    ObjectType,
    Task,
    Terrain,
    World,
    with_episode,
)

torch.set_num_threads(1)
IMAGE = 16
RED_CUBE = ObjectType("cube", "red")
BLUE_SPHERE = ObjectType("sphere", "blue")


def near_task(trials: int = 2, trial_steps: int = 6, x: float = 1.6) -> Task:
    """The goal (stay near the red cube) holds at the start and breaks when a random walk
    wanders off, so returns vary with the actions: a reproducibility check that can fail."""
    return Task(
        World(Terrain.flat(3), (ObjectSpec(RED_CUBE, x, 1.6), ObjectSpec(BLUE_SPHERE, 3.5, 3.5)),
              AvatarSpec(1.0, 1.0, 0.8)),
        Game(Goal(((Literal("near", "agent", RED_CUBE),),)), ()),
        EpisodeSpec(trials=trials, trial_steps=trial_steps))


@pytest.fixture(scope="module")
def agent() -> Agent:
    env = WorldEnv(near_task(), image_size=IMAGE)
    try:
        torch.manual_seed(0)
        # gate_bias 0 (not the near-identity 2) lets memory move the outputs well above 1e-4
        # at initialisation, so "memory was carried" is visible without training
        return Agent(env.observation_spec(), env.action_spec(),
                     agent_config("tiny", gate_bias=0.0)).eval()
    finally:
        env.close()


def fresh_logits(agent: Agent, obs: dict[str, np.ndarray]) -> np.ndarray:
    """What the agent outputs on `obs` from an empty memory at an episode start."""
    policy = AgentPolicy(agent)
    policy.act(obs, None, True, np.random.default_rng(0))
    assert policy.last_logits is not None
    return policy.last_logits[0]


def test_agent_memory_carries_across_trials_and_never_across_episodes(agent: Agent) -> None:
    task = near_task(trials=2, trial_steps=3)
    policy = AgentPolicy(agent)
    records: list[tuple[StepInfo, np.ndarray]] = []

    def on_step(info: StepInfo) -> None:
        assert policy.last_logits is not None
        obs = {k: np.array(v) for k, v in info.observation.items()}
        records.append((StepInfo(**{**info.__dict__, "observation": obs}),
                        policy.last_logits[info.slot].copy()))

    # batch_size=1: episode 2 runs in the slot (and memory) episode 1 just used
    jobs = [Job(0, 0, 11), Job(0, 1, 12)]
    run_jobs([task], jobs, policy, image_size=IMAGE, batch_size=1, on_step=on_step)
    assert [(r.job, r.trial, r.t_in_trial) for r, _ in records] == \
        [(j, k, t) for j in (0, 1) for k in (0, 1) for t in range(3)]
    by_key = {(r.job, r.trial, r.t_in_trial): (r, logits) for r, logits in records}

    # (a) trial 2 of episode 1 starts with trial 1 in memory: not what an empty memory gives
    info, logits = by_key[(0, 1, 0)]
    assert not info.first
    assert np.abs(logits - fresh_logits(agent, info.observation)).max() > 1e-4

    # (b) episode 2 starts from nothing, although the same memory cache just held episode 1
    info, logits = by_key[(1, 0, 0)]
    assert info.first
    np.testing.assert_allclose(logits, fresh_logits(agent, info.observation), atol=1e-5)

    # ... and all of episode 2 equals a fresh policy replaying episode 2's observations
    replay = AgentPolicy(agent)
    state = replay.initial_state(1)
    rng = np.random.default_rng(0)
    for info, logits in (rl for rl in records if rl[0].job == 1):
        _, state = replay.act(info.observation, state, info.first, rng)
        assert replay.last_logits is not None
        np.testing.assert_allclose(replay.last_logits[0], logits, atol=1e-5)


def test_agent_batched_equals_one_env_at_a_time_and_render_replays_it(agent: Agent) -> None:
    """Batching envs (and which slot a job lands in) must not change any job's episode, and
    rendering a job with its seed reproduces the evaluated returns."""
    tasks = [near_task(trials=2, trial_steps=4), near_task(trials=2, trial_steps=5, x=1.9)]
    jobs = [Job(t, e, job_seed(5, t, e)) for e in range(2) for t in range(2)]
    one = run_jobs(tasks, jobs, AgentPolicy(agent), image_size=IMAGE, batch_size=1)
    many = run_jobs(tasks, jobs, AgentPolicy(agent), image_size=IMAGE, batch_size=3)
    assert one == many
    assert all(len(r) == 2 for r in one)
    _, returns = render_episode(tasks[1], AgentPolicy(agent), seed=jobs[1].seed,
                                image_size=IMAGE, overview_size=0)
    assert returns == one[1]


def test_aggregate_is_exact_on_hand_built_scores() -> None:
    # per-task means over 2 episodes (x - d, x + d): trial 1 [0, .1, .2, .3, .4],
    # trial 2 all .25, trial 3 [.5, .1, .9, .3, .7]
    t1, t3 = np.array([0.0, 0.1, 0.2, 0.3, 0.4]), np.array([0.5, 0.1, 0.9, 0.3, 0.7])
    per_task = np.stack([t1, np.full(5, 0.25), t3], axis=1)  # (tasks, trials)
    d = np.array([0.0, 0.05, 0.1])
    scores = np.stack([per_task - d, per_task + d], axis=1)  # (tasks, episodes, trials)
    summary = aggregate({"agent": scores, "noop": np.zeros((5, 2, 3))})
    rows = {(r["policy"], r["trial"]): r for r in summary.rows}
    assert len(summary.rows) == 6
    assert rows[("agent", 1)] == pytest.approx(
        {"policy": "agent", "trial": 1, "mean": 0.2, "median": 0.2, "p20": 0.08, "n_tasks": 5})
    assert rows[("agent", 2)]["p20"] == pytest.approx(0.25)
    # sorted trial 3: [.1, .3, .5, .7, .9]; p20 interpolates 80% of the way from .1 to .3
    assert rows[("agent", 3)] == pytest.approx(
        {"policy": "agent", "trial": 3, "mean": 0.5, "median": 0.5, "p20": 0.26, "n_tasks": 5})
    assert summary.gain["agent"] == pytest.approx(0.3)
    assert summary.gain["noop"] == 0.0
    # agent minus noop, each task averaged over its trials: [.25, .15, .45, 17/60, .45]
    diff = np.array([0.25, 0.15, 0.45, 17 / 60, 0.45])
    assert list(summary.versus) == ["noop"]
    assert summary.versus["noop"] == pytest.approx(
        {"mean": 0.95 / 3, "se": diff.std(ddof=1) / np.sqrt(5), "higher": 5, "lower": 0,
         "n_tasks": 5})
    with pytest.raises(ValueError, match="scores"):
        aggregate({"bad": np.zeros((3, 2))})


def test_paired_difference_counts_wins_and_losses_per_task() -> None:
    a = np.array([[1.0, 0.0], [0.0, 0.0], [0.25, 0.75], [0.0, 0.0]])
    b = np.array([[0.0, 0.0], [0.5, 0.5], [0.5, 0.5], [0.0, 0.0]])
    # per-task means: a [.5, 0, .5, 0], b [0, .5, .5, 0] -> d [.5, -.5, 0, 0]
    v = paired_difference(a, b)
    assert v == pytest.approx({"mean": 0.0, "se": np.std([0.5, -0.5, 0, 0], ddof=1) / 2,
                               "higher": 1, "lower": 1, "n_tasks": 4})
    with pytest.raises(ValueError, match="shape"):
        paired_difference(a, b[:3])


def test_scores_are_returns_per_trial_step_and_files_are_written(tmp_path: Path) -> None:
    tasks = [near_task(trials=2, trial_steps=4), near_task(trials=2, trial_steps=10)]
    returns = np.array([[[4.0, 2.0]], [[5.0, 10.0]]])  # (tasks, episodes=1, trials)
    results = EvalResults(names=["a", "b"], tasks=tasks, policies=["agent"],
                          returns={"agent": returns}, seeds=np.array([[1], [2]]), trials=2,
                          episodes_per_task=1, seed=0, image_size=IMAGE)
    np.testing.assert_allclose(results.scores("agent")[:, 0], [[1.0, 0.5], [0.5, 1.0]])
    paths = write_results(results, tmp_path / "eval")
    data = json.loads(paths["json"].read_text())
    assert data["per_trial"][0] == {"policy": "agent", "trial": 1, "mean": 0.75,
                                    "median": 0.75, "p20": 0.6, "n_tasks": 2}
    assert data["gain"] == {"agent": 0.0}
    assert [t["name"] for t in data["tasks"]] == ["a", "b"]
    with paths["per_trial"].open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["policy"], r["trial"]) for r in rows] == [("agent", "1"), ("agent", "2")]
    with paths["per_task"].open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and float(rows[1]["score"]) == 0.5 and rows[3]["task"] == "b"
    with Image.open(paths["plot"]) as img:
        assert img.format == "PNG" and img.size == (640, 420)


def test_baselines_play_the_same_reproducible_episodes() -> None:
    tasks = {"near": near_task(trial_steps=8), "far": near_task(trial_steps=6, x=2.0)}
    actions: dict[int, list[int]] = {}

    def run(seed: int, batch_size: int) -> EvalResults:
        return evaluate_policies(tasks, {"random": "random", "noop": "noop"}, trials=2,
                                 episodes_per_task=2, seed=seed, image_size=IMAGE,
                                 batch_size=batch_size)

    a, b, c = run(0, 4), run(0, 1), run(1, 4)
    assert a.names == ["near", "far"] and a.returns["random"].shape == (2, 2, 2)
    for p in ("random", "noop"):
        np.testing.assert_array_equal(a.returns[p], b.returns[p])
    np.testing.assert_array_equal(a.seeds, b.seeds)
    assert not np.array_equal(a.seeds, c.seeds)
    assert a.returns["random"].std() > 0  # the random walk does break the goal sometimes
    assert (a.returns["noop"] == a.returns["noop"][..., :1]).all()  # trials replay exactly

    # the random actions are a function of the job's seed alone
    evaluated = [with_episode(t, 2, None) for t in tasks.values()]
    jobs = [Job(0, 0, 7), Job(1, 0, 8)]

    def record(info: StepInfo) -> None:
        actions.setdefault(info.job, []).append(info.action)

    run_jobs(evaluated, jobs, RandomPolicy(NUM_ACTIONS), image_size=IMAGE, on_step=record)
    first = dict(actions)
    actions.clear()
    run_jobs(evaluated, jobs[::-1], RandomPolicy(NUM_ACTIONS), image_size=IMAGE,
             on_step=record)
    assert first[0] == actions[1] and first[1] == actions[0]
    rng = np.random.default_rng(7)
    assert first[0] == [int(rng.integers(NUM_ACTIONS)) for _ in first[0]]
    actions.clear()
    run_jobs(evaluated, jobs, NoopPolicy(NOOP), image_size=IMAGE, on_step=record)
    assert set(actions[0]) == {NOOP}


def test_policy_by_unknown_name_is_an_error(make_task: Callable[..., Task]) -> None:
    with pytest.raises(ValueError, match="policy"):
        evaluate_policies([make_task()], {"x": "greedy"}, trials=1, episodes_per_task=1,
                          seed=0, image_size=IMAGE)
    with pytest.raises(ValueError, match="trials"):
        evaluate_policies([make_task()], {"noop": "noop"}, trials=0, episodes_per_task=1,
                          seed=0, image_size=IMAGE)
