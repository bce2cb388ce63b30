"""`python -m ada.render` end to end in a subprocess (Hydra, config validation, MP4 output)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import pytest

from ada.render import TaskSelector, load_task, validate_config
from ada.validation import ConfigError


def _render(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ada.render", *overrides], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_cli_writes_video_relative_to_the_start_directory(tmp_path, make_task):
    (tmp_path / "task.json").write_text(make_task(trials=2, trial_steps=3).to_json())
    proc = _render(tmp_path, "task.file=task.json", "policy=noop", "out=vids/ep.mp4",
                   "image_size=16", "overview_size=64", "trials=1")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "vids" / "ep.mp4"
    assert str(out) in proc.stdout
    assert "returns per trial [" in proc.stdout
    assert iio.imread(out).shape[0] == 1 + 1 * 3  # trials=1 override took effect
    assert (tmp_path / "outputs" / "render").is_dir()  # hydra.run.dir, not the repo


def test_cli_rejects_a_wrong_value_naming_the_field(tmp_path, task):
    (tmp_path / "task.json").write_text(task.to_json())
    proc = _render(tmp_path, "task.file=task.json", "policy=foo")
    assert proc.returncode == 2
    allowed = "['random', 'noop', 'expert', 'agent', 'recording']"
    assert f"policy: 'foo' is not one of {allowed}" in proc.stderr
    assert not (tmp_path / "videos").exists()


@pytest.mark.parametrize(("override", "field"), [
    ({"episodes": 0}, "episodes"),
    ({"fps": -1}, "fps"),
    ({"out": "x.avi"}, "out"),
    ({"trials": 99}, "trials"),
    ({"image_size": True}, "image_size"),
    ({"task": {"file": "a.json", "family": "basic"}}, "task"),
    ({"task": {"file": "a.json", "colour": 1}}, "task"),
    ({"policy": "agent"}, "checkpoint"),
    ({"checkpoint": "run/"}, "checkpoint"),
    ({"demo": "human"}, "demo"),
])
def test_validate_config_names_the_field(override, field):
    cfg = {"task": {"file": "a.json"}, "policy": "random", **override}
    with pytest.raises(ConfigError, match=rf"^{field}: "):
        validate_config(cfg)


def test_load_task_from_jsonl_index_and_id(tmp_path, make_task, monkeypatch):
    tasks = [make_task(trials=1, trial_steps=s) for s in (3, 4, 5)]
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join([tasks[0].to_json(), "", json.dumps({"task": tasks[1].to_dict()}),
                                tasks[2].to_json()]) + "\n")
    assert load_task(TaskSelector(file=str(path), index=1)) == tasks[1]
    with pytest.raises(ConfigError, match=r"^task.index: 3 is out of range"):
        load_task(TaskSelector(file=str(path), index=3))
    monkeypatch.setitem(sys.modules, "worlds.probes", None)  # probes absent: use tasks_file
    sel = TaskSelector(id=tasks[2].task_id, tasks_file=str(path))
    assert load_task(sel) == tasks[2]
    with pytest.raises(ConfigError, match=r"^task.id: .*task.tasks_file"):
        load_task(TaskSelector(id=tasks[2].task_id))


def test_family_without_generator_fails_clearly(monkeypatch):
    monkeypatch.setitem(sys.modules, "worlds.generator", None)  # import raises ImportError
    with pytest.raises(ConfigError, match=r"^task.family: needs worlds.generator"):
        load_task(TaskSelector(family="basic"))


def test_task_id_finds_a_probe_by_name_or_id():
    probes = pytest.importorskip("worlds.probes")
    name = probes.probe_names()[0]
    task = probes.load_probe(name)
    assert load_task(TaskSelector(id=name)) == task
    assert load_task(TaskSelector(id=task.task_id)) == task


def test_family_sample_is_seeded():
    generator = pytest.importorskip("worlds.generator")
    if "tiny" not in generator.family_names():
        pytest.skip("no 'tiny' family")
    a = load_task(TaskSelector(family="tiny", seed=5))
    assert a == load_task(TaskSelector(family="tiny", seed=5))
    with pytest.raises(ConfigError, match=r"^task.family: "):
        load_task(TaskSelector(family="no_such_family"))


def test_with_episode_keeps_the_other_episode_rules(make_task):
    """Overriding trials (as ada.evaluate's trials=k does) must not change the game: a task
    trained with sticky grabs is evaluated with sticky grabs."""
    import dataclasses

    from worlds.task import with_episode

    task = make_task(trials=2, trial_steps=5)
    sticky = dataclasses.replace(task, episode=dataclasses.replace(
        task.episode, sticky_grab=True, control_hz=20))
    out = with_episode(sticky, 3, 7)
    assert (out.episode.trials, out.episode.trial_steps) == (3, 7)
    assert out.episode.sticky_grab and out.episode.control_hz == 20
    assert with_episode(sticky, None, None) is sticky


def test_a_prompted_episode_plays_the_demonstrator_first(tmp_path):
    from ada.render import run

    def render(policy: str, demo: str | None):
        cfg = validate_config({"task": {"id": "nav_ramp_plateau"}, "policy": policy,
                               "demo": demo, "trials": 2, "trial_steps": 60, "image_size": 16,
                               "overview_size": 0, "out": str(tmp_path / f"{policy}.mp4")})
        return run(cfg)

    _, [expert] = render("expert", None)
    out, [shown] = render("noop", "expert")
    assert expert[0] > 0 and shown == [expert[0], 0.0]  # the expert's trial 1, then no-op
    assert iio.imread(out).shape[0] == 1 + 2 * 60
    with pytest.raises(ConfigError, match="^demo: expert plays trial 1 of 1"):
        run(validate_config({"task": {"id": "nav_ramp_plateau"}, "demo": "expert",
                             "trials": 1, "out": str(tmp_path / "x.mp4")}))
