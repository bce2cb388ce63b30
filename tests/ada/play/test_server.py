"""The play server over real HTTP: bad requests get a clear error and change nothing, one tab
plays at a time, and the key map it serves covers every action."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ada.play.keys import KEYS, action_of, key_help
from ada.play.server import PlayServer
from ada.play.session import EpisodePlan, PlaySession
from worlds.avatar import ACTIONS


@pytest.fixture
def server(expert_episode, tmp_path: Path) -> Iterator[PlayServer]:
    plan = [EpisodePlan(expert_episode.task, "see_goal", 0, False, tmp_path / "ep.json")]
    srv = PlayServer(PlaySession(plan, player="t", player_kind="scripted", view_size=64),
                     port=0, pace="lockstep")
    srv.start_background()
    yield srv
    srv.shutdown()


def call(srv: PlayServer, method: str, path: str, body: Any = None,
         raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(srv.url.rstrip("/") + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_every_action_has_a_key_and_codes_are_checked() -> None:
    assert sorted(k["action"] for k in key_help()) == sorted(ACTIONS)
    assert {action_of(c) for c in KEYS} == set(range(len(ACTIONS)))
    assert action_of(None) == ACTIONS.index("noop")


def test_bad_requests_get_clear_errors_and_change_nothing(server) -> None:
    _, claimed = call(server, "POST", "/api/claim", {})
    token = claimed["token"]
    assert call(server, "POST", "/api/start", {"token": token})[0] == 200
    before = server.session.status()["steps"]
    cases = [
        (call(server, "POST", "/api/step", {"token": token, "key": "KeyZ"}), 400, "KeyZ"),
        (call(server, "POST", "/api/step", {"token": token, "key": 7}), 400, "not a game key"),
        (call(server, "POST", "/api/step", {"token": token}), 400, "key: missing"),
        (call(server, "POST", "/api/step", raw=b"{not json"), 400, "not JSON"),
        (call(server, "POST", "/api/step", raw=b"[1, 2]"), 400, "JSON object"),
        (call(server, "POST", "/api/step", raw=b"x" * 10_000), 413, "at most"),
        (call(server, "POST", "/api/step", {"token": "forged", "key": "KeyW"}), 409,
         "no longer holds"),
        (call(server, "POST", "/api/start", {"token": token}), 409, "not waiting"),
        (call(server, "GET", "/api/nothing"), 404, "no such page"),
        (call(server, "POST", "/api/claim", {"takeover": "yes"}), 400, "takeover"),
    ]
    for (status, body), want_status, text in cases:
        assert status == want_status and text in body["error"], (status, body)
    assert server.session.status()["steps"] == before
    status, state = call(server, "POST", "/api/step", {"token": token, "key": "KeyW"})
    assert status == 200 and state["steps"] == before + 1 and state["action"] == "forward"
    assert state["frame"].startswith("data:image/jpeg;base64,")


def test_a_second_tab_is_refused_until_it_takes_over(server) -> None:
    first = call(server, "POST", "/api/claim", {})[1]["token"]
    status, body = call(server, "POST", "/api/claim", {})
    assert status == 409 and "another tab" in body["error"]
    second = call(server, "POST", "/api/claim", {"takeover": True})[1]["token"]
    assert call(server, "GET", f"/api/state?token={first}")[0] == 409
    assert call(server, "GET", f"/api/state?token={second}")[0] == 200


def test_a_closed_tab_frees_the_game_and_the_episode_goes_on(server, monkeypatch) -> None:
    """A tab that stops talking (closed) no longer holds the game; the next tab continues the
    same episode where it was."""
    import time

    import ada.play.server as srv_module

    monkeypatch.setattr(srv_module, "STALE_SECONDS", 0.2)
    first = call(server, "POST", "/api/claim", {})[1]["token"]
    call(server, "POST", "/api/start", {"token": first})
    call(server, "POST", "/api/step", {"token": first, "key": "KeyW"})
    time.sleep(0.3)  # the tab was closed
    status, body = call(server, "POST", "/api/claim", {})
    assert status == 200
    _, state = call(server, "GET", f"/api/state?token={body['token']}")
    assert state["phase"] == "playing" and state["steps"] == 1
