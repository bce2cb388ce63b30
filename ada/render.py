"""Render episodes of one task to an MP4: `python -m ada.render task.file=task.json`.

The CLI is a thin Hydra shell around two plain functions that evaluation reuses:
`load_task` (a Task from a file, a task id or a family sample) and `render_episode` (run one
multi-trial episode with a `Policy`, composing one video frame per control step).

Examples (from the repository root):

    python -m ada.render task.file=task.json policy=random out=videos/random.mp4
    python -m ada.render task.file=tasks.jsonl task.index=3 policy=noop trials=2
    python -m ada.render task.family=tiny task.seed=7 episodes=2
    python -m ada.render task.id=hidden_rule_experiment trials=2 trial_steps=50  # a probe
    python -m ada.render task.id=0123456789abcdef task.tasks_file=tasks.jsonl
    python -m ada.render policy=recording recording=recordings/alice/000_x.json  # replayed
    python -m ada.render policy=agent checkpoint=... recording=...  # the agent, prompted by it

The whole config is validated before anything is built, so a typo fails at once with the field
name and the allowed values instead of after minutes of rendering.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from dm_env import specs
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from ada.acting import Policy
from ada.eval.jobs import Job, run_jobs
from ada.paths import config_dir
from ada.policies import POLICY_NAMES, make_policy
from ada.validation import (
    ConfigError,
    fail,
    integer,
    known_fields,
    number,
    optional_integer,
    text,
)
from ada.video import (
    Mp4Writer,
    StepStatus,
    compose_frame,
    panel_height,
    panel_lines,
)
from worlds.avatar import ACTIONS, NOOP, NUM_ACTIONS
from worlds.task import MAX_TRIALS, Task, with_episode
from worlds.task_files import find_task, sample_family_task, task_at

MAX_VIEW_SIZE = 2048
TASK_FIELDS = ("file", "index", "id", "tasks_file", "family", "seed")
TOP_FIELDS = ("task", "policy", "seed", "episodes", "image_size", "overview_size", "fps", "out",
              "trials", "trial_steps", "checkpoint", "demo", "recording")
AGENT = "agent"  # policy=agent: the trained agent of `checkpoint`
RECORDING = "recording"  # policy=recording: the episode of `recording` (ada.play) replayed


# The renderer's name for the one bad-input error: the same class, not a subclass, kept so
# that task loading below, and callers, may raise and catch it by this name.


# ---- config ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskSelector:
    """Exactly one of `file`, `id`, `family` is set."""

    file: str | None = None
    index: int = 0
    id: str | None = None
    tasks_file: str | None = None
    family: str | None = None
    seed: int = 0


@dataclass(frozen=True)
class RenderConfig:
    task: TaskSelector
    policy: str = "random"
    seed: int = 0
    episodes: int = 1
    image_size: int = 64
    overview_size: int = 256
    fps: float = 10.0
    out: str = "videos/episode.mp4"
    trials: int | None = None
    trial_steps: int | None = None
    checkpoint: str | None = None  # with policy=agent: the checkpoint (or run directory)
    demo: str | None = None  # a demonstrator playing trial 1 (`ada.prompting`)
    recording: str | None = None  # a recorded episode (ada.play): replayed, or the agent's demo


def validate_config(d: Mapping[str, Any]) -> RenderConfig:
    """Checks every field of the (resolved, plain-dict) config; raises ConfigError."""
    d = {k: v for k, v in d.items() if k != "hydra"}
    known_fields("config", d, TOP_FIELDS)
    policy = d.get("policy", "random")
    if policy not in (*POLICY_NAMES, AGENT, RECORDING):  # worded as the CLI always printed it
        raise ConfigError(f"policy: {policy!r} is not one of "
                          f"{[*POLICY_NAMES, AGENT, RECORDING]}")
    recording = text("recording", d.get("recording"), optional=True)
    if recording is not None:
        _check_recording_config(d, policy)
    elif policy == RECORDING:
        raise ConfigError("recording: not set; policy=recording replays recording=<episode "
                          "file written by python -m ada.play>")
    checkpoint = text("checkpoint", d.get("checkpoint"), optional=True)
    if (policy == AGENT) != (checkpoint is not None):
        raise ConfigError(f"checkpoint: {checkpoint!r} with policy={policy}: policy=agent "
                          "needs checkpoint=<ckpt_*.pt or run directory>, other policies none")
    demo = d.get("demo")
    if demo is not None and demo not in POLICY_NAMES:
        raise ConfigError(f"demo: {demo!r} is not one of {list(POLICY_NAMES)} (or null)")
    t = d.get("task", {})
    if not isinstance(t, Mapping):
        fail("task", t, f"mappings with fields {list(TASK_FIELDS)}")
    known_fields("task", t, TASK_FIELDS)
    task = TaskSelector(
        file=text("task.file", t.get("file"), optional=True),
        index=integer("task.index", t.get("index", 0), 0),
        id=text("task.id", t.get("id"), optional=True),
        tasks_file=text("task.tasks_file", t.get("tasks_file"), optional=True),
        family=text("task.family", t.get("family"), optional=True),
        seed=integer("task.seed", t.get("seed", 0), 0),
    )
    chosen = [f"task.{k}" for k in ("file", "id", "family") if getattr(task, k) is not None]
    if len(chosen) != (0 if recording is not None else 1):
        raise ConfigError("task: set exactly one of ['task.file', 'task.id', 'task.family'], "
                          f"got {chosen or 'none'}")
    fps = number("fps", d.get("fps", 10), 0.0, 240.0, lo_open=True)
    out = text("out", d.get("out", "videos/episode.mp4"))
    assert out is not None
    if not out.lower().endswith(".mp4"):
        fail("out", out, "paths ending in '.mp4'")
    return RenderConfig(
        task=task,
        policy=policy,
        seed=integer("seed", d.get("seed", 0), 0),
        episodes=integer("episodes", d.get("episodes", 1), 1, 1000),
        image_size=integer("image_size", d.get("image_size", 64), 8, MAX_VIEW_SIZE),
        overview_size=integer("overview_size", d.get("overview_size", 256), 0, MAX_VIEW_SIZE),
        fps=fps,
        out=out,
        trials=optional_integer("trials", d.get("trials"), 1, MAX_TRIALS),
        trial_steps=optional_integer("trial_steps", d.get("trial_steps"), 1, 100_000),
        checkpoint=checkpoint,
        demo=demo,
        recording=recording,
    )


def _check_recording_config(d: Mapping[str, Any], policy: str) -> None:
    """With `recording`, the task, k and trial length are the recording's own, and it is
    either replayed (policy=recording) or the demonstration of the agent (policy=agent)."""
    if policy not in (RECORDING, AGENT):
        raise ConfigError(f"policy: {policy!r} with recording=...: allowed are "
                          f"{[RECORDING, AGENT]} (replay it, or prompt the agent with it)")
    for name in ("trials", "trial_steps", "demo"):
        if d.get(name) is not None:
            raise ConfigError(f"{name}: {d[name]!r} with recording=...: the recording fixes the "
                              "task's episode and is the demonstration; leave it null")
    if any(v is not None for k, v in (d.get("task") or {}).items() if k in ("file", "id",
                                                                               "family")):
        raise ConfigError("task: set with recording=...: the recording holds its task; "
                          "leave task.file, task.id and task.family unset")


# ---- task loading ----------------------------------------------------------------------------
def load_task(sel: TaskSelector, resolve_path: Callable[[str], str] = str) -> Task:
    """The task `sel` names (`worlds.task_files` does the loading). `resolve_path` maps a
    config path to a real one (the CLI makes paths relative to where it was started, not to
    Hydra's run directory)."""
    if sel.file is not None:
        return task_at(resolve_path(sel.file), sel.index)
    if sel.id is not None:
        files = None if sel.tasks_file is None else resolve_path(sel.tasks_file)
        return find_task(sel.id, files)
    assert sel.family is not None
    return sample_family_task(sel.family, sel.seed)


# ---- rendering -------------------------------------------------------------------------------
def _fixed_panel_height(task: Task, width: int, episodes: int | None,
                        demo: str | None = None) -> int:
    """A panel height that fits every frame of the episode: the task text plus the widest
    status it can reach (last step, full returns, longest action name)."""
    ep = task.episode
    worst = StepStatus(step=ep.trials * ep.trial_steps, trial=ep.trials - 1, trials=ep.trials,
                       t_in_trial=ep.trial_steps, trial_steps=ep.trial_steps,
                       trial_returns=(float(ep.trial_steps),) * ep.trials, reward=1.0,
                       action=max(ACTIONS, key=len), goal_holds=False,
                       episode=None if episodes is None else episodes - 1, episodes=episodes,
                       shown_by=demo)
    return panel_height(panel_lines(task, worst), width)


def render_episode(task: Task, policy: Policy, *, seed: int, image_size: int = 64,
                   overview_size: int = 256,
                   on_frame: Callable[[np.ndarray], None] | None = None,
                   episode: int | None = None, episodes: int | None = None,
                   demo: str | None = None, demo_trials: int = 1,
                   ) -> tuple[list[np.ndarray], list[float]]:
    """Runs one multi-trial episode of `task` with `policy` and composes a frame per step.

    Returns (frames, returns per trial). There are 1 + trials * trial_steps frames: the reset
    observation, then one per control step. With `on_frame`, frames are handed to it as they
    are made and not kept (the returned list is empty), so long episodes stream to disk in
    constant memory. `seed` seeds the env and the policy's RNG: the episode is the evaluation
    job with that seed (`ada.eval.jobs`), played by the same loop. `demo` names the
    demonstrator of a prompted policy (`ada.prompting`): the frames of its first `demo_trials`
    trials say that it, not the agent, is playing.
    """
    frames: list[np.ndarray] = []
    view = overview_size if overview_size > 0 else None
    width = 2 * overview_size if overview_size > 0 else 256
    ph = _fixed_panel_height(task, width, episodes, demo)
    ep = task.episode
    steps = [0]

    def emit(slot: int, env: Any, ts: Any, action: int | None) -> None:
        status = StepStatus(step=steps[0], trial=env.trial, trials=ep.trials,
                            t_in_trial=env.t_in_trial, trial_steps=ep.trial_steps,
                            trial_returns=tuple(env.trial_returns),
                            reward=None if ts.reward is None else float(ts.reward),
                            action=None if action is None else ACTIONS[action],
                            goal_holds=env.goal_holds, episode=episode, episodes=episodes,
                            shown_by=demo if demo is not None and env.trial < demo_trials
                            else None)
        steps[0] += 1
        overview = env.render_overview() if overview_size > 0 else None
        frame = compose_frame(ts.observation["rgb"], overview, panel_lines(task, status),
                              view_size=view, height_of_panel=ph,
                              rewarded=bool(ts.reward and ts.reward > 0))
        if on_frame is not None:
            on_frame(frame)
        else:
            frames.append(frame)

    [returns] = run_jobs([task], [Job(0, 0, seed)], policy, image_size=image_size,
                         batch_size=1, after_step=emit, overview_size=overview_size)
    return frames, returns


def run(cfg: RenderConfig,
        resolve_path: Callable[[str], str] = str) -> tuple[Path, list[list[float]]]:
    """Loads the task, renders `cfg.episodes` episodes into one MP4; returns (path, returns)."""
    if cfg.recording is not None:
        return _run_recording(cfg, resolve_path)
    task = with_episode(load_task(cfg.task, resolve_path), cfg.trials, cfg.trial_steps)
    policy, image_size = _policy(cfg, resolve_path)
    if cfg.demo is not None:
        from ada.prompting import prompted

        if task.episode.trials < 2:
            raise ConfigError(f"demo: {cfg.demo} plays trial 1 of {task.episode.trials}; "
                              "set trials=2 or more to see the agent after it")
        policy = prompted(policy, make_policy(cfg.demo, _ACTION_SPEC, noop_index=NOOP))
    return _write_episodes(cfg, task, policy, image_size, cfg.demo, resolve_path)


def _write_episodes(cfg: RenderConfig, task: Task, policy: Policy, image_size: int,
                    demo: str | None, resolve_path: Callable[[str], str]
                    ) -> tuple[Path, list[list[float]]]:
    """`cfg.episodes` episodes of `task` into one MP4; (path, returns per episode)."""
    out = Path(resolve_path(cfg.out))
    all_returns = []
    with Mp4Writer(out, cfg.fps) as writer:
        for i in range(cfg.episodes):
            _, returns = render_episode(
                task, policy, seed=cfg.seed + i, image_size=image_size,
                overview_size=cfg.overview_size, on_frame=writer.append,
                episode=i if cfg.episodes > 1 else None,
                episodes=cfg.episodes if cfg.episodes > 1 else None, demo=demo)
            all_returns.append(returns)
    return out, all_returns


def _run_recording(cfg: RenderConfig,
                   resolve_path: Callable[[str], str]) -> tuple[Path, list[list[float]]]:
    """`recording=`: the recorded episode replayed (every reward checked against the
    recording), or with policy=agent, the agent prompted by the recording's trial 1."""
    from ada.play.recording import demonstrator, load_recording
    from ada.prompting import ReplayMismatchError, prompted

    assert cfg.recording is not None
    rec = load_recording(resolve_path(cfg.recording))
    task = rec.the_task()
    who = f"{rec.player} ({rec.player_kind} play)"
    if cfg.policy == AGENT:
        if task.episode.trials < 2:
            raise ConfigError(f"recording: {cfg.recording} has 1 trial; prompting the agent "
                              "needs a recording of 2 or more trials")
        agent, image_size = _policy(cfg, resolve_path)
        policy, demo = prompted(agent, demonstrator(rec)), who
    else:
        policy, demo, image_size = demonstrator(rec), None, cfg.image_size
    try:
        return _write_episodes(cfg, task, policy, image_size, demo, resolve_path)
    except ReplayMismatchError as e:  # Mp4Writer has discarded the partial video
        raise ConfigError(f"recording: {cfg.recording} does not replay ({e})") from None


_ACTION_SPEC = specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")


def _policy(cfg: RenderConfig, resolve_path: Callable[[str], str]) -> tuple[Policy, int]:
    """The policy to render and the first-person image size it acts on (a trained agent's
    own; a checkpoint is loaded only here, after the config was validated)."""
    if cfg.policy != AGENT:
        return make_policy(cfg.policy, _ACTION_SPEC, noop_index=NOOP), cfg.image_size
    from ada.agent_checkpoint import load_agent
    from ada.agent_policy import AgentPolicy
    from ada.config import ConfigError as TrainConfigError
    from ada.learning.checkpoint import CheckpointError, resolve_checkpoint

    assert cfg.checkpoint is not None
    ckpt = resolve_checkpoint(resolve_path(cfg.checkpoint))
    try:
        agent, train_cfg = load_agent(ckpt)
    except (TrainConfigError, CheckpointError) as e:
        raise ConfigError(f"checkpoint: {str(ckpt)!r} cannot be loaded ({e})") from None
    size = getattr(train_cfg.env, "image_size", None)
    if size is None:
        raise ConfigError(f"checkpoint: {str(ckpt)!r} is not a 3D-world agent")
    return AgentPolicy(agent), int(size)


@hydra.main(config_path=str(config_dir()), config_name="render", version_base="1.3")
def main(cfg: DictConfig) -> None:
    """CLI entry: validate, render, print the output path and the returns per trial. Config
    and task errors exit with status 2 and one line naming the field, not a traceback."""
    try:
        rc = validate_config(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
        out, all_returns = run(rc, to_absolute_path)
    except ConfigError as e:  # config, task selection and task file errors alike
        print(f"ada.render: error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {out}")
    for i, returns in enumerate(all_returns):
        per_trial = ", ".join(f"{r:g}" for r in returns)
        print(f"episode {i + 1}: returns per trial [{per_trial}], total {sum(returns):g}")


if __name__ == "__main__":
    main()
