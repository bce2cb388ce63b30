"""Video frames: layout and size, the hidden-rule guarantee on the text, and a real MP4."""

from __future__ import annotations

import dataclasses

import imageio.v3 as iio
import numpy as np
import pytest
from dm_env import specs

from ada.policies import NoopPolicy, RandomPolicy, make_policy
from ada.render import render_episode
from ada.video import (
    HIDDEN_RULE,
    StepStatus,
    compose_frame,
    panel_lines,
    status_lines,
    task_lines,
    wrap_text,
    write_mp4,
)
from worlds.avatar import NUM_ACTIONS
from worlds.task import Rule


def _status(**kw) -> StepStatus:
    base = dict(step=7, trial=1, trials=3, t_in_trial=2, trial_steps=5,
                trial_returns=(3.0, 1.0), reward=1.0, action="forward_left", goal_holds=True)
    return StepStatus(**{**base, **kw})


def test_task_lines_mask_exactly_the_hidden_rules(task):
    text = "\n".join(ln.text for ln in task_lines(task.game.goal, task.game.rules))
    assert "purple sphere" not in text and "hold(agent, red cube)" not in text
    assert text.count(HIDDEN_RULE) == 1
    assert "near(red cube, blue sphere) -> green pyramid" in text
    assert f"goal: {task.game.goal}" in text
    # the marker follows the flag, not the rule's content: unhide it and its content appears
    revealed = tuple(dataclasses.replace(r, hidden=False) for r in task.game.rules)
    text2 = "\n".join(ln.text for ln in task_lines(task.game.goal, revealed))
    assert HIDDEN_RULE not in text2 and "purple sphere" in text2
    hide_all = tuple(Rule(r.condition, r.product, hidden=True) for r in task.game.rules)
    text3 = "\n".join(ln.text for ln in task_lines(task.game.goal, hide_all))
    assert text3.count(HIDDEN_RULE) == 2 and "->" not in text3


def test_status_lines_show_trial_step_reward_action_and_returns():
    text = "\n".join(ln.text for ln in status_lines(_status()))
    assert "trial 2/3" in text and "step 7" in text and "2/5 in trial" in text
    assert "forward_left" in text and "reward: 1" in text
    assert "[3 1]" in text and "total 4" in text
    first = "\n".join(ln.text for ln in status_lines(_status(action=None, reward=None)))
    assert "action: -" in first and "reward: -" in first


def test_wrap_text_fits_width_and_keeps_all_words():
    text = "goal: " + " and ".join(f"near(agent, colour{i} pyramid)" for i in range(12))
    lines = wrap_text(text, 200)
    assert len(lines) > 3
    from ada.video import _font
    assert all(_font().getlength(ln) <= 200 for ln in lines)
    assert " ".join(ln.strip() for ln in lines).split() == text.split()


def test_compose_frame_layout(task):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    overview = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    lines = panel_lines(task, _status())
    frame = compose_frame(rgb, overview, lines, height_of_panel=120)
    assert frame.dtype == np.uint8 and frame.shape == (256 + 120, 512, 3)
    # nearest-neighbour upscale: a 4x4 block below the caption repeats one agent pixel
    np.testing.assert_array_equal(frame[60:64, 40:44], np.broadcast_to(rgb[15, 10], (4, 4, 3)))
    np.testing.assert_array_equal(frame[100:200, 300:500], overview[100:200, 44:244])
    panel = frame[256:]
    assert (panel != panel[-1, -1]).any()  # text was drawn
    auto = compose_frame(rgb, None, lines)
    assert auto.shape[1] == 256 and auto.shape[0] > 256


def test_policies_follow_the_interface():
    spec = specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")
    rng = np.random.default_rng(0)
    rand = make_policy("random", spec)
    assert isinstance(rand, RandomPolicy)
    acts = {rand.act({}, rand.initial_state(1), False, rng)[0] for _ in range(200)}
    assert acts == set(range(NUM_ACTIONS))
    noop = make_policy("noop", spec, noop_index=0)
    assert isinstance(noop, NoopPolicy) and noop.act({}, None, True, rng)[0] == 0
    allowed = r"\['random', 'noop', 'expert'\]"
    with pytest.raises(ValueError, match=rf"policy: 'foo' is not one of {allowed}"):
        make_policy("foo", spec)


def test_rendered_episode_writes_a_readable_mp4(task, tmp_path):
    frames, returns = render_episode(task, NoopPolicy(0), seed=0, image_size=32,
                                     overview_size=96)
    assert len(frames) == 1 + 2 * 5
    assert len(returns) == 2
    assert {f.shape for f in frames} == {frames[0].shape}
    assert frames[0].shape[1] == 2 * 96
    frames = [f[:-1, :-1] for f in frames]  # odd width must still encode (padded, not scaled)
    h, w = frames[0].shape[:2]
    out = tmp_path / "sub" / "ep.mp4"
    assert write_mp4(out, frames, fps=10) == 11
    video = iio.imread(out)
    assert video.shape == (11, h + h % 2, w + w % 2, 3)
    assert [p.name for p in out.parent.iterdir()] == ["ep.mp4"]  # no temp file left behind


def test_write_mp4_is_atomic_on_failure(tmp_path):
    out = tmp_path / "v.mp4"
    good = np.zeros((16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="differs from the first"):
        write_mp4(out, [good, np.zeros((8, 8, 3), np.uint8)], fps=5)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="no frames"):
        write_mp4(out, [], fps=5)
    assert list(tmp_path.iterdir()) == []


def test_a_demonstration_trial_says_who_plays_it():
    lines = [ln.text for ln in status_lines(_status(shown_by="expert"))]
    assert lines[0] == "DEMONSTRATION: expert plays this trial, the agent only watches"
    assert not any("DEMONSTRATION" in t for t in (ln.text for ln in status_lines(_status())))
