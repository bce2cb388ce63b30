"""The play page in a real browser (Debian's chromium, headless, driven by selenium).

Lockstep: a scripted player presses the expert's actions as keys, one step per press; the
recording the page produces must replay to the expert's own rewards. Realtime: a held key keeps
the avatar acting at the task's control rate, and the trial runs to its end on its own.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ada.play.keys import KEY_OF_ACTION
from ada.play.recording import load_recording, replay
from ada.play.server import PlayServer
from ada.play.session import EpisodePlan, PlaySession
from tests.browser import console_errors
from worlds.avatar import ACTIONS

SCRATCH = Path("/work/scratch")


def selenium_key(code: str) -> str:
    from selenium.webdriver.common.keys import Keys

    special = {"ArrowLeft": Keys.ARROW_LEFT, "ArrowRight": Keys.ARROW_RIGHT,
               "ArrowUp": Keys.ARROW_UP, "ArrowDown": Keys.ARROW_DOWN, "Space": Keys.SPACE,
               "Enter": Keys.RETURN}  # Keys.ENTER arrives as code NumpadEnter
    return special.get(code) or code.removeprefix("Key").lower()


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def serve(expert_episode, tmp_path: Path) -> Iterator[Callable[[str], PlayServer]]:
    servers: list[PlayServer] = []

    def make(pace: str) -> PlayServer:
        plan = [EpisodePlan(expert_episode.task, "see_goal", 0, False, tmp_path / "ep.json")]
        srv = PlayServer(PlaySession(plan, player="expert (scripted keys)",
                                     player_kind="scripted", view_size=128),
                         port=0, pace=pace)
        srv.start_background()
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.shutdown()


def _open(browser, srv: PlayServer) -> None:
    browser.get("about:blank")  # leave the last test's page (its server is gone) ...
    console_errors(browser)  # ... and what it logged on the way out
    browser.get(srv.url)
    wait_for(lambda: "press Enter" in browser.find_element("id", "overlay").text, 30,
             "the page to wait for the first trial")


@pytest.fixture(scope="module")
def page_recording(browser, expert_episode, tmp_path_factory) -> Path:
    """The folder of one recording made by pressing the expert's actions through the page
    (lockstep, labelled scripted): for the replay test here and the evaluation test below."""
    from selenium.webdriver.common.action_chains import ActionChains

    root = tmp_path_factory.mktemp("recordings")
    plan = [EpisodePlan(expert_episode.task, "see_goal", 0, False, root / "ep.json")]
    srv = PlayServer(PlaySession(plan, player="expert (scripted keys)", player_kind="scripted",
                                 view_size=128), port=0, pace="lockstep")
    srv.start_background()
    try:
        _open(browser, srv)
        n = expert_episode.task.episode.trial_steps
        keys = [selenium_key(KEY_OF_ACTION[a]) for a in expert_episode.actions]
        for trial in range(2):
            chain = ActionChains(browser).send_keys(selenium_key("Enter"))
            for k in keys[trial * n:(trial + 1) * n]:
                chain = chain.send_keys(k)
            chain.perform()
            if trial == 0:
                wait_for(lambda: srv.session.status().get("trial") == 2
                         and srv.session.phase == "ready", 60, "the end of trial 1")
                shot = root.parent / "play.png"
                browser.save_screenshot(str(shot))
                if SCRATCH.is_dir():
                    shutil.copy(shot, SCRATCH / "play.png")
        wait_for(lambda: (root / "ep.json").exists(), 60, "the recording")
        wait_for(lambda: "recorded" in browser.find_element("id", "overlay").text, 10,
                 "the page to say the episode was recorded")
        assert console_errors(browser) == []
    finally:
        browser.get("about:blank")
        srv.shutdown()
    return root


def test_expert_keys_through_the_page_replay_to_the_experts_rewards(
        page_recording, expert_episode) -> None:
    rec = load_recording(page_recording / "ep.json")
    assert [ACTIONS[a] for a in rec.actions] == [ACTIONS[a] for a in expert_episode.actions]
    assert replay(rec) == rec.rewards == expert_episode.rewards
    assert rec.player_kind == "scripted" and rec.pause_seconds[1] > 0


def test_evaluation_reports_recorded_play_as_its_own_kind(page_recording, checkpoint,
                                                          expert_episode, tmp_path) -> None:
    """The recordings give a "scripted" row (never "human") with its time to first success."""
    import json

    from ada.evaluate import format_table, run, validate_config

    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"name": "see_goal", "task": expert_episode.task.to_dict()})
                     + "\n")
    cfg = validate_config({"checkpoint": str(checkpoint), "tasks": str(tasks), "trials": 2,
                           "videos": 0, "baselines": ["random"], "out": str(tmp_path / "ev"),
                           "human": str(page_recording)})
    result = run(cfg, log=lambda _: None)
    data = json.loads(result.files["json"].read_text())
    rows = {(r["policy"], r["trial"]): r for r in data["per_trial"]}
    assert rows[("scripted", 1)]["mean"] == rows[("scripted", 2)]["mean"] == 32 / 40
    assert rows[("scripted", 1)]["n_tasks"] == 1
    assert not any(r["policy"] == "human" for r in data["per_trial"])
    assert "no human recordings among them" in data["human"]["note"]
    assert data["scripted_players"] == [1] and data["scripted_scores"] == [[0.8, 0.8]]
    first = expert_episode.rewards.index(1.0)
    ts = data["timescale"]["scripted"]
    assert ts["trials_to_first_success"]["median"] == 1.0
    assert ts["seconds_to_first_success"]["median"] == pytest.approx((first + 1) / 10)
    assert ts["score_after_minute"][0]["mean"] == pytest.approx(64 / 80)
    assert set(data["timescale"]) == {"agent", "random", "scripted"}
    assert "scripted" in data["versus"] and "agent - scripted" in format_table(result.summary)
    assert "scripted" in result.files["report"].read_text()


def test_a_held_key_acts_in_real_time_until_the_trial_ends(browser, serve) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    srv = serve("realtime")
    _open(browser, srv)
    ActionChains(browser).send_keys(selenium_key("Enter")).perform()
    wait_for(lambda: srv.session.phase == "playing", 10, "the trial to start")
    ActionChains(browser).key_down("w").pause(1.5).key_up("w").perform()
    wait_for(lambda: srv.session.phase == "ready", 30, "the trial to run out")
    rec = srv.session.rec
    steps = rec.trial_steps
    assert len(rec.actions) == steps  # the trial ran to its end with no key held
    forward = [a == ACTIONS.index("forward") for a in rec.actions]
    assert 8 <= sum(forward) <= 25, sum(forward)  # about 1.5 s at 10 steps per second
    assert not any(forward[forward.index(False, forward.index(True)):])  # released: no-ops
    median = sorted(rec.step_seconds)[len(rec.step_seconds) // 2]
    assert 0.09 <= median <= 0.25, median
    assert console_errors(browser) == []
