"""What a player plays: the play config, task selection, and AdA's study protocol.

Free play takes its tasks from `tasks=probes|heldout|family|<file.jsonl>` with one `trials=k`.
A study (`study=<file.yaml>`) follows AdA's human-baseline protocol: first practice tasks, to
learn the controls (recorded under practice/, never used as a baseline), then the study tasks
in an order randomised per player, each with one number of trials k drawn per (player, task)
from the study's list. The draw is seeded by the study's seed and the player's name, so a player
who stops and comes back gets the same order and the same k, and the episodes already recorded
are skipped: stopping midway loses nothing and repeats nothing.

A study file:

    name: pilot
    seed: 0
    practice: {tasks: probes, n_tasks: 2, trials: 1}
    tasks: {tasks: heldout, family: default, n_tasks: 20, trials: [2, 3, 5]}
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ada.play.recording import PLAYER_KINDS
from ada.play.session import EpisodePlan
from ada.validation import (
    ConfigError,
    choice,
    fail,
    integer,
    known_fields,
    optional_integer,
    text,
)
from worlds.task import MAX_TRIALS, Task, with_episode

PACES = ("realtime", "lockstep")
SOURCES = ("probes", "heldout", "family")
TOP_FIELDS = ("player", "player_kind", "tasks", "family", "seeds", "n_tasks", "trials",
              "trial_steps", "study", "view_size", "host", "port", "pace", "out", "seed")
SELECTION_FIELDS = ("tasks", "family", "seeds", "n_tasks", "trials", "trial_steps")
STUDY_FIELDS = ("name", "seed", "practice", "tasks")


@dataclass(frozen=True)
class Selection:
    """Which tasks, with which k: `trials` is one k, or the list a study draws from."""

    tasks: str = "probes"
    family: str = "default"
    seeds: tuple[int, ...] = (0,)
    n_tasks: int | None = None
    trials: tuple[int, ...] = (3,)
    trial_steps: int | None = None


@dataclass(frozen=True)
class PlayConfig:
    player: str
    player_kind: str = "human"
    selection: Selection = Selection()
    study: str | None = None
    view_size: int = 384
    host: str = "127.0.0.1"
    port: int = 8000
    pace: str = "realtime"
    out: str = "recordings"
    seed: int = 0


def _selection(where: str, d: Any, *, many_k: bool) -> Selection:
    if not isinstance(d, Mapping):
        fail(where or "config", d, f"mappings with fields {list(SELECTION_FIELDS)}")
    p = f"{where}." if where else ""
    raw_k = d.get("trials", 3)
    ks = list(raw_k) if isinstance(raw_k, (list, tuple)) and many_k else [raw_k]
    if not ks:
        raise ConfigError(f"{p}trials: [] names no number of trials")
    seeds = d.get("seeds", [0])
    if not isinstance(seeds, (list, tuple)) or not seeds:
        fail(f"{p}seeds", seeds, "non-empty lists of integers >= 0")
    return Selection(
        tasks=text(f"{p}tasks", d.get("tasks", "probes")) or "probes",
        family=text(f"{p}family", d.get("family", "default")) or "default",
        seeds=tuple(integer(f"{p}seeds", s, 0) for s in seeds),
        n_tasks=optional_integer(f"{p}n_tasks", d.get("n_tasks"), 1, 100_000),
        trials=tuple(integer(f"{p}trials", k, 1, MAX_TRIALS) for k in ks),
        trial_steps=optional_integer(f"{p}trial_steps", d.get("trial_steps"), 1, 100_000))


def validate_config(d: Mapping[str, Any]) -> PlayConfig:
    """Checks every field of the (resolved, plain-dict) config; raises ConfigError."""
    d = {k: v for k, v in d.items() if k != "hydra"}
    known_fields("config", d, TOP_FIELDS)
    player = text("player", d.get("player"), optional=True)
    if player is None or not player.strip():
        raise ConfigError("player: not set; give your name, e.g. player=alice (recordings go "
                          "to <out>/<player>/)")
    return PlayConfig(
        player=player.strip(),
        player_kind=choice("player_kind", d.get("player_kind", "human"), PLAYER_KINDS),
        selection=_selection("", {k: d[k] for k in SELECTION_FIELDS if k in d}, many_k=False),
        study=text("study", d.get("study"), optional=True),
        view_size=integer("view_size", d.get("view_size", 384), 64, 1024),
        host=text("host", d.get("host", "127.0.0.1")) or "127.0.0.1",
        port=integer("port", d.get("port", 8000), 0, 65535),
        pace=choice("pace", d.get("pace", "realtime"), PACES),
        out=text("out", d.get("out", "recordings")) or "recordings",
        seed=integer("seed", d.get("seed", 0), 0))


# ---- tasks -------------------------------------------------------------------------------------
def select(sel: Selection, resolve_path: Callable[[str], str] = str) -> list[tuple[str, Task]]:
    """(name, task) of a selection, tasks in their own episode spec."""
    if sel.tasks == "family":
        from worlds.task_files import sample_family_task

        tasks = [(f"{sel.family}_{s}", sample_family_task(sel.family, s, "family"))
                 for s in sel.seeds]
        return tasks[:sel.n_tasks]
    from ada.envs import WorldEnvConfig
    from ada.evaluate import select_tasks

    try:
        env = WorldEnvConfig(family=sel.family)
    except ValueError as e:
        raise ConfigError(f"family: {e}") from None
    return list(select_tasks(sel.tasks, env, sel.n_tasks, 0, resolve_path).items())


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60] or "player"


def player_dir(cfg: PlayConfig, resolve_path: Callable[[str], str] = str) -> Path:
    return Path(resolve_path(cfg.out)) / _safe(cfg.player)


def free_plan(cfg: PlayConfig, resolve_path: Callable[[str], str] = str) -> list[EpisodePlan]:
    """Every selected task once, in order, with the config's k."""
    sel, root = cfg.selection, player_dir(cfg, resolve_path)
    plan = []
    for i, (name, task) in enumerate(select(sel, resolve_path)):
        t = with_episode(task, sel.trials[0], sel.trial_steps)
        plan.append(EpisodePlan(t, name, cfg.seed, False,
                                root / f"{i:03d}_{_safe(name)}_{t.task_id}.json"))
    return plan


def _player_rng(seed: int, player: str) -> np.random.Generator:
    h = int.from_bytes(hashlib.sha256(player.encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([seed, h]))


def load_study(path: Path) -> dict[str, Any]:
    try:
        d = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"study: cannot read {str(path)!r} ({e})") from None
    if not isinstance(d, Mapping):
        fail("study", d, f"YAML mappings with fields {list(STUDY_FIELDS)}")
    known_fields("study", d, STUDY_FIELDS)
    if "tasks" not in d:
        raise ConfigError("study.tasks: missing; the study tasks, e.g. {tasks: heldout, "
                          "n_tasks: 20, trials: [2, 3, 5]}")
    return dict(d)


def study_plan(cfg: PlayConfig, resolve_path: Callable[[str], str] = str) -> list[EpisodePlan]:
    """Practice first, then the study tasks in this player's order, each with this player's k
    (see the module docstring)."""
    assert cfg.study is not None
    d = load_study(Path(resolve_path(cfg.study)))
    name = study_name(cfg, resolve_path)
    seed = integer("study.seed", d.get("seed", 0), 0)
    rng = _player_rng(seed, cfg.player)
    root = player_dir(cfg, resolve_path)
    plan = []
    if d.get("practice") is not None:
        practice = _selection("study.practice", d["practice"], many_k=False)
        for i, (tname, task) in enumerate(select(practice, resolve_path)):
            t = with_episode(task, practice.trials[0], practice.trial_steps)
            plan.append(EpisodePlan(t, tname, cfg.seed, True,
                                    root / "practice" / f"{i:03d}_{_safe(tname)}.json"))
    main = _selection("study.tasks", d["tasks"], many_k=True)
    tasks = select(main, resolve_path)
    order = rng.permutation(len(tasks))
    ks = rng.choice(np.asarray(main.trials), size=len(tasks))
    for i, j in enumerate(order):
        tname, task = tasks[int(j)]
        t = with_episode(task, int(ks[int(j)]), main.trial_steps)
        plan.append(EpisodePlan(t, tname, cfg.seed, False,
                                root / f"{name}_{i:03d}_{t.task_id}.json"))
    return plan


def study_name(cfg: PlayConfig, resolve_path: Callable[[str], str] = str) -> str | None:
    if cfg.study is None:
        return None
    d = load_study(Path(resolve_path(cfg.study)))
    return _safe(str(d.get("name", Path(cfg.study).stem)))


def plan_for(cfg: PlayConfig, resolve_path: Callable[[str], str] = str
             ) -> tuple[list[EpisodePlan], int]:
    """(the episodes still to play, how many were already recorded and are skipped)."""
    plan = study_plan(cfg, resolve_path) if cfg.study else free_plan(cfg, resolve_path)
    todo = [p for p in plan if not p.path.exists()]
    return todo, len(plan) - len(todo)


__all__ = ["PACES", "PlayConfig", "Selection", "free_plan", "plan_for", "player_dir",
           "select", "study_name", "study_plan", "validate_config"]
