"""Replay curricula (plr, noop, noop_plr) and uniform on the lever family: buffer life cycle,
the no-op gate, robust PLR's evaluation-only episodes, state round trips and split hygiene."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ada.bayes.levers import LeverFamily, LeverTaskGenerator, LeverTaskSpace
from curriculum import (
    CurriculumConfig,
    CurriculumError,
    CurriculumStateError,
    EpisodeStats,
    NoopFilterConfig,
    PLRConfig,
    make_curriculum,
)
from curriculum.replay import ReplayCurriculum
from worlds.split import Split

SPLIT = Split(heldout_fraction=0.2, salt="curriculum-test")


def space(split: Split = SPLIT, weights=(1.0, 1.0, 1.0)) -> LeverTaskSpace:
    return LeverTaskSpace(LeverTaskGenerator(LeverFamily(weights=weights), split))


def episode(task, score: float, value: float = 0.0, completed: bool = True) -> EpisodeStats:
    """An episode of the task's horizon whose normalised score is `score`."""
    h = task.horizon
    rewards = np.zeros(h)
    rewards[: int(round(score * h))] = 1.0
    return EpisodeStats(task.task_id, float(rewards.sum()), h, float(h), completed=completed,
                        values=np.full(h, value), rewards=rewards)


def agent_score(task) -> float:
    """A pretend agent: finds the good lever on learnable tasks half the time."""
    return {"trivial": 1.0, "impossible": 0.0, "learnable": 0.5}[task.kind]


def plr(capacity=8, min_fill=0.5, replay_prob=0.5, gate=None, **kw) -> ReplayCurriculum:
    cfg = PLRConfig(capacity=capacity, min_fill=min_fill, replay_prob=replay_prob, **kw)
    return ReplayCurriculum(space(), cfg, gate=gate, name="noop_plr" if gate else "plr")


def test_buffer_fills_before_any_replay_then_replays_at_replay_prob() -> None:
    cur, rng = plr(capacity=10, min_fill=0.5, replay_prob=0.75), np.random.default_rng(0)
    while not cur.ready_to_replay():
        assert cur.metrics().get("curriculum/replay_fraction", 0.0) == 0.0
        task = cur.sample(rng)
        cur.update(task.task_id, episode(task, 0.5, value=0.0))
    assert cur.size == 5
    cur.metrics()
    for _ in range(4000):
        task = cur.sample(rng)
        cur.update(task.task_id, episode(task, 0.5))
    assert cur.metrics()["curriculum/replay_fraction"] == pytest.approx(0.75, abs=0.03)


def test_replay_frequencies_follow_the_distribution() -> None:
    cur, rng = plr(capacity=4, min_fill=1.0, replay_prob=1.0, staleness_coef=0.0), \
        np.random.default_rng(1)
    while cur.size < 4:
        t = cur.sample(rng)
        cur.update(t.task_id, episode(t, 0.0, value=-(cur.size + 1.0)))  # distinct scores
    p = cur.distribution()
    cur.metrics()
    counts = {tid: 0 for tid in cur.ids}
    n = 20000
    for _ in range(n):
        counts[cur.sample(rng).task_id] += 1
    np.testing.assert_allclose([counts[t] / n for t in cur.ids], p, atol=0.012)
    assert cur.metrics()["curriculum/replay_fraction"] == 1.0


def test_full_buffer_evicts_lowest_score_and_skips_worse_candidates() -> None:
    cur, rng = plr(capacity=3, min_fill=1.0, replay_prob=0.0), np.random.default_rng(2)
    for v in (-1.0, -3.0, -2.0):  # positive value loss = -value for zero rewards... roughly
        t = cur.sample(rng)
        cur.update(t.task_id, episode(t, 0.0, value=v))
    low = cur.ids[int(np.argmin(cur.scores))]
    t = cur.sample(rng)
    cur.update(t.task_id, episode(t, 0.0, value=-10.0))  # best score yet: evicts the lowest
    assert cur.size == 3 and low not in cur.ids and t.task_id in cur.ids
    t2 = cur.sample(rng)
    cur.update(t2.task_id, episode(t2, 0.0, value=5.0))  # score 0: below all, not inserted
    assert t2.task_id not in cur.ids and cur.totals["not_inserted"] == 1
    assert all(np.isfinite(cur.scores))


def test_noop_gate_drops_trivial_before_play_and_impossible_after() -> None:
    gate = NoopFilterConfig()
    cur, rng = plr(capacity=50, min_fill=0.2, gate=gate), np.random.default_rng(3)
    played = []
    for _ in range(600):
        t = cur.sample(rng)
        played.append(t.kind)
        cur.update(t.task_id, episode(t, agent_score(t), value=0.0))
    assert "trivial" not in played  # the no-op policy already scores ~0.95 on them
    kinds = {t.kind for t in cur.tasks}
    assert kinds == {"learnable"}  # impossible ones never beat the no-op by the margin
    assert cur.totals["noop_rejected"] > 0 and cur.totals["gate_rejected"] > 0
    assert cur.totals["candidate_frames"] == cur.totals["candidate_episodes"] * 20
    m = cur.metrics()
    assert 0.0 < m["curriculum/admission_rate"] < 1.0
    assert 0.0 < m["curriculum/noop_pass_rate"] < 1.0
    # learnable share of played episodes beats the family's 1/3
    assert played.count("learnable") / len(played) > 0.6


def test_agent_near_perfect_is_not_admitted() -> None:
    gate = NoopFilterConfig(agent_max_score=0.4)
    cur, rng = plr(capacity=50, gate=gate), np.random.default_rng(4)
    for _ in range(200):
        t = cur.sample(rng)
        cur.update(t.task_id, episode(t, agent_score(t)))  # learnable at 0.5 > 0.4
    assert cur.size == 0 and cur.totals["admitted"] == 0


def test_robust_plr_takes_no_gradient_on_new_tasks() -> None:
    cur, rng = plr(no_grad_new=True), np.random.default_rng(5)
    t = cur.sample(rng)
    assert not cur.grad_allowed(t.task_id)
    cur.update(t.task_id, episode(t, 0.5, value=-1.0))
    assert cur.grad_allowed(t.task_id)
    assert plr(no_grad_new=False).grad_allowed("anything")


def test_incomplete_and_empty_episodes_keep_scores_finite() -> None:
    cur, rng = plr(), np.random.default_rng(6)
    t = cur.sample(rng)
    cut = dataclasses.replace(episode(t, 0.0), completed=False, bootstrap_value=0.5)
    cur.update(t.task_id, cut)  # a candidate is only decided on a whole episode
    assert cur.size == 0 and t.task_id in cur.pending
    cur.update(t.task_id, episode(t, 0.5, value=-1.0))
    assert cur.size == 1
    cur.update(t.task_id, dataclasses.replace(episode(t, 0.0), completed=False,
                                              bootstrap_value=2.0))
    empty = EpisodeStats(t.task_id, 0.0, 0, 20.0, completed=False, values=np.zeros(0),
                         rewards=np.zeros(0))
    cur.update(t.task_id, empty)
    assert np.all(np.isfinite(cur.scores)) and cur.totals["empty_episodes"] == 1
    cur.update("not-a-task", episode(t, 0.5))
    assert cur.totals["unknown_task"] == 1


@pytest.mark.parametrize("bad", [
    {"values": -np.inf}, {"values": np.nan}, {"values": np.inf}, {"rewards": np.nan},
    {"bootstrap_value": np.nan},
])
def test_non_finite_episode_is_rejected_and_changes_nothing(bad: dict) -> None:
    cur, rng = plr(capacity=2, min_fill=1.0), np.random.default_rng(8)
    tasks = [cur.sample(rng) for _ in range(2)]
    for t, score in zip(tasks, (0.2, 0.4), strict=True):
        cur.update(t.task_id, episode(t, score, value=0.1))
    assert cur.size == 2
    ep = episode(tasks[0], 0.3, value=0.1)
    field, value = next(iter(bad.items()))
    if field == "bootstrap_value":
        ep = dataclasses.replace(ep, completed=False, bootstrap_value=value)
    else:
        arr = getattr(ep, field).copy()
        arr[1] = value
        ep = dataclasses.replace(ep, **{field: arr})
    before = (list(cur.scores), dict(cur.totals), dict(cur.best_return))
    with pytest.raises(ValueError, match=rf"EpisodeStats\.{field}.* of task {tasks[0].task_id}"):
        cur.update(tasks[0].task_id, ep)
    assert (list(cur.scores), dict(cur.totals), dict(cur.best_return)) == before
    # the replay ranking is what it was: a -inf value cannot pin its task at the top
    assert np.all(np.isfinite(cur.distribution()))


def test_empty_buffer_never_replays_even_with_replay_prob_one() -> None:
    cur, rng = plr(min_fill=0.0, replay_prob=1.0), np.random.default_rng(7)
    assert not cur.ready_to_replay()
    t = cur.sample(rng)  # a candidate, not an error
    assert t.task_id in cur.pending and cur.distribution().size == 0


def test_state_round_trip_continues_identically() -> None:
    gate = NoopFilterConfig()
    a, rng = plr(capacity=6, min_fill=0.5, gate=gate), np.random.default_rng(8)
    for _ in range(40):
        t = a.sample(rng)
        a.update(t.task_id, episode(t, agent_score(t), value=-rng.random()))
    b = plr(capacity=6, min_fill=0.5, gate=gate)
    b.load_state_dict(a.state_dict())
    np.testing.assert_allclose(a.distribution(), b.distribution())
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(30):
        ta, tb = a.sample(r1), b.sample(r2)
        assert ta.task_id == tb.task_id
        s = episode(ta, agent_score(ta), value=-0.3)
        a.update(ta.task_id, s)
        b.update(tb.task_id, s)
    assert a.ids == b.ids and a.scores == b.scores and a.totals == b.totals


def test_state_from_another_split_or_kind_or_corrupt_is_refused() -> None:
    a = plr()
    state = a.state_dict()
    other = ReplayCurriculum(space(Split(heldout_fraction=0.2, salt="another")), a.cfg)
    with pytest.raises(CurriculumStateError, match="split_id"):
        other.load_state_dict(state)
    with pytest.raises(CurriculumStateError, match="name"):
        make_curriculum(CurriculumConfig(kind="uniform"), space()).load_state_dict(state)
    bad = {**state, "state": {**state["state"], "scores": [1.0]}}
    with pytest.raises(CurriculumStateError, match="scores"):
        plr().load_state_dict(bad)
    with pytest.raises(CurriculumStateError, match="split_id"):
        plr().load_state_dict({"name": "plr", "state": {}})


def test_state_with_a_heldout_task_is_refused() -> None:
    test_side = LeverTaskGenerator(LeverFamily(), SPLIT.with_role("test"))
    held = test_side.sample(np.random.default_rng(0))
    a = plr()
    state = a.state_dict()
    state["state"] = {**state["state"], "tasks": [held.to_json()], "scores": [1.0],
                      "last_played": [0], "plays": [1]}
    with pytest.raises(CurriculumError, match="held out"):
        plr().load_state_dict(state)


@pytest.mark.parametrize("kind", ["uniform", "noop", "plr", "noop_plr"])
def test_no_curriculum_emits_a_heldout_task(kind: str) -> None:
    cfg = CurriculumConfig.from_dict({"kind": kind, "plr": {"capacity": 64, "min_fill": 0.1}})
    cur, rng = make_curriculum(cfg, space()), np.random.default_rng(10)
    for _ in range(3000):
        t = cur.sample(rng)
        assert not SPLIT.is_heldout(t.split_key)
        cur.update(t.task_id, episode(t, agent_score(t), value=-rng.random()))
    if kind != "uniform":
        assert cur.size > 0 and cur.totals["replays"] > 0


def test_noop_filter_raises_when_everything_is_trivial() -> None:
    cur = ReplayCurriculum(space(weights=(1.0, 0.0, 0.0)), PLRConfig(),
                           gate=NoopFilterConfig(max_candidates=20), name="noop_plr")
    with pytest.raises(CurriculumError, match="noop_max_score"):
        cur.sample(np.random.default_rng(0))


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="kind"):
        CurriculumConfig.from_dict({"kind": "greedy"})
    with pytest.raises(ValueError, match=r"plr\.temperature"):
        CurriculumConfig.from_dict({"plr": {"temperature": 0}})
    with pytest.raises(ValueError, match=r"noop\.min_margin"):
        CurriculumConfig.from_dict({"noop": {"min_margin": 2}})
    with pytest.raises(ValueError, match=r"plr: unknown field"):
        CurriculumConfig.from_dict({"plr": {"temprature": 0.3}})
    with pytest.raises(ValueError, match="scorer"):
        PLRConfig(scorer="value")
    d = CurriculumConfig.from_dict({"kind": "noop_plr"})
    assert (d.plr.temperature, d.plr.staleness_coef, d.plr.replay_prob, d.plr.capacity,
            d.plr.min_fill, d.plr.prioritization) == (0.3, 0.3, 0.5, 4000, 0.5, "rank")


def test_noop_kind_replays_uniformly() -> None:
    cur = make_curriculum(CurriculumConfig(kind="noop"), space())
    assert cur.cfg.prioritization == "uniform" and cur.cfg.staleness_coef == 0.0
    assert cur.gate is not None and cur.name == "noop"
