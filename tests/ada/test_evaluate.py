"""`python -m ada.evaluate` end to end on a 2-update checkpoint: output files and their
structure, and config errors that exit 2 naming the field."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import imageio.v3 as iio
import pytest
import torch
from PIL import Image

from ada.evaluate import format_table, run, validate_config
from ada.validation import ConfigError
from worlds.task import Task

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[2]


def evaluate_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    return subprocess.run([sys.executable, "-m", "ada.evaluate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_evaluates_probes_and_writes_every_output(checkpoint: Path, tmp_path: Path) -> None:
    # a run directory is accepted too: its latest checkpoint is used
    proc = evaluate_cli(f"checkpoint={checkpoint.parents[1]}", "tasks=probes", "trials=2",
                        "trial_steps=10", "n_tasks=3", "episodes=2", "batch_size=2",
                        "overview_size=32", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "outputs" / "eval" / "tiny_eval" / "probes"  # default out
    assert "mean / median / p20 over 3 tasks" in proc.stdout
    assert "gain 1->2" in proc.stdout and str(out) in proc.stdout

    data = json.loads((out / "results.json").read_text())
    assert data["policies"] == ["agent", "random", "noop"]
    assert data["meta"]["checkpoint"] == str(checkpoint)
    assert data["meta"]["trials"] == 2 and data["meta"]["image_size"] == 16
    assert [t["trial_steps"] for t in data["tasks"]] == [10, 10, 10]
    assert len(data["per_trial"]) == 3 * 2 and set(data["gain"]) == set(data["policies"])
    for p in data["policies"]:
        assert len(data["returns"][p]) == 3 and len(data["returns"][p][0]) == 2
        assert all(len(ep) == 2 for task in data["scores"][p] for ep in task)
        assert all(0.0 <= s <= 1.0 for task in data["scores"][p] for ep in task for s in ep)

    with (out / "per_trial.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["policy", "trial", "mean", "median", "p20", "n_tasks"]
    assert [(r["policy"], r["trial"]) for r in rows] == \
        [(p, k) for p in ("agent", "random", "noop") for k in ("1", "2")]
    with (out / "per_task.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 3 * 2 and rows[0]["task"] == data["tasks"][0]["name"]
    with Image.open(out / "plot.png") as img:
        assert img.format == "PNG"

    videos = data["meta"]["videos"]  # the agent's best, median and worst task
    assert [v["label"] for v in videos] == ["best", "median", "worst"]
    assert sorted(v["task_index"] for v in videos) == [0, 1, 2]
    frames = iio.imread(out / videos[0]["path"])
    assert frames.shape[0] == 1 + 2 * 10
    for video in videos:  # each video is its evaluated episode: same job seed, same returns
        assert video["returns"] == data["returns"]["agent"][video["task_index"]][0]
    assert (out / "report.html").is_file()
    assert "no human recordings were given" in proc.stdout
    assert "time to first success" in proc.stdout


def test_cli_rejects_bad_values_naming_the_field(checkpoint: Path, tmp_path: Path) -> None:
    proc = evaluate_cli(f"checkpoint={checkpoint}", "tasks=nonsense", cwd=tmp_path)
    assert proc.returncode == 2
    assert "tasks: 'nonsense' is not allowed; allowed are ['heldout', 'probes']" in proc.stderr
    proc = evaluate_cli(f"checkpoint={checkpoint}", "trials=0", cwd=tmp_path)
    assert proc.returncode == 2 and "trials: 0 is not allowed" in proc.stderr
    proc = evaluate_cli("tasks=probes", cwd=tmp_path)  # checkpoint is required
    assert proc.returncode == 2 and "checkpoint: '???' is not allowed" in proc.stderr
    proc = evaluate_cli(f"checkpoint={tmp_path}/nope.pt", cwd=tmp_path)
    assert proc.returncode == 2 and "nope.pt' does not exist" in proc.stderr
    assert not (tmp_path / "outputs" / "eval" / "tiny_eval").exists()


@pytest.mark.parametrize(("override", "field"), [
    ({"trials": 14}, "trials"),
    ({"episodes": 0}, "episodes"),
    ({"n_tasks": 0}, "n_tasks"),
    ({"trial_steps": "10"}, "trial_steps"),
    ({"baselines": ["random", "oracle"]}, "baselines"),
    ({"baselines": "random"}, "baselines"),
    ({"greedy": "yes"}, "greedy"),
    ({"videos": -1}, "videos"),
    ({"fps": 0}, "fps"),
    ({"tasks": "tasks.json"}, "tasks"),
    ({"colour": 1}, "config"),
])
def test_validate_config_names_the_field(override: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{field}: "):
        validate_config({"checkpoint": "x.pt", **override})


def test_jsonl_tasks_run_in_process(checkpoint: Path, tmp_path: Path,
                                    make_task: Callable[..., Task]) -> None:
    tasks = [make_task(trials=1, trial_steps=4), make_task(trials=1, trial_steps=6)]
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps({"name": "first", "task": tasks[0].to_dict()}) + "\n\n"
                    + tasks[1].to_json() + "\n")
    cfg = validate_config({"checkpoint": str(checkpoint), "tasks": str(path), "trials": 2,
                           "videos": 0, "baselines": ["noop"], "out": str(tmp_path / "ev")})
    result = run(cfg, log=lambda _: None)
    assert result.results.names == ["first", tasks[1].task_id]
    assert [t.episode.trial_steps for t in result.results.tasks] == [4, 6]
    assert result.videos == [] and (tmp_path / "ev" / "results.json").is_file()
    table = format_table(result.summary)
    assert table.splitlines()[1].split()[:3] == ["policy", "trial", "1"]
    assert [line.split()[0] for line in table.splitlines()[2:4]] == ["agent", "noop"]
    assert table.splitlines()[4].startswith("agent - noop: ")
    assert "paired s.e. over 2 tasks" in table.splitlines()[4]


def test_heldout_tasks_come_from_the_checkpoint_split_test_side() -> None:
    from ada.envs import WorldEnvConfig
    from ada.evaluate import select_tasks
    from worlds.split import Split

    env = WorldEnvConfig(family="tiny", image_size=16, heldout_fraction=0.3, split_salt="s")
    tasks = select_tasks("heldout", env, 3, seed=0)
    assert len(tasks) == 3 and list(tasks) == [t.task_id for t in tasks.values()]
    split = Split(heldout_fraction=0.3, salt="s")
    assert all(split.is_heldout(t) for t in tasks.values())
    assert select_tasks("heldout", env, 3, seed=0) == tasks  # the same set every time
    with pytest.raises(ConfigError, match=r"^tasks: cannot draw"):
        select_tasks("heldout", WorldEnvConfig(family="tiny", heldout_fraction=0.0), 2, seed=0)


def test_expert_baseline_adds_the_normalised_table_and_files(checkpoint: Path,
                                                             tmp_path: Path) -> None:
    from worlds.task_files import sample_family_task

    tasks = [sample_family_task("tiny", seed) for seed in range(2)]
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(t.to_json() + "\n" for t in tasks))
    cfg = validate_config({"checkpoint": str(checkpoint), "tasks": str(path), "trials": 2,
                           "trial_steps": 30, "videos": 0, "baselines": ["random", "expert"],
                           "out": str(tmp_path / "ev")})
    assert cfg.baselines == ("random", "expert")
    result = run(cfg, log=lambda _: None)
    assert result.files["per_trial_normalised"].is_file()
    data = json.loads(result.files["json"].read_text())
    assert data["policies"] == ["agent", "random", "expert"]
    assert data["seeds"] == result.results.seeds.tolist()  # one set of jobs for all policies
    assert data["normalised"]["n_tasks"] + len(data["expert_zero_tasks"]) == 2
    lines = format_table(result.summary).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("expert-normalised"))
    assert lines[start].startswith("expert-normalised score per trial: median / p20 over ")
    assert lines[start + 1].split() == ["policy", "trial", "1", "trial", "2"]
    assert [line.split()[0] for line in lines[start + 2:]] == ["agent", "random", "expert"]


def test_post_training_evaluation_includes_the_expert(checkpoint: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from ada.evaluate import heldout_evaluation

    run_dir = checkpoint.parents[1]
    report = heldout_evaluation(SimpleNamespace(out_dir=str(run_dir), eval_tasks=2,
                                                eval_trials=2, seed=0, eval_videos=0))
    assert set(report["mean_per_trial"]) == {"agent", "random", "noop", "expert"}
    assert set(report["expert_normalised_median_per_trial"]) == set(report["mean_per_trial"])
    assert report["expert_zero_tasks"] == 0  # the expert scores on every tiny task
    assert report["expert_normalised_median_per_trial"]["expert"][-1] == 1.0
    assert "expert-normalised score per trial: median / p20" in capsys.readouterr().err
    assert (run_dir / "eval" / "per_trial_normalised.csv").is_file()


def test_prompting_reports_prompted_against_unprompted_per_k(checkpoint: Path,
                                                             tmp_path: Path) -> None:
    from ada.eval.prompting import format_prompting
    from ada.evaluate import run_prompting
    from worlds.task_files import sample_family_task

    tasks = [sample_family_task("tiny", seed) for seed in range(3)]
    path = tmp_path / "tiny.jsonl"
    path.write_text("".join(t.to_json() + "\n" for t in tasks))
    cfg = validate_config({"checkpoint": str(checkpoint), "tasks": str(path), "demo": "expert",
                           "trials": [2, 3], "trial_steps": 25, "videos": 1,
                           "overview_size": 0, "out": str(tmp_path / "ev")})
    assert cfg.prompt_trials == (2, 3) and cfg.trials == 3
    result = run_prompting(cfg, log=lambda _: None)
    assert [r["k"] for r in result.rows] == [2, 3]
    data = json.loads(result.file.read_text())
    for row, k in zip(data["summary"], (2, 3), strict=True):
        run_k = data["runs"][str(k)]
        returns = {p: run_k["returns"][p] for p in ("agent", "prompted", "expert")}
        # trial 1 of a prompted episode is the expert's own: the same env seed, its actions
        assert [ep[0][0] for ep in returns["prompted"]] == [ep[0][0] for ep in returns["expert"]]
        assert row["demonstrator_trial1"]["mean"] == pytest.approx(
            sum(ep[0][0] for ep in returns["expert"]) / 25 / 3)
        last = [(p[0][-1] - a[0][-1]) / 25 for p, a in zip(returns["prompted"],
                                                           returns["agent"], strict=True)]
        assert row["prompted_minus_unprompted"]["mean"] == pytest.approx(sum(last) / 3)
    assert "prompted - unprompted:" in format_prompting(result.rows)
    [video] = result.videos
    assert video.name.endswith("_k3.mp4") and iio.imread(video).shape[0] == 1 + 3 * 25
    with pytest.raises(ConfigError, match=r"^trials: \[2, 3\] is a list"):
        validate_config({"checkpoint": "x.pt", "trials": [2, 3]})
    with pytest.raises(ConfigError, match=r"^trials: 1 is not allowed"):
        validate_config({"checkpoint": "x.pt", "demo": "expert", "trials": [1, 2]})
    with pytest.raises(ConfigError, match=r"^demo: 3 is not allowed"):
        validate_config({"checkpoint": "x.pt", "demo": 3})
    # any other text is a path of recordings, checked when they are loaded
    assert validate_config({"checkpoint": "x.pt", "demo": "recs"}).demo == "recs"


def test_render_plays_a_checkpoint_prompted_by_the_expert(checkpoint: Path,
                                                          tmp_path: Path) -> None:
    from ada.render import run as render
    from ada.render import validate_config as render_config

    cfg = render_config({"task": {"id": "nav_ramp_plateau"}, "policy": "agent",
                         "checkpoint": str(checkpoint.parents[1]), "demo": "expert",
                         "trials": 2, "trial_steps": 60, "overview_size": 0,
                         "out": str(tmp_path / "prompted.mp4")})
    out, [returns] = render(cfg)
    assert len(returns) == 2 and returns[0] > 0  # the expert reached the plateau in trial 1
    frames = iio.imread(out)
    assert frames.shape[0] == 1 + 2 * 60
