"""ada.eval.normalised: exact expert-normalised statistics, the tasks where the expert scored 0
left out and named, the outputs that carry them, and the expert ahead of random on real tiny
tasks."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ada.eval.normalised import format_normalised, normalise, normalised_rows
from ada.eval.trials import EvalResults, aggregate, evaluate_policies, results_dict, write_results
from worlds.task import Task
from worlds.task_files import sample_family_task

# (tasks, episodes, trials) scores. The expert's reference is its last trial averaged over
# episodes: 0.5, 0 (it scored in trial 1 only, so a first-trial reference would keep it), 0.25
# and 1.0; task 1 is therefore left out and the others are divided by 0.5, 0.25 and 1.0.
EXPERT = np.array([[[0.2, 0.4], [0.2, 0.6]],
                   [[0.3, 0.0], [0.1, 0.0]],
                   [[0.25, 0.25], [0.25, 0.25]],
                   [[0.5, 1.0], [0.5, 1.0]]])
RANDOM = np.array([[[0.1, 0.2], [0.1, 0.2]],
                   [[0.6, 0.6], [0.6, 0.6]],
                   [[0.0, 0.1], [0.0, 0.2]],
                   [[0.3, 0.9], [0.3, 0.9]]])


def row(rows: list[dict], policy: str, trial: int) -> dict:
    (r,) = [r for r in rows if r["policy"] == policy and r["trial"] == trial]
    return r


def test_normalised_statistics_are_exact_and_zero_reference_tasks_are_left_out() -> None:
    summary = aggregate({"random": RANDOM, "expert": EXPERT})
    assert summary.expert_zero == [1]
    # random, normalised per included task: trial 1 -> 0.2, 0.0, 0.3; trial 2 -> 0.4, 0.6, 0.9
    r1, r2 = row(summary.normalised, "random", 1), row(summary.normalised, "random", 2)
    assert r1["n_tasks"] == r2["n_tasks"] == 3 and r1["n_excluded"] == 1
    assert r1["median"] == pytest.approx(0.2) and r1["mean"] == pytest.approx(0.5 / 3)
    assert r1["p20"] == pytest.approx(0.0 + 0.4 * (0.2 - 0.0))  # linear, position 0.4
    assert r2["median"] == pytest.approx(0.6) and r2["p20"] == pytest.approx(0.4 + 0.4 * 0.2)
    # the expert's first trial is at or below its reference: 0.4, 1.0, 0.5
    e1 = row(summary.normalised, "expert", 1)
    assert e1["median"] == pytest.approx(0.5) and e1["p20"] == pytest.approx(0.44)
    e2 = row(summary.normalised, "expert", 2)
    assert (e2["mean"], e2["median"], e2["p20"]) == (1.0, 1.0, 1.0)
    # the raw rows are untouched by the normalisation
    assert row(summary.rows, "random", 1)["n_tasks"] == 4


def test_expert_last_trial_normalises_to_exactly_one_on_every_included_task() -> None:
    rng = np.random.default_rng(0)
    expert = rng.uniform(0.01, 1.0, (7, 3))
    expert[[2, 5], -1] = 0.0
    normalised = normalise({"expert": expert}, expert[:, -1])["expert"]
    assert normalised.shape == (5, 3)
    assert np.all(normalised[:, -1] == 1.0)
    rows, excluded = normalised_rows({"expert": expert})
    assert excluded == [2, 5] and all(r["n_tasks"] == 5 for r in rows)


def test_without_an_expert_nothing_is_normalised() -> None:
    summary = aggregate({"random": RANDOM, "noop": RANDOM * 0})
    assert summary.normalised == [] and summary.expert_zero == []
    with pytest.raises(ValueError, match="no 'expert' policy"):
        normalised_rows({"random": RANDOM.mean(axis=1)})


def test_every_task_left_out_gives_no_statistics_and_says_so() -> None:
    rows, excluded = normalised_rows({"expert": np.zeros((2, 2)), "random": np.ones((2, 2))})
    assert excluded == [0, 1]
    assert all(r["median"] is None and r["p20"] is None and r["n_tasks"] == 0 for r in rows)
    assert "over 0 tasks (2 tasks where the expert scored 0 left out)" in format_normalised(rows)
    assert "n/a / n/a" in format_normalised(rows)


def test_a_policy_on_other_tasks_than_the_expert_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"scores\['random'\]"):
        normalised_rows({"expert": np.ones((3, 2)), "random": np.ones((2, 2))})


def test_format_normalised_is_a_median_p20_table() -> None:
    rows, _ = normalised_rows({"random": RANDOM.mean(axis=1), "expert": EXPERT.mean(axis=1)})
    assert format_normalised(rows).splitlines() == [
        "expert-normalised score per trial: median / p20 over 3 tasks "
        "(1 task where the expert scored 0 left out)",
        "policy  trial 1        trial 2",
        "random  0.200 / 0.080  0.600 / 0.480",
        "expert  0.500 / 0.440  1.000 / 1.000",
    ]
    assert format_normalised([]) == ""


def hand_made_results(task: Task, policies: dict[str, np.ndarray]) -> EvalResults:
    n, episodes, trials = next(iter(policies.values())).shape
    steps = task.episode.trial_steps
    return EvalResults(names=[f"t{i}" for i in range(n)], tasks=[task] * n,
                       policies=list(policies),
                       returns={p: s * steps for p, s in policies.items()},
                       seeds=np.arange(n * episodes).reshape(n, episodes), trials=trials,
                       episodes_per_task=episodes, seed=0, image_size=16)


def test_write_results_writes_the_normalised_csv_and_json_sections(
        tmp_path: Path, make_task: Callable[..., Task]) -> None:
    task = make_task(trials=2, trial_steps=5)
    results = hand_made_results(task, {"random": RANDOM, "expert": EXPERT})
    paths = write_results(results, tmp_path)
    assert paths["per_trial_normalised"] == tmp_path / "per_trial_normalised.csv"
    with paths["per_trial_normalised"].open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["policy", "trial", "mean", "median", "p20", "n_tasks", "n_excluded"]
    assert [(r["policy"], r["trial"], r["n_tasks"], r["n_excluded"]) for r in rows] == \
        [(p, k, "3", "1") for p in ("random", "expert") for k in ("1", "2")]
    assert float(rows[1]["median"]) == pytest.approx(0.6)

    data = json.loads(paths["json"].read_text())
    assert data["expert_zero_tasks"] == [{"index": 1, "name": "t1", "task_id": task.task_id}]
    assert data["normalised"]["n_tasks"] == 3 and data["normalised"]["n_excluded"] == 1
    assert data["normalised"]["reference"] == pytest.approx([0.5, 0.0, 0.25, 1.0])
    assert data["normalised"]["per_trial"][1]["median"] == pytest.approx(0.6)
    assert len(data["per_trial"]) == 4  # the raw rows stay as they were


def test_without_an_expert_the_outputs_are_unchanged(
        tmp_path: Path, make_task: Callable[..., Task]) -> None:
    results = hand_made_results(make_task(trials=2, trial_steps=5), {"random": RANDOM})
    paths = write_results(results, tmp_path)
    assert "per_trial_normalised" not in paths
    assert not (tmp_path / "per_trial_normalised.csv").exists()
    data = results_dict(results)
    assert "normalised" not in data and "expert_zero_tasks" not in data
    assert list(data) == ["meta", "policies", "tasks", "per_trial", "gain", "versus", "seeds",
                          "returns", "scores"]


def test_expert_outscores_random_on_real_tiny_tasks() -> None:
    tasks = [sample_family_task("tiny", seed) for seed in range(3)]
    results = evaluate_policies(tasks, {"random": "random", "expert": "expert"}, trials=2,
                                episodes_per_task=1, seed=0, image_size=16)
    expert = results.scores("expert").mean(axis=(1, 2))
    random = results.scores("random").mean(axis=(1, 2))
    assert np.all(expert > 0) and expert.mean() > random.mean()
    summary = aggregate(results.all_scores())
    assert summary.expert_zero == []  # the expert solves every tiny task in its last trial
    last = row(summary.normalised, "expert", 2)
    assert (last["median"], last["p20"], last["n_tasks"]) == (1.0, 1.0, 3)
