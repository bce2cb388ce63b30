"""Recorded play as the demonstrator: each evaluated task is prompted by its own recording,
replayed exactly, in an env batch whose envs move from task to task."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dm_env import specs

from ada.eval.jobs import Job, run_jobs
from ada.eval.recorded_demos import select_recorded_demos
from ada.play.recording import demo_key, write_recording
from ada.policies import make_policy
from ada.prompting import ReplayMismatchError, prompted
from ada.validation import ConfigError
from tests.recorded_play import expert_run, recording_of
from worlds.avatar import NOOP, NUM_ACTIONS
from worlds.task import with_episode

SPEC = specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")


def _noop():
    return make_policy("noop", SPEC, noop_index=NOOP)


def test_demo_key_ignores_k_but_not_the_trial_length(probe_task) -> None:
    assert demo_key(with_episode(probe_task, 5, None)) == demo_key(probe_task)
    assert demo_key(with_episode(probe_task, None, 41)) != demo_key(probe_task)


def test_each_job_replays_a_recording_of_its_own_task(probe_task, expert_episode,
                                                      make_hold_task, tmp_path: Path) -> None:
    hold = make_hold_task(trials=2, trial_steps=40)
    hold_run = expert_run(hold)
    noop_run = expert_run(probe_task, policy="noop")
    assert sum(hold_run.rewards[:40]) > 0 and sum(noop_run.rewards[:40]) == 0
    recs = [recording_of(expert_episode, player="a"), recording_of(noop_run, player="b"),
            recording_of(hold_run, player="c")]
    for i, r in enumerate(recs):
        write_recording(r, tmp_path / f"{i}.json")
    tasks = {"probe": with_episode(probe_task, 3, None), "hold": with_episode(hold, 3, None)}
    demos = select_recorded_demos(tmp_path, tasks, None)
    assert set(demos.tasks) == {"probe", "hold"} and demos.label == "recorded scripted"
    assert demos.section["per_task"]["probe"] == ["a (scripted)", "b (scripted)"]
    # one env plays every job in turn: probe twice (cycling its two recordings), hold once
    order = [tasks["probe"], tasks["hold"]]
    jobs = [Job(0, 0, 11), Job(1, 0, 12), Job(0, 1, 13)]
    demonstrator = demos.demonstrator()
    returns = run_jobs(order, jobs, prompted(_noop(), demonstrator), image_size=16,
                       batch_size=1)
    assert [r[0] for r in returns] == [sum(expert_episode.rewards[:40]),
                                       sum(hold_run.rewards[:40]), 0.0]
    assert [n for _, n in demonstrator.used] == [0, 0, 1]
    assert all(r[1:] == [0.0, 0.0] for r in returns)  # the no-op "agent" acts after the demo


def test_a_recording_that_does_not_replay_names_player_and_step(probe_task, expert_episode,
                                                                tmp_path: Path) -> None:
    rec = recording_of(expert_episode, player="mallory")
    first_paid = next(t for t, r in enumerate(rec.rewards) if r > 0)
    rec.rewards[first_paid] += 1.0  # a reward the world does not pay
    rec.trial_returns = [sum(rec.rewards[:40]), sum(rec.rewards[40:])]
    write_recording(rec, tmp_path / "bad.json")
    demos = select_recorded_demos(tmp_path, {"probe": probe_task}, None)
    with pytest.raises(ReplayMismatchError, match=rf"^demo: step {first_paid} of mallory "
                                                  r"\(scripted, episode 0, task "):
        run_jobs([probe_task], [Job(0, 0, 1)], prompted(_noop(), demos.demonstrator()),
                 image_size=16, batch_size=1)


def test_no_matching_recording_is_one_error_naming_demo(probe_task, expert_episode,
                                                        tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^demo: 'nowhere' is neither a policy"):
        select_recorded_demos("nowhere", {"probe": probe_task}, None)
    write_recording(recording_of(expert_episode), tmp_path / "0.json")
    with pytest.raises(ConfigError, match=r"^demo: none of the 1 recordings .* of one of "
                                          r"the 1 evaluated tasks with their trial length"):
        select_recorded_demos(tmp_path, {"probe": probe_task}, trial_steps=39)


def test_evaluate_prompts_with_recordings(checkpoint: Path, probe_task, expert_episode,
                                          tmp_path: Path) -> None:
    from ada.evaluate import run_prompting, validate_config
    from worlds.task_files import sample_family_task

    recs = tmp_path / "recs"
    write_recording(recording_of(expert_episode), recs / "0.json")
    path = tmp_path / "tasks.jsonl"
    other = sample_family_task("tiny", 0)  # nobody recorded it: not prompted, not evaluated
    path.write_text(probe_task.to_json() + "\n" + other.to_json() + "\n")
    cfg = validate_config({"checkpoint": str(checkpoint), "tasks": str(path), "demo": str(recs),
                           "trials": [2, 3], "trial_steps": 40, "videos": 1,
                           "overview_size": 0, "out": str(tmp_path / "ev")})
    result = run_prompting(cfg, log=lambda _: None)
    data = json.loads(result.file.read_text())
    assert data["demonstrator"] == "recorded scripted"
    assert data["demonstrations"]["tasks_without_recording"] == 1
    for k in (2, 3):
        run_k = data["runs"][str(k)]
        assert run_k["tasks"] == [probe_task.task_id]
        [[prompted_ep]] = run_k["returns"]["prompted"]
        assert prompted_ep[0] == sum(expert_episode.rewards[:40])  # the recording, replayed
    [row2, _] = data["summary"]
    assert row2["demonstrator_trial1"]["mean"] == pytest.approx(
        sum(expert_episode.rewards[:40]) / 40)
    [video] = result.videos
    assert video.is_file()
