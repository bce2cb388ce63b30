"""One player's sitting: a queue of episodes played in one env, paused before every trial, and
recorded episode by episode.

This is the game without the web: `ada.play.server` only turns requests into the calls below.
Keeping it apart makes the protocol (when a step is allowed, what is recorded, when a file is
written) testable without a browser, and the browser test then checks only that the page
drives it faithfully.

The player sees the env's own first-person camera (the agent's camera, rendered at
`view_size` pixels so that a person can see it) and is told what the agent is told: the goal
and the visible rules in words, a hidden rule only as "[hidden rule]" (`ada.video.task_lines`).
Before each trial play waits, as long as the player likes, for `start`; then every `step`
advances the world by one control step. When the last step of an episode is taken the
recording is written (atomically, `ada.play.recording`) before the next episode is loaded, so
stopping at any point keeps every finished episode.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ada.play.recording import Recording, write_recording
from ada.video import task_lines
from worlds.avatar import ACTIONS
from worlds.task import Task

READY, PLAYING, DONE = "ready", "playing", "done"
JPEG_QUALITY = 88


class PlayError(RuntimeError):
    """A request the game cannot take in its current phase (e.g. a step while paused)."""


@dataclass(frozen=True)
class EpisodePlan:
    """One episode to play: the task (episode spec already k trials), its name, the env seed,
    whether it is practice (recorded apart, never a baseline) and where its recording goes."""

    task: Task
    name: str
    env_seed: int
    practice: bool
    path: Path


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class PlaySession:
    """Plays `plan` in order (see the module docstring); `clock` is injectable for tests."""

    def __init__(self, plan: Sequence[EpisodePlan], *, player: str, player_kind: str,
                 view_size: int = 384, study: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from worlds.env import WorldEnv

        if not plan:
            raise ValueError("plan: no episodes to play")
        self.plan = list(plan)
        self.player, self.player_kind, self.study = player, player_kind, study
        self.clock = clock
        self.env = WorldEnv(self.plan[0].task, seed=self.plan[0].env_seed, image_size=view_size)
        self.index = -1
        self.written: list[Path] = []
        self.phase = DONE
        self.last_reward: float | None = None
        self.last_action: int | None = None
        self._frame: np.ndarray | None = None
        self._next_episode()

    # ---- episode flow ------------------------------------------------------------------------
    def _next_episode(self) -> None:
        self.index += 1
        if self.index >= len(self.plan):
            self.phase = DONE
            return
        p = self.plan[self.index]
        ep = p.task.episode
        self.env.set_task(p.task)
        self.env.rng = np.random.default_rng(p.env_seed)
        self._frame = self.env.reset().observation["rgb"]
        self.rec = Recording(
            player=self.player, player_kind=self.player_kind, task=p.task.to_dict(),
            task_id=p.task.task_id, env_seed=p.env_seed, trials=ep.trials,
            trial_steps=ep.trial_steps, control_hz=ep.control_hz, practice=p.practice,
            study=self.study, episode=self.index, started_at=_now())
        self.last_reward = self.last_action = None
        self._enter_ready()

    def _enter_ready(self) -> None:
        self.phase = READY
        self._ready_since = self.clock()

    def start(self) -> None:
        """Ends the pause before the current trial."""
        if self.phase != READY:
            raise PlayError(f"start: the game is {self.phase}, not waiting for a trial to start")
        now = self.clock()
        self.rec.pause_seconds.append(now - self._ready_since)
        self.rec.trial_starts.append(len(self.rec.actions))
        self._last_step = now
        self.phase = PLAYING

    def step(self, action: int) -> float:
        """One control step with `action`; returns its reward."""
        if self.phase != PLAYING:
            raise PlayError(f"step: the game is {self.phase}; "
                            + ("start the trial first" if self.phase == READY else
                               "every episode has been played"))
        if not 0 <= action < len(ACTIONS):
            raise PlayError(f"step: action {action} is not in [0, {len(ACTIONS) - 1}]")
        env, rec = self.env, self.rec
        trial = env.trial
        ts = env.step(action)
        now = self.clock()
        reward = float(ts.reward or 0.0)
        rec.actions.append(int(action))
        rec.rewards.append(reward)
        rec.step_seconds.append(now - self._last_step)
        self._last_step = now
        self.last_reward, self.last_action = reward, int(action)
        self._frame = ts.observation["rgb"]
        if ts.last():
            rec.trial_returns = [float(r) for r in env.trial_returns]
            rec.finished_at = _now()
            self.written.append(write_recording(rec, self.plan[self.index].path))
            self._next_episode()
        elif env.trial != trial:
            self._enter_ready()
        return reward

    # ---- what the page shows ------------------------------------------------------------------
    def frame_jpeg(self) -> bytes:
        buf = io.BytesIO()
        assert self._frame is not None
        Image.fromarray(self._frame).save(buf, format="JPEG", quality=JPEG_QUALITY)
        return buf.getvalue()

    def status(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready values."""
        out: dict[str, Any] = {"phase": self.phase, "episode": self.index + 1,
                               "episodes": len(self.plan), "player": self.player,
                               "written": len(self.written)}
        if self.phase == DONE:
            return out
        p, env = self.plan[self.index], self.env
        ep = p.task.episode
        left = ep.trial_steps - env.t_in_trial
        out.update({
            "task": p.name, "task_id": p.task.task_id, "practice": p.practice,
            "lines": [{"text": line.text, "kind": line.kind}
                      for line in task_lines(p.task.game.goal, p.task.game.rules)],
            "trial": env.trial + 1, "trials": ep.trials, "t_in_trial": env.t_in_trial,
            "trial_steps": ep.trial_steps, "control_hz": ep.control_hz,
            "seconds_left": left / ep.control_hz, "reward": self.last_reward,
            "action": None if self.last_action is None else ACTIONS[self.last_action],
            "goal_holds": bool(env.goal_holds),
            "trial_returns": [float(r) for r in env.trial_returns],
            "steps": len(self.rec.actions)})
        return out

    def close(self) -> None:
        self.env.close()


__all__ = ["DONE", "EpisodePlan", "PLAYING", "PlayError", "PlaySession", "READY"]
