"""The game without the web: pauses before trials, steps only while playing, records each
episode as it ends; study plans randomise per player, repeat for the same player, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from ada.play.recording import load_recording, replay
from ada.play.session import DONE, PLAYING, READY, EpisodePlan, PlayError, PlaySession
from ada.play.study import plan_for, study_plan, validate_config
from ada.validation import ConfigError


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_session_records_the_played_episode(expert_episode, tmp_path: Path) -> None:
    clock = Clock()
    plan = [EpisodePlan(expert_episode.task, "see_goal", 0, False, tmp_path / "ep.json")]
    s = PlaySession(plan, player="t", player_kind="scripted", view_size=64, clock=clock)
    n = expert_episode.task.episode.trial_steps
    assert s.phase == READY and s.status()["lines"][0]["kind"] == "goal"
    with pytest.raises(PlayError, match="start the trial first"):
        s.step(0)
    for trial in range(2):
        clock.t += 5.0 + trial  # reading the goal
        s.start()
        assert s.phase == PLAYING
        for a in expert_episode.actions[trial * n:(trial + 1) * n]:
            clock.t += 0.1
            s.step(a)
        assert s.phase == (READY if trial == 0 else DONE)
    s.close()
    rec = load_recording(tmp_path / "ep.json")
    assert rec.rewards == expert_episode.rewards == replay(rec)
    assert rec.pause_seconds == [5.0, 6.0]
    assert rec.step_seconds == pytest.approx([0.1] * 2 * n)
    assert rec.player_kind == "scripted" and rec.trial_starts == [0, n]


def test_the_page_is_told_hidden_rules_only_as_hidden(make_task, tmp_path) -> None:
    plan = [EpisodePlan(make_task(), "tiny", 0, False, tmp_path / "x.json")]
    s = PlaySession(plan, player="t", player_kind="human", view_size=64)
    text = " ".join(line["text"] for line in s.status()["lines"])
    s.close()
    assert "[hidden rule]" in text and "purple" not in text


def _study(tmp_path: Path) -> Path:
    f = tmp_path / "study.yaml"
    f.write_text("name: s\nseed: 3\npractice: {tasks: probes, n_tasks: 1, trials: 1}\n"
                 "tasks: {tasks: probes, trials: [2, 3, 5]}\n")
    return f


def _cfg(tmp_path: Path, player: str, **kw):
    return validate_config({"player": player, "study": str(_study(tmp_path)),
                            "out": str(tmp_path / "rec"), **kw})


def test_a_study_orders_tasks_per_player_and_draws_one_k_per_task(tmp_path) -> None:
    a1, a2, b = (study_plan(_cfg(tmp_path, p)) for p in ("alice", "alice", "bob"))
    assert [p.task.task_id for p in a1] == [p.task.task_id for p in a2]
    assert a1[0].practice and a1[0].task.episode.trials == 1
    assert a1[0].path.parent.name == "practice"
    names_a = [p.name for p in a1[1:]]
    assert sorted(names_a) == sorted(p.name for p in b[1:]) and names_a != [p.name for p in b[1:]]
    ks = {p.task.episode.trials for p in a1[1:]}
    assert ks <= {2, 3, 5} and len(ks) > 1
    assert all(p.path.parent.name == "alice" for p in a1[1:])


def test_a_study_resumes_with_the_episodes_not_yet_recorded(tmp_path) -> None:
    cfg = _cfg(tmp_path, "carol")
    full, skipped = plan_for(cfg)
    assert skipped == 0
    full[0].path.parent.mkdir(parents=True)
    full[0].path.write_text("{}")  # stands for a finished practice episode
    full[3].path.parent.mkdir(parents=True, exist_ok=True)
    full[3].path.write_text("{}")
    todo, skipped = plan_for(cfg)
    assert skipped == 2 and [p.path for p in todo] == [p.path for i, p in enumerate(full)
                                                        if i not in (0, 3)]


@pytest.mark.parametrize(("d", "message"), [
    ({}, "player: not set"),
    ({"player": "a", "pace": "fast"}, "pace"),
    ({"player": "a", "player_kind": "bot"}, "player_kind"),
    ({"player": "a", "trials": 0}, "trials"),
    ({"player": "a", "colour": 1}, "colour"),
    ({"player": "a", "view_size": 10}, "view_size"),
])
def test_bad_play_config_is_one_error(d, message) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_config(d)
