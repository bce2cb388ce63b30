"""Recorded play as the demonstrator of prompting: `ada.evaluate ... demo=<recordings>`.

A recording (`ada.play`) demonstrates a task's trial 1 when it is the same task with the same
trial length and control rate (`ada.play.recording.demo_key`; the number of trials may differ,
only trial 1 is replayed; a recording file always holds a finished episode). The world depends
on the task alone, so the recorded actions replayed in the evaluation's env pay the recorded
rewards; the replay checks that at every step and stops with an error naming the player and
the step if not.

`select_recorded_demos` keeps, of the evaluation's tasks, those with at least one such
recording (a task nobody recorded cannot be prompted by a recording), and says what it kept and
skipped. Its `label` names the player kinds ("recorded human", "recorded scripted"), so
generated play is never reported as a human's demonstration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ada.play.recording import Recording, demo_key, load_recordings
from ada.validation import ConfigError
from worlds.task import Task, with_episode


@dataclass
class RecordedDemos:
    """The tasks to prompt (name -> task), the recordings that demonstrate them, a label for
    tables and video frames, and the section prompting.json keeps about them."""

    tasks: dict[str, Task]
    recordings: list[Recording]
    label: str
    section: dict[str, Any]

    def demonstrator(self) -> Any:
        """A fresh `ada.prompting.TaskReplayDemonstrator` over the recordings."""
        from ada.prompting import TaskReplayDemonstrator

        grouped: dict[str, list[tuple[list[int], list[float]]]] = {}
        names: dict[str, list[str]] = {}
        for r in self.recordings:
            key = demo_key(r.the_task())
            grouped.setdefault(key, []).append((r.actions, r.rewards))
            names.setdefault(key, []).append(f"{r.player} ({r.player_kind}, episode "
                                             f"{r.episode}, task {r.task_id})")
        return TaskReplayDemonstrator(grouped, demo_key, names=names)


def select_recorded_demos(source: str | Path, tasks: Mapping[str, Task],
                          trial_steps: int | None) -> RecordedDemos:
    """The recordings under `source` that demonstrate trial 1 of the given tasks (with the
    evaluation's `trial_steps` override, None keeps each task's own); raises `ConfigError`
    naming `demo` when there are none."""
    root = Path(source)
    if not root.exists():
        raise ConfigError(f"demo: {str(source)!r} is neither a policy (random, noop, expert) nor "
                          "a folder or .json file of recordings (python -m ada.play)")
    recs = load_recordings(root)
    keys = {demo_key(with_episode(t, None, trial_steps)): name for name, t in tasks.items()}
    used = [r for r in recs if demo_key(r.the_task()) in keys]  # complete, as loading checks
    if not used:
        raise ConfigError(
            f"demo: none of the {len(recs)} recordings under {str(source)!r} is of one of the "
            f"{len(tasks)} evaluated tasks with their trial length; evaluate the tasks they were "
            "recorded on (tasks=probes or a .jsonl file, trial_steps) or record these with "
            "python -m ada.play")
    shown = {keys[demo_key(r.the_task())] for r in used}
    kept = {name: t for name, t in tasks.items() if name in shown}
    kinds = sorted({r.player_kind for r in used})
    per_task: dict[str, list[str]] = {}
    for r in used:
        per_task.setdefault(keys[demo_key(r.the_task())], []).append(
            f"{r.player} ({r.player_kind})")
    section = {"source": str(source), "n_recordings": len(recs), "n_used": len(used),
               "skipped_other_tasks": len(recs) - len(used),
               "kinds": kinds, "tasks_without_recording": len(tasks) - len(kept),
               "per_task": per_task}
    return RecordedDemos(kept, used, "recorded " + "+".join(kinds), section)


__all__ = ["RecordedDemos", "select_recorded_demos"]
