"""Lever rooms: task identity and validation, the family's mix and structure, the split, and
the vectorised env (task source calls, reward statistics, auto-reset, checkpoint resume)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np
import pytest

from ada.bayes.bandit import BanditEnv, BanditFamily
from ada.bayes.levers import (
    KINDS,
    LeverFamily,
    LeverTask,
    LeverTaskGenerator,
    complexity,
    noop_score,
)
from ada.bayes.levers_vec import VectorLevers
from ada.validation import ConfigError
from worlds.env_batch import BatchStep
from worlds.split import Split

TASK = LeverTask("learnable", (0.0, 0.05, 0.8, 0.0, 0.1), 20)
SPLIT = Split(heldout_fraction=0.3, salt="levers-test")


# ---- task identity ---------------------------------------------------------------------------


def test_json_round_trip_and_stable_id() -> None:
    s = TASK.to_json()
    assert s == json.dumps(json.loads(s), sort_keys=True, separators=(",", ":"))
    back = LeverTask.from_json(s)
    assert back == TASK and back.to_json() == s and back.task_id == TASK.task_id
    # Pinned: a change of canonical form would silently move every task across the split.
    assert s == '{"horizon":20,"kind":"learnable","probs":[0.0,0.05,0.8,0.0,0.1],"room":0}'
    assert TASK.task_id == "badf66020d00d9e3"
    assert TASK.split_key == TASK.task_id
    assert LeverTask("learnable", [0, 0.05, 0.8, 0, 0.1], 20).task_id == TASK.task_id
    other = LeverTask("learnable", (0.0, 0.05, 0.8, 0.0, 0.1), 21)
    assert other.task_id != TASK.task_id
    assert TASK.max_return == 20 and TASK.n_levers == 4 and "learnable" in TASK.description


def test_task_id_is_hash_of_canonical_json() -> None:
    want = hashlib.sha256(TASK.to_json().encode()).hexdigest()[:16]
    assert TASK.task_id == want


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"kind": "easy"}, r"LeverTask\.kind: 'easy' is not one of \['trivial'"),
    ({"probs": (0.0,)}, r"LeverTask\.probs: length 1"),
    ({"probs": (0.0, 1.5)}, r"LeverTask\.probs\[1\]: 1\.5 .*\[0, 1\]"),
    ({"probs": (0.0, float("nan"))}, r"LeverTask\.probs\[1\]"),
    ({"probs": "ab"}, r"LeverTask\.probs"),
    ({"horizon": 0}, r"LeverTask\.horizon: 0 .*integer >= 1"),
    ({"horizon": True}, r"LeverTask\.horizon"),
    ({"kind": "impossible", "probs": (0.0, 0.5)}, r"LeverTask\.probs.*'impossible'"),
    ({"kind": "learnable", "probs": (0.5, 0.5)}, r"LeverTask\.probs\[0\].*'learnable'"),
])
def test_task_validation_names_field(kwargs: dict, match: str) -> None:
    args = {"kind": "learnable", "probs": (0.0, 0.9), "horizon": 5, **kwargs}
    with pytest.raises(ConfigError, match=match):
        LeverTask(**args)


@pytest.mark.parametrize(("text", "match"), [
    ("{not json", r"not valid JSON"),
    ("[1, 2]", r"LeverTask: .*not a JSON object"),
    ('{"kind": "trivial", "probs": [0.5, 0.5]}', r"LeverTask\.horizon: missing"),
    ('{"kind": "trivial", "probs": [0.5, 0.5], "horizon": 3, "x": 1}', r"unknown keys \['x'\]"),
    ('{"kind": 3, "probs": [0.5, 0.5], "horizon": 3}', r"LeverTask\.kind"),
    ('{"kind": "trivial", "probs": "0.5", "horizon": 3}', r"LeverTask\.probs"),
    ('{"kind": "trivial", "probs": [0.5, "a"], "horizon": 3}', r"LeverTask\.probs\[1\]"),
    ('{"kind": "trivial", "probs": [0.5, 0.5], "horizon": 3.0}', r"LeverTask\.horizon"),
])
def test_from_json_rejects_malformed(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LeverTask.from_json(text)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_levers": 0}, r"LeverFamily\.n_levers: 0 .*\[1, 16\]"),
    ({"n_levers": 17}, r"LeverFamily\.n_levers"),
    ({"horizon": -1}, r"LeverFamily\.horizon"),
    ({"weights": (0.0, 0.0, 0.0)}, r"LeverFamily\.weights: .*positive sum"),
    ({"weights": (1.0, -1.0, 1.0)}, r"LeverFamily\.weights"),
    ({"weights": (1.0, 1.0)}, r"LeverFamily\.weights"),
    ({"good_p": (0.9, 0.5)}, r"LeverFamily\.good_p: .*0 <= lo <= hi <= 1"),
    ({"bad_p": (0.0, 1.2)}, r"LeverFamily\.bad_p"),
    ({"trivial_p": 0.5}, r"LeverFamily\.trivial_p"),
])
def test_family_validation_names_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LeverFamily(**kwargs)


def test_family_from_dict() -> None:
    fam = LeverFamily.from_dict({"n_levers": 3, "weights": [1, 0, 2], "good_p": [0.5, 0.6]})
    assert fam == LeverFamily(n_levers=3, weights=(1.0, 0.0, 2.0), good_p=(0.5, 0.6))
    with pytest.raises(ConfigError, match=r"unknown keys \['levers'\].*allowed keys: .*"
                                              r"'n_levers'"):
        LeverFamily.from_dict({"levers": 3})


# ---- family and generator --------------------------------------------------------------------


def test_mix_frequencies_follow_weights() -> None:
    fam = LeverFamily(weights=(1.0, 2.0, 3.0))
    gen = LeverTaskGenerator(fam)
    rng = np.random.default_rng(0)
    counts = Counter(gen.sample(rng).kind for _ in range(3000))
    for kind, share in zip(KINDS, (1 / 6, 2 / 6, 3 / 6), strict=True):
        # 4 standard deviations of a binomial share over 3000 draws is at most 0.037.
        assert abs(counts[kind] / 3000 - share) < 0.037, (kind, counts)
    assert gen.stats["draws"] == 3000
    only = LeverTaskGenerator(LeverFamily(weights=(0.0, 0.0, 1.0)))
    assert {only.sample(rng).kind for _ in range(100)} == {"learnable"}


def test_kinds_have_their_probability_structure() -> None:
    fam = LeverFamily(n_levers=5, horizon=7)
    gen = LeverTaskGenerator(fam)
    rng = np.random.default_rng(1)
    seen = Counter()
    for _ in range(600):
        task = gen.sample(rng)
        p = np.array(task.probs)
        seen[task.kind] += 1
        assert len(p) == 6 and task.horizon == 7
        assert np.all(p == np.round(p, 3))
        if task.kind == "trivial":
            assert np.all((p >= 0.9) & (p <= 1.0))
            assert noop_score(task) >= 0.9
        elif task.kind == "impossible":
            assert np.all(p == 0.0) and noop_score(task) == 0.0
        else:
            assert p[0] == 0.0 and noop_score(task) == 0.0
            good = p[1:] >= 0.7
            assert good.sum() == 1 and np.all(p[1:][~good] <= 0.1)
        c = complexity(task)
        assert c["levers"] == 5 and c["good_p"] == p[1:].max()
        assert sum(c[f"kind_{k}"] for k in KINDS) == 1 and c[f"kind_{task.kind}"] == 1
    assert set(seen) == set(KINDS)
    # The good lever is uniform over the levers, not stuck at one index.
    goods = Counter(int(np.argmax(t.probs)) for t in gen.generate(5, 300, kind="learnable"))
    assert set(goods) == {1, 2, 3, 4, 5}


def test_generator_respects_split() -> None:
    fam = LeverFamily()
    rng = np.random.default_rng(2)
    train = LeverTaskGenerator(fam, SPLIT)
    tasks = [train.sample(rng) for _ in range(2000)]
    assert not any(SPLIT.is_heldout(t.split_key) for t in tasks)
    assert train.stats["heldout"] > 0  # held-out tasks were drawn and rejected
    test = LeverTaskGenerator(fam, SPLIT.with_role("test"))
    tasks = [test.sample(rng) for _ in range(2000)]
    assert all(SPLIT.is_heldout(t.split_key) for t in tasks)
    assert test.stats["not_heldout"] > 0
    with pytest.raises(ValueError, match="split"):
        LeverTaskGenerator(fam, Split(heldout_fraction=0.0, role="test"))


def test_impossible_tasks_lie_on_both_sides_of_a_split() -> None:
    # The room label keeps all-zero impossible tasks distinct, so both sides get some.
    fam = LeverFamily(weights=(0.0, 1.0, 0.0))
    for role in ("train", "test"):
        gen = LeverTaskGenerator(fam, SPLIT.with_role(role))
        tasks = gen.generate(0, 20)
        assert {t.kind for t in tasks} == {"impossible"}
        assert all(SPLIT.is_heldout(t.split_key) == (role == "test") for t in tasks)


def test_generate_distinct_and_deterministic() -> None:
    gen = LeverTaskGenerator(LeverFamily(), SPLIT)
    a = gen.generate(7, 50)
    assert len({t.task_id for t in a}) == 50
    assert [t.task_id for t in LeverTaskGenerator(LeverFamily(), SPLIT).generate(7, 50)] == [
        t.task_id for t in a]
    assert gen.generate(7, 20) == a[:20]
    assert gen.generate(8, 50) != a
    learn = gen.generate(7, 30, kind="learnable")
    assert len({t.task_id for t in learn}) == 30 and {t.kind for t in learn} == {"learnable"}
    assert len(LeverTaskGenerator(LeverFamily()).generate(0, 5, kind="impossible")) == 5
    with pytest.raises(ConfigError, match="kind: 'x'"):
        gen.generate(0, 2, kind="x")


# ---- vectorised env --------------------------------------------------------------------------


class RecordingSource:
    """A task source that logs the task it hands out per call (in call order)."""

    def __init__(self, family: LeverFamily) -> None:
        self.gen = LeverTaskGenerator(family)
        self.calls: list[LeverTask] = []

    def __call__(self, rng: np.random.Generator) -> LeverTask:
        task = self.gen.sample(rng)
        self.calls.append(task)
        return task


def test_specs_match_bandit_env() -> None:
    env = VectorLevers(lambda rng: TASK, 3, 4, 20, seed=0)
    ref = BanditEnv(BanditFamily.beta(5, horizon=20), seed=0)
    assert env.observation_spec() == ref.observation_spec()
    assert env.action_spec() == ref.action_spec()
    obs = env.reset()
    for k, spec in env.observation_spec().items():
        assert obs[k].shape == (3, *spec.shape) and obs[k].dtype == spec.dtype
        spec.validate(obs[k][0])
    np.testing.assert_array_equal(obs["trial"][0], [0.0, 1.0, 1.0])
    assert env.current_tasks == [TASK] * 3


def test_task_source_called_once_per_episode_start() -> None:
    fam = LeverFamily(n_levers=2, horizon=3)
    source = RecordingSource(fam)
    env = VectorLevers(source, 4, 2, 3, seed=3)
    env.reset()
    assert len(source.calls) == 4
    per_env_loaded = {i: [source.calls[i]] for i in range(4)}
    per_env_reported: dict[int, list[str]] = {i: [] for i in range(4)}
    rng = np.random.default_rng(0)
    for _ in range(3 * 5):
        n_before = len(source.calls)
        step = env.step(rng.integers(0, 3, size=4))
        assert isinstance(step, BatchStep)
        new = source.calls[n_before:]
        assert len(new) == len(step.episodes) == int(step.first.sum())
        for ep, task in zip(step.episodes, new, strict=True):
            i = ep.env
            per_env_reported[i].append(ep.task_id)
            assert ep.kind == per_env_loaded[i][-1].kind
            assert ep.max_return == 3 and ep.trial_returns == (ep.episode_return,)
            assert ep.length == 3
            per_env_loaded[i].append(task)
            assert env.current_tasks[i] is task
    for i in range(4):
        # Every finished episode reports the task its start loaded, in order.
        assert per_env_reported[i] == [t.task_id for t in per_env_loaded[i][:-1]]
        assert len(per_env_reported[i]) == 5
    assert len(source.calls) == 4 + 4 * 5


def test_rewards_match_probs() -> None:
    task = LeverTask("trivial", (0.3, 0.9, 0.05, 0.5), 10)
    env = VectorLevers(lambda rng: task, 500, 3, 10, seed=4)
    env.reset()
    totals = np.zeros(4)
    for step_i in range(40):  # 20000 pulls, 5000 per action
        a = np.full(500, step_i % 4)
        totals[step_i % 4] += env.step(a).reward.sum()
    means = totals / 5000
    # 4 standard deviations at p = 0.5 over 5000 pulls is 0.028.
    np.testing.assert_allclose(means, task.probs, atol=0.028)
    impossible = LeverTask("impossible", (0.0,) * 4, 10)
    env = VectorLevers(lambda rng: impossible, 50, 3, 10, seed=4)
    env.reset()
    assert all(env.step(np.arange(50) % 4).reward.sum() == 0 for _ in range(25))


def test_auto_reset_marks_first() -> None:
    env = VectorLevers(lambda rng: TASK, 2, 4, 20, seed=5)
    obs = env.reset()
    for t in range(1, 20):
        step = env.step(np.array([2, 0]))
        assert not step.first.any() and step.discount.tolist() == [1.0, 1.0]
        np.testing.assert_allclose(step.obs["trial"][:, 2], (20 - t) / 20)
        np.testing.assert_array_equal(step.obs["prev_action"][:, 0], [0.0, 1.0])
        assert step.obs["prev_reward"][1, 0] == 0.0  # learnable: the no-op never pays
    step = env.step(np.array([2, 0]))
    assert step.first.all() and step.discount.tolist() == [0.0, 0.0]
    for k in obs:  # the returned observation is the first of the next episode
        np.testing.assert_array_equal(step.obs[k], obs[k])
    assert [e.env for e in step.episodes] == [0, 1]
    assert step.episodes[1].episode_return == 0.0
    with pytest.raises(ValueError, match="action indices"):
        env.step(np.array([5, 0]))
    with pytest.raises(RuntimeError, match="reset"):
        VectorLevers(lambda rng: TASK, 2, 4, 20).step(np.array([0, 0]))


def test_state_dict_round_trip_continues_bit_for_bit() -> None:
    fam = LeverFamily(n_levers=3, horizon=5)
    gen = LeverTaskGenerator(fam)
    a = VectorLevers(gen.sample, 6, 3, 5, seed=6)
    a.reset()
    acts = np.random.default_rng(1).integers(0, 4, size=(40, 6))
    for t in range(13):
        a.step(acts[t])
    state = json.loads(json.dumps(a.state_dict(), default=lambda x: x.tolist()))
    b = VectorLevers(gen.sample, 6, 3, 5, seed=999)
    b.load_state_dict(state)
    assert [t.task_id for t in b.current_tasks] == [t.task_id for t in a.current_tasks]
    for t in range(13, 40):
        sa, sb = a.step(acts[t]), b.step(acts[t])
        for k in sa.obs:
            np.testing.assert_array_equal(sa.obs[k], sb.obs[k])
        np.testing.assert_array_equal(sa.reward, sb.reward)
        np.testing.assert_array_equal(sa.first, sb.first)
        assert sa.episodes == sb.episodes
    assert [t.task_id for t in b.current_tasks] == [t.task_id for t in a.current_tasks]


def test_mismatched_task_shape_raises() -> None:
    wrong_levers = LeverTask("trivial", (1.0, 1.0, 1.0), 20)
    with pytest.raises(ValueError, match="n_levers=2.*needs n_levers=4"):
        VectorLevers(lambda rng: wrong_levers, 2, 4, 20).reset()
    wrong_h = LeverTask("learnable", (0.0, 0.9, 0.0, 0.0, 0.0), 10)
    with pytest.raises(ValueError, match="horizon=10.*horizon=20"):
        VectorLevers(lambda rng: wrong_h, 2, 4, 20).reset()
    with pytest.raises(ValueError, match="not a LeverTask"):
        VectorLevers(lambda rng: "task", 1, 4, 20).reset()  # type: ignore[arg-type, return-value]
