"""Recordings: what is written is valid, complete and atomic; a bad file is one clear error; a
recording replays to exactly its rewards and serves as a demonstration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ada.play.recording import (
    ReplayError,
    demonstrator,
    load_recording,
    load_recordings,
    replay,
    write_recording,
)
from ada.validation import ConfigError


def test_a_recording_round_trips_and_replays_to_its_rewards(expert_episode, make_recording,
                                                            tmp_path) -> None:
    path = write_recording(make_recording(expert_episode), tmp_path / "a" / "ep.json")
    rec = load_recording(path)
    assert rec.actions == expert_episode.actions
    assert replay(rec) == expert_episode.rewards
    assert rec.scores().tolist() == [32 / 40, 32 / 40]
    assert [p.name for p in path.parent.iterdir()] == ["ep.json"]  # no temporary left over


def test_a_changed_action_fails_replay_naming_the_step(expert_episode, make_recording) -> None:
    rec = make_recording(expert_episode)
    first_reward = rec.rewards.index(1.0)
    rec.actions[:first_reward + 1] = [0] * (first_reward + 1)  # stand still until then
    with pytest.raises(ReplayError, match=rf"step {first_reward} \(trial 1\)"):
        replay(rec)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(player_kind="robot"), "player_kind"),
    (lambda d: d.update(format="other/1"), "format"),
    (lambda d: d.pop("rewards"), "fields missing"),
    (lambda d: d.update(extra=1), "unknown"),
    (lambda d: d.update(task_id="0" * 16), "task_id"),
    (lambda d: d["actions"].pop(), "rewards: 80 entries for 79 actions"),
    (lambda d: d["actions"].__setitem__(0, 13), "actions"),
    (lambda d: d["rewards"].__setitem__(0, 1.0), "trial_returns"),
    (lambda d: d.update(trials=3), "trials"),
])
def test_a_bad_recording_is_one_error_naming_the_field(expert_episode, make_recording, tmp_path,
                                                        edit, message) -> None:
    d = make_recording(expert_episode).to_dict()
    edit(d)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ConfigError, match=message) as e:
        load_recording(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_an_invalid_recording_is_never_written_and_the_old_file_survives(
        expert_episode, make_recording, tmp_path: Path) -> None:
    good = write_recording(make_recording(expert_episode), tmp_path / "ep.json")
    before = good.read_bytes()
    bad = make_recording(expert_episode)
    bad.actions.pop()
    with pytest.raises(ConfigError):
        write_recording(bad, good)
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep.json"]


def test_practice_is_left_out_of_loading_unless_asked(expert_episode, make_recording,
                                                     tmp_path) -> None:
    write_recording(make_recording(expert_episode), tmp_path / "p" / "000.json")
    write_recording(make_recording(expert_episode, practice=True),
                    tmp_path / "p" / "practice" / "000.json")
    assert len(load_recordings(tmp_path)) == 1
    assert len(load_recordings(tmp_path, practice=True)) == 2
    with pytest.raises(ConfigError, match="neither a recording file nor a folder"):
        load_recordings(tmp_path / "missing")


def test_a_recording_prompts_like_the_expert_it_recorded(expert_episode, make_recording) -> None:
    """As a demonstrator, the recording replays trial 1 exactly (rewards checked each step)."""
    import numpy as np
    from dm_env import specs

    from ada.eval.jobs import Job, run_jobs
    from ada.policies import make_policy
    from ada.prompting import prompted
    from worlds.avatar import NOOP, NUM_ACTIONS

    rec = make_recording(expert_episode)
    spec = specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")
    agent = make_policy("noop", spec, noop_index=NOOP)
    [returns] = run_jobs([expert_episode.task], [Job(0, 0, 0)],
                         prompted(agent, demonstrator(rec)), image_size=16, batch_size=1)
    assert returns == [32.0, 0.0]  # the demonstration's trial 1, then the no-op agent's
