"""The play page's HTTP server: the page, and a small JSON API that drives a `PlaySession`.

Only the standard library: `http.server`'s threading server, bound to 127.0.0.1 by default
(reach it from another machine through an SSH tunnel, `ssh -L 8000:localhost:8000 host`).
Every env call runs on one worker thread, because a GL context belongs to the thread that made
it current; request threads hand their call to that worker and wait.

API (all JSON; errors are `{"error": "..."}` with status 400, 404, 409 or 413):

* `POST /api/claim {"takeover": false}` -> `{"token": ...}`: one tab plays at a time. A claim is
  refused (409) while another tab's token was used in the last `STALE_SECONDS`, unless it asks
  to take over; the old tab's next request then gets 409 and its page says so.
* `GET /api/state?token=...` -> the session's status (`PlaySession.status`) and the frame.
* `POST /api/start {"token": ...}` ends the pause before a trial.
* `POST /api/step {"token": ..., "key": "KeyW" | null}` steps once with the key's action (no
  key: no-op). An unknown key code is a 400 naming the allowed codes, and changes nothing.

A malformed request never reaches the session, and a recording is written only by the session,
atomically, when an episode ends: nothing a client sends can corrupt or lose a recording.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

from ada.play.keys import KEYS, UnknownKeyError, action_of, key_help
from ada.play.session import PlayError, PlaySession

STALE_SECONDS = 3.0  # a tab silent this long no longer holds the game
MAX_BODY = 4096
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class PlayServer:
    """Serves `session` on (host, port); port 0 picks a free one (see `url`)."""

    def __init__(self, session: PlaySession, *, host: str = "127.0.0.1", port: int = 8000,
                 pace: str = "realtime") -> None:
        self.session, self.pace = session, pace
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ada-play-env")
        self._lock = threading.Lock()
        self._token: str | None = None
        self._seen = 0.0
        self.page = resources.files("ada.play").joinpath("page.html").read_text("utf-8")
        self.httpd = ThreadingHTTPServer((host, port), _handler(self))
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def start_background(self) -> threading.Thread:
        t = threading.Thread(target=self.serve_forever, name="ada-play-http", daemon=True)
        t.start()
        return t

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.on_env(self.session.close)
        self._worker.shutdown(wait=True)

    def on_env(self, fn: Callable[[], T]) -> T:
        """Runs `fn` on the env's thread and returns its result."""
        return self._worker.submit(fn).result()

    # ---- tabs ------------------------------------------------------------------------------------
    def claim(self, takeover: bool) -> str:
        with self._lock:
            now = time.monotonic()
            if self._token is not None and now - self._seen < STALE_SECONDS and not takeover:
                raise ApiError(HTTPStatus.CONFLICT, "the game is open in another tab; close that "
                               "tab, or take over here (the other tab stops)")
            self._token, self._seen = secrets.token_hex(16), now
            return self._token

    def check(self, token: Any) -> None:
        with self._lock:
            if not isinstance(token, str) or token != self._token:
                raise ApiError(HTTPStatus.CONFLICT, "this tab no longer holds the game (another "
                               "tab took over, or the server restarted): reload to claim it")
            self._seen = time.monotonic()

    # ---- API -------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            s = self.session.status()
            if s["phase"] != "done":
                s["frame"] = "data:image/jpeg;base64," + base64.b64encode(
                    self.session.frame_jpeg()).decode("ascii")
            return s

        out = self.on_env(read)
        out.update(pace=self.pace, keys=key_help())
        return out

    def start(self) -> dict[str, Any]:
        self._call(self.session.start)
        return self.state()

    def step(self, key: Any) -> dict[str, Any]:
        action = action_of(key)
        self._call(lambda: self.session.step(action))
        return self.state()

    def _call(self, fn: Callable[[], Any]) -> None:
        try:
            self.on_env(fn)
        except PlayError as e:
            raise ApiError(HTTPStatus.CONFLICT, str(e)) from None


def _handler(server: PlayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "ada-play"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # one line per request would drown the console at 10 steps per second

        def _send(self, status: HTTPStatus, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: HTTPStatus, obj: Any) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json")

        def _body(self) -> dict[str, Any]:
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise ApiError(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
            if n > MAX_BODY:
                raise ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"request body of {n} bytes; at most {MAX_BODY}")
            raw = self.rfile.read(n) if n > 0 else b"{}"
            try:
                d = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ApiError(HTTPStatus.BAD_REQUEST, "the request body is not JSON") from None
            if not isinstance(d, dict):
                raise ApiError(HTTPStatus.BAD_REQUEST, "the request body must be a JSON object")
            return d

        def _route(self, method: str) -> None:
            url = urlparse(self.path)
            try:
                if method == "GET" and url.path in ("/", "/index.html"):
                    self._send(HTTPStatus.OK, server.page.encode(), "text/html; charset=utf-8")
                    return
                if method == "GET" and url.path == "/favicon.ico":
                    self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
                    return
                if method == "GET" and url.path == "/api/state":
                    server.check(parse_qs(url.query).get("token", [None])[0])
                    self._json(HTTPStatus.OK, server.state())
                    return
                if method == "POST" and url.path in ("/api/claim", "/api/start", "/api/step"):
                    body = self._body()
                    if url.path == "/api/claim":
                        takeover = body.get("takeover", False)
                        if not isinstance(takeover, bool):
                            raise ApiError(HTTPStatus.BAD_REQUEST,
                                           "takeover: must be true or false")
                        self._json(HTTPStatus.OK, {"token": server.claim(takeover)})
                        return
                    server.check(body.get("token"))
                    if url.path == "/api/start":
                        self._json(HTTPStatus.OK, server.start())
                    else:
                        if "key" not in body:
                            raise ApiError(HTTPStatus.BAD_REQUEST,
                                           "key: missing; send a key code or null (no-op)")
                        self._json(HTTPStatus.OK, server.step(body["key"]))
                    return
                raise ApiError(HTTPStatus.NOT_FOUND, f"{method} {url.path}: no such page; "
                               "the game is at /")
            except ApiError as e:
                self._json(e.status, {"error": str(e)})
            except UnknownKeyError as e:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(e)})
            except (BrokenPipeError, ConnectionResetError):
                pass  # the tab went away mid-reply; the session is untouched

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

    return Handler


__all__ = ["KEYS", "PlayServer", "STALE_SECONDS"]
