"""A recording as `ada.render` input: replayed into a video with its own rewards, or shown to
the agent as its trial-1 demonstration; a recording that does not replay is one clear error."""

from __future__ import annotations

import imageio.v3 as iio
import pytest

from ada.play.recording import write_recording
from ada.render import run, validate_config
from ada.validation import ConfigError


def test_a_recording_renders_to_its_own_rewards(expert_episode, make_recording, tmp_path) -> None:
    rec = make_recording(expert_episode)
    path = write_recording(rec, tmp_path / "ep.json")
    cfg = validate_config({"policy": "recording", "recording": str(path), "overview_size": 0,
                           "image_size": 16, "out": str(tmp_path / "v.mp4")})
    out, [returns] = run(cfg)
    assert returns == rec.trial_returns
    assert iio.imread(out).shape[0] == 1 + len(rec.actions)


def test_a_recording_that_does_not_replay_fails_and_leaves_no_video(
        expert_episode, make_recording, tmp_path) -> None:
    rec = make_recording(expert_episode)
    rec.actions[: rec.rewards.index(1.0) + 1] = [0] * (rec.rewards.index(1.0) + 1)
    rec.trial_returns[0] = sum(rec.rewards[:40])  # consistent file, wrong actions
    path = write_recording(rec, tmp_path / "ep.json")
    cfg = validate_config({"policy": "recording", "recording": str(path), "overview_size": 0,
                           "image_size": 16, "out": str(tmp_path / "v.mp4")})
    with pytest.raises(ConfigError, match="does not replay"):
        run(cfg)
    assert not (tmp_path / "v.mp4").exists()


def test_the_agent_plays_after_the_recordings_first_trial(expert_episode, make_recording,
                                                          checkpoint, tmp_path) -> None:
    path = write_recording(make_recording(expert_episode), tmp_path / "ep.json")
    cfg = validate_config({"policy": "agent", "checkpoint": str(checkpoint),
                           "recording": str(path), "overview_size": 0,
                           "out": str(tmp_path / "v.mp4")})
    _, [returns] = run(cfg)
    assert returns[0] == 32.0  # trial 1 is the recording's


@pytest.mark.parametrize(("d", "message"), [
    ({"policy": "recording"}, "recording: not set"),
    ({"policy": "noop", "recording": "r.json"}, "policy: 'noop' with recording"),
    ({"policy": "recording", "recording": "r.json", "trials": 2}, "trials: 2 with recording"),
    ({"policy": "recording", "recording": "r.json", "task": {"family": "tiny"}},
     "task: set with recording"),
])
def test_bad_recording_render_config_names_the_field(d, message) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_config(d)
