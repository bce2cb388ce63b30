"""The play page's keyboard: which key codes give which of the avatar's 13 actions.

Key codes are `KeyboardEvent.code` values (the physical key, so the layout is the same on every
keyboard language). The server, not the page, owns this map: the page shows it as the server
sends it, and the server rejects any code not in it, so what the page says is what is played.
With no key held the avatar does nothing (no-op); `KeyN` takes a no-op step on purpose, which
matters when each key press is one step (pace=lockstep).
"""

from __future__ import annotations

from typing import Any

from worlds.avatar import ACTIONS, NOOP

START_KEY = "Enter"  # starts the next trial; not an action
KEYS: dict[str, str] = {
    "KeyW": "forward",
    "KeyS": "backward",
    "KeyA": "strafe_left",
    "KeyD": "strafe_right",
    "ArrowLeft": "turn_left",
    "ArrowRight": "turn_right",
    "KeyQ": "forward_left",
    "KeyE": "forward_right",
    "ArrowUp": "look_up",
    "ArrowDown": "look_down",
    "Space": "jump",
    "KeyF": "grab",
    "KeyN": "noop",
}
assert set(KEYS.values()) == set(ACTIONS), "every action needs a key"
KEY_OF_ACTION: dict[int, str] = {ACTIONS.index(a): k for k, a in KEYS.items()}
LABELS = {"ArrowLeft": "←", "ArrowRight": "→", "ArrowUp": "↑", "ArrowDown": "↓",
          "Space": "Space"}


class UnknownKeyError(ValueError):
    """A key code the game has no action for."""


def action_of(code: Any) -> int:
    """The action index of key `code`; None (no key held) is the no-op."""
    if code is None:
        return NOOP
    if not isinstance(code, str) or code not in KEYS:
        raise UnknownKeyError(f"key: {str(code)[:40]!r} is not a game key; allowed are "
                         f"{sorted(KEYS)} or null (no-op)")
    return ACTIONS.index(KEYS[code])


def key_help() -> list[dict[str, str]]:
    """(code, label, action) for the page's key table, in the action order."""
    out = [{"code": code, "label": LABELS.get(code, code.removeprefix("Key")), "action": a}
           for code, a in KEYS.items()]
    return sorted(out, key=lambda k: ACTIONS.index(k["action"]))


__all__ = ["KEYS", "KEY_OF_ACTION", "START_KEY", "UnknownKeyError", "action_of", "key_help"]
