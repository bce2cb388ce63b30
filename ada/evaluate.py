"""Evaluate a trained agent across trials: `python -m ada.evaluate checkpoint=... tasks=...`.

The question is whether the agent adapts: within an episode the world resets at every trial but
the agent's memory does not, so its score should rise from trial 1 to trial k. The agent and the
baselines (random, noop, and the privileged planner expert with `baselines=[random,noop,expert]`)
play the same tasks on the same seeds (see `ada.eval.trials`), so the gap between them is the
agent's and not the luck of the draw. With the expert among them, every policy's scores are also
reported divided by the expert's last-trial score on each task (`ada.eval.normalised`). Tasks are

* `heldout`: drawn from the test side of the checkpoint's own train/test split (never trained
  on), with the checkpoint's family, held-out fraction and salt;
* `probes`: the hand-authored probe tasks of `worlds.probes`;
* a `.jsonl` file of tasks (one Task, or a record holding one under "task", per line).

Examples (from the repository root):

    python -m ada.evaluate checkpoint=outputs/train/run/2024-01-01_00-00-00 tasks=probes
    python -m ada.evaluate checkpoint=.../checkpoints/ckpt_00001000.pt tasks=heldout n_tasks=50
    python -m ada.evaluate checkpoint=... tasks=my_tasks.jsonl trials=5 episodes=4 videos=0

Everything goes to `out`: results.json (settings, summary, raw returns and seeds),
per_trial.csv (policy, trial, mean, median, p20, n_tasks), per_task.csv, plot.png,
per_trial_normalised.csv (with the expert: the same columns plus n_excluded), videos/*.mp4
of the agent on its best, median and worst tasks, and report.html, all of it on one page
(`ada.eval.report`). The config is validated before anything heavy is loaded; a wrong
value exits with status 2 and one line naming the field and the allowed values.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
import numpy as np
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from ada.paths import config_dir
from ada.policies import POLICY_NAMES
from ada.validation import (
    ConfigError,
    boolean,
    choice,
    fail,
    integer,
    known_fields,
    number,
    optional_integer,
    text,
)
from worlds.task import MAX_TRIALS, Task
from worlds.task_files import named_tasks

if TYPE_CHECKING:  # the library imports torch; the CLI loads it only after validation
    from ada.eval.trials import EvalResults, Summary

TASK_SOURCES = ("heldout", "probes")
DEFAULT_HELDOUT_TASKS = 20
# after training, the agent is also measured against the expert (a 3D-world-only policy; this
# module evaluates world agents only), so the report shows how close it comes to solving tasks
POST_TRAINING_BASELINES = ("random", "noop", "expert")
MAX_VIEW_SIZE = 2048
TOP_FIELDS = ("checkpoint", "tasks", "n_tasks", "trials", "trial_steps", "episodes", "seed",
              "baselines", "greedy", "batch_size", "videos", "overview_size", "fps", "out",
              "demo", "human")
DEFAULT_TRIALS = 3
DEFAULT_PROMPT_TRIALS = (2, 3, 5)  # AdA's k for prompting


# The evaluation's name for the one bad-input error: the same class, not a subclass, kept so
# that the checkpoint and task loading below, and callers, may raise and catch it by this name.


# ---- config ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvalConfig:
    checkpoint: str
    tasks: str = "heldout"
    n_tasks: int | None = None
    trials: int = 3
    trial_steps: int | None = None
    episodes: int = 1
    seed: int = 0
    baselines: tuple[str, ...] = ("random", "noop")
    greedy: bool = False
    batch_size: int = 8
    videos: int = 3
    overview_size: int = 256
    fps: float = 10.0
    out: str | None = None
    # a demonstrator for trial 1 (a policy name or recordings): prompted vs unprompted per k
    demo: str | None = None
    prompt_trials: tuple[int, ...] = ()  # the k evaluated with `demo`
    human: str | None = None  # a folder of recorded play (ada.play): the human baselines


def _trials(d: Mapping[str, Any]) -> tuple[int, tuple[int, ...]]:
    """(trials, prompt_trials): one k normally; with `demo`, a k or a list of k >= 2."""
    demo, raw = d.get("demo"), d.get("trials")
    if demo is None:
        if isinstance(raw, (list, tuple)):
            raise ConfigError(f"trials: {list(raw)} is a list; a list of k is for prompting "
                              "(demo=expert|random|noop|<recordings>), otherwise one integer")
        return integer("trials", DEFAULT_TRIALS if raw is None else raw, 1, MAX_TRIALS), ()
    ks = list(DEFAULT_PROMPT_TRIALS) if raw is None else (
        list(raw) if isinstance(raw, (list, tuple)) else [raw])
    if not ks:
        raise ConfigError("trials: [] names no number of trials")
    out = tuple(integer("trials", k, 2, MAX_TRIALS) for k in ks)
    if len(set(out)) != len(out):
        raise ConfigError(f"trials: {list(out)} names a number of trials twice")
    return max(out), out


def validate_config(d: Mapping[str, Any]) -> EvalConfig:
    """Checks every field of the (resolved, plain-dict) config; raises ConfigError."""
    d = {k: v for k, v in d.items() if k != "hydra"}
    known_fields("config", d, TOP_FIELDS)
    checkpoint = d.get("checkpoint")
    if checkpoint in (None, "???", "") or not isinstance(checkpoint, str):
        fail("checkpoint", checkpoint, "the path of a ckpt_*.pt file or of a training run "
             "directory (pass checkpoint=<path>)")
    tasks = d.get("tasks", "heldout")
    if not isinstance(tasks, str) or (tasks not in TASK_SOURCES
                                      and not tasks.lower().endswith(".jsonl")):
        fail("tasks", tasks, f"{list(TASK_SOURCES)} or the path of a .jsonl file of tasks")
    baselines = d.get("baselines", ["random", "noop"])
    if isinstance(baselines, str) or not isinstance(baselines, (list, tuple)):
        fail("baselines", baselines, f"lists of policies from {list(POLICY_NAMES)}")
    for b in baselines:
        choice("baselines", b, POLICY_NAMES)
    if len(set(baselines)) != len(baselines):
        raise ConfigError(f"baselines: {list(baselines)} names a policy twice")
    out = d.get("out")
    demo = d.get("demo")
    if demo is not None and (not isinstance(demo, str) or not demo):
        fail("demo", demo, f"a policy from {list(POLICY_NAMES)} or the path of a folder or "
             ".json file of recordings (python -m ada.play)")
    trials, prompt_trials = _trials(d)
    return EvalConfig(
        checkpoint=checkpoint,
        tasks=tasks,
        n_tasks=optional_integer("n_tasks", d.get("n_tasks"), 1),
        trials=trials,
        trial_steps=optional_integer("trial_steps", d.get("trial_steps"), 1, 100_000),
        episodes=integer("episodes", d.get("episodes", 1), 1, 1000),
        seed=integer("seed", d.get("seed", 0), 0),
        baselines=tuple(baselines),
        greedy=boolean("greedy", d.get("greedy", False)),
        batch_size=integer("batch_size", d.get("batch_size", 8), 1, 1024),
        videos=integer("videos", d.get("videos", 3), 0),
        overview_size=integer("overview_size", d.get("overview_size", 256), 0, MAX_VIEW_SIZE),
        fps=number("fps", d.get("fps", 10), 0.0, 240.0, lo_open=True),
        out=text("out", out, optional=True),
        demo=demo,
        prompt_trials=prompt_trials,
        human=text("human", d.get("human"), optional=True),
    )


# ---- checkpoint and tasks --------------------------------------------------------------------
def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file as given, or the latest checkpoint of a run directory (or of its
    checkpoints/ directory), so a run can be evaluated without looking up the file name."""
    from ada.learning.checkpoint import resolve_checkpoint as resolve

    return resolve(path)


def select_tasks(source: str, env_cfg: Any, n_tasks: int | None, seed: int,
                 resolve_path: Callable[[str], str] = str) -> dict[str, Task]:
    """name -> task for `tasks=heldout|probes|file.jsonl` (see the module docstring)."""
    if source == "heldout":
        from worlds.family import ConfigError as FamilyError
        from worlds.family import load_family
        from worlds.generator import GenerationError, TaskGenerator
        from worlds.split import Split

        split = Split(heldout_fraction=env_cfg.heldout_fraction, salt=env_cfg.split_salt)
        n = n_tasks if n_tasks is not None else DEFAULT_HELDOUT_TASKS
        try:
            gen = TaskGenerator(load_family(env_cfg.family), split=split.with_role("test"))
            tasks = gen.generate(seed, n)
        except (FamilyError, GenerationError) as e:
            raise ConfigError(f"tasks: cannot draw {n} held-out tasks of family "
                                  f"{env_cfg.family!r} with heldout_fraction="
                                  f"{env_cfg.heldout_fraction} ({e}); use tasks=probes or a "
                                  ".jsonl file") from None
        return {t.task_id: t for t in tasks}
    if source == "probes":
        from worlds.probes import load_probe, probe_names

        names = probe_names()[:n_tasks]
        if not names:
            raise ConfigError("tasks: there are no probe tasks (worlds/probes/ is empty)")
        return {name: load_probe(name) for name in names}
    path = Path(resolve_path(source))
    if not path.is_file():
        raise ConfigError(f"tasks: {str(path)!r} does not exist; allowed are "
                              f"{list(TASK_SOURCES)} or the path of a .jsonl file of tasks")
    tasks = named_tasks(path)
    return dict(list(tasks.items())[:n_tasks])


def _tasks_label(source: str) -> str:
    return source if source in TASK_SOURCES else Path(source).stem


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]


# ---- run ---------------------------------------------------------------------------------------
@dataclass
class EvalRun:
    out: Path
    results: EvalResults
    summary: Summary
    files: dict[str, Path]
    videos: list[Path]


def run(cfg: EvalConfig, resolve_path: Callable[[str], str] = str,
        log: Callable[[str], None] = print) -> EvalRun:
    """Loads the agent, selects the tasks, evaluates agent and baselines, records videos and
    writes every output file."""
    from ada.agent_policy import AgentPolicy
    from ada.eval.jobs import job_seed
    from ada.eval.report import chosen_tasks, write_report
    from ada.eval.trials import evaluate_policies, write_results

    ckpt, agent, train_cfg = _load_agent(cfg, resolve_path)
    image_size = train_cfg.env.image_size
    tasks = select_tasks(cfg.tasks, train_cfg.env, cfg.n_tasks, cfg.seed, resolve_path)
    label = _tasks_label(cfg.tasks)
    out = _out_dir(cfg, train_cfg, label, resolve_path)
    log(f"evaluating {ckpt} on {len(tasks)} {label} tasks x {cfg.episodes} episode(s) x "
        f"{cfg.trials} trials; policies: agent, {', '.join(cfg.baselines) or 'none'}")
    policy = AgentPolicy(agent, greedy=cfg.greedy)
    policies: dict[str, Any] = {"agent": policy, **{b: b for b in cfg.baselines}}
    results = evaluate_policies(tasks, policies, cfg.trials, cfg.episodes, cfg.seed, image_size,
                                trial_steps=cfg.trial_steps, batch_size=cfg.batch_size,
                                on_policy_done=lambda p: log(f"  done: {p}"))
    videos: list[dict[str, Any]] = []
    paths: list[Path] = []
    for video_label, t in chosen_tasks(results.scores("agent"), cfg.videos):
        name, task = results.names[t], results.tasks[t]
        path = out / "videos" / f"agent_{t:03d}_{_safe(name)}_ep0.mp4"
        returns = _video(path, task, policy, cfg, job_seed(cfg.seed, t, 0), image_size)
        videos.append({"path": str(path.relative_to(out)), "task": name, "task_index": t,
                       "episode": 0, "returns": returns, "label": video_label})
        paths.append(path)
    results.meta.update({
        "checkpoint": str(ckpt), "run_name": train_cfg.name, "tasks": cfg.tasks,
        "family": train_cfg.env.family, "trial_steps_override": cfg.trial_steps,
        "greedy": cfg.greedy, "videos": videos})
    summary, sections = _baselines_and_timescale(cfg, results, resolve_path)
    files = write_results(results, out, summary, sections)
    files["report"] = write_report(out, json.loads(files["json"].read_text()))
    return EvalRun(out, results, summary, files, paths)


def _baselines_and_timescale(cfg: EvalConfig, results: Any,
                             resolve_path: Callable[[str], str]) -> tuple[Summary, dict]:
    """The summary with the recorded players' rows (`human=<dir>`, `ada.eval.human`) and the
    results.json sections "human", "<kind>_scores" / "<kind>_players" and "timescale"."""
    from ada.eval.human import (
        NO_RECORDINGS,
        extend_summary,
        per_task_section,
        recorded_baselines,
    )
    from ada.eval.timescale import timescale
    from ada.eval.trials import aggregate

    summary = aggregate(results.all_scores())
    sections: dict[str, Any] = {"human": {"note": NO_RECORDINGS}}
    recorded: list[Any] = []
    if cfg.human is not None:
        recorded, sections["human"] = recorded_baselines(resolve_path(cfg.human), results)
        summary = extend_summary(summary, results, recorded)
        sections.update(per_task_section(recorded))
    figures = {p: timescale(results.tasks, results.step_rewards[p]) for p in results.policies}
    figures.update({b.kind: timescale(results.tasks, b.rewards) for b in recorded})
    sections["timescale"] = figures
    return summary, sections


def _load_agent(cfg: EvalConfig, resolve_path: Callable[[str], str]) -> tuple[Path, Any, Any]:
    """(checkpoint file, agent, training config) of a world agent, threads set from it."""
    import torch

    from ada.agent_checkpoint import load_agent
    from ada.config import ConfigError
    from ada.envs import WorldEnvConfig

    ckpt = resolve_checkpoint(resolve_path(cfg.checkpoint))
    try:
        agent, train_cfg = load_agent(ckpt)
    except ConfigError as e:
        raise ConfigError(f"checkpoint: the config saved in {str(ckpt)!r} is not valid "
                              f"for this code ({e})") from None
    if not isinstance(train_cfg.env, WorldEnvConfig):
        raise ConfigError(f"checkpoint: {str(ckpt)!r} was trained with env.kind="
                              f"{train_cfg.env.kind!r}; ada.evaluate evaluates 3D-world agents "
                              "(env.kind='world'); for bandits see ada.eval.bandit")
    torch.set_num_threads(train_cfg.runtime.torch_threads)
    return ckpt, agent, train_cfg


def _out_dir(cfg: EvalConfig, train_cfg: Any, label: str,
             resolve_path: Callable[[str], str]) -> Path:
    return Path(resolve_path(cfg.out if cfg.out is not None
                             else str(Path("outputs/eval") / _safe(train_cfg.name)
                                      / _safe(label))))


def _video(path: Path, task: Task, policy: Any, cfg: EvalConfig, seed: int, image_size: int,
           demo: str | None = None) -> list[float]:
    """Renders one evaluated episode (the job with `seed`) to `path`; its trial returns."""
    from ada.render import render_episode
    from ada.video import Mp4Writer

    path.parent.mkdir(parents=True, exist_ok=True)
    with Mp4Writer(path, cfg.fps) as writer:
        _, returns = render_episode(task, policy, seed=seed, image_size=image_size,
                                    overview_size=cfg.overview_size, on_frame=writer.append,
                                    demo=demo)
    return returns


@dataclass
class PromptRun:
    out: Path
    rows: list[dict[str, Any]]
    file: Path
    videos: list[Path]
    results: Any = None  # the `ada.eval.prompting.PromptingResults`


def run_prompting(cfg: EvalConfig, resolve_path: Callable[[str], str] = str,
                  log: Callable[[str], None] = print) -> PromptRun:
    """`demo=...`: the agent prompted by the demonstrator against the agent alone, per k
    (`ada.eval.prompting`); writes prompting.json and videos of prompted episodes."""
    from dm_env import specs

    from ada.agent_policy import AgentPolicy
    from ada.eval.jobs import job_seed
    from ada.eval.prompting import (
        evaluate_prompting,
        prompting_summary,
        write_prompting,
    )
    from ada.policies import make_policy
    from ada.prompting import prompted
    from worlds.avatar import NOOP, NUM_ACTIONS
    from worlds.task import with_episode

    assert cfg.demo is not None
    ckpt, agent, train_cfg = _load_agent(cfg, resolve_path)
    image_size = train_cfg.env.image_size
    tasks = select_tasks(cfg.tasks, train_cfg.env, cfg.n_tasks, cfg.seed, resolve_path)
    label = _tasks_label(cfg.tasks)
    out = _out_dir(cfg, train_cfg, label, resolve_path)
    spec = specs.DiscreteArray(NUM_ACTIONS, np.int32, name="action")

    def agent_policy() -> Any:
        return AgentPolicy(agent, greedy=cfg.greedy)

    demo_label, section = cfg.demo, None
    if cfg.demo in POLICY_NAMES:
        def demonstrator() -> Any:
            return make_policy(cfg.demo, spec, noop_index=NOOP)
    else:  # recorded play: each task prompted by its own recordings
        from ada.eval.recorded_demos import select_recorded_demos

        recorded = select_recorded_demos(resolve_path(cfg.demo), tasks, cfg.trial_steps)
        tasks, demonstrator = recorded.tasks, recorded.demonstrator
        demo_label, section = recorded.label, recorded.section
        log(f"demo: {len(recorded.recordings)} recordings ({demo_label}) of {len(tasks)} tasks "
            f"under {cfg.demo}")
    log(f"prompting {ckpt} with {demo_label} on {len(tasks)} {label} tasks x {cfg.episodes} "
        f"episode(s), k = {', '.join(map(str, cfg.prompt_trials))} trials")
    results = evaluate_prompting(tasks, agent_policy, demonstrator, demo_label,
                                 cfg.prompt_trials, cfg.episodes, cfg.seed, image_size,
                                 trial_steps=cfg.trial_steps, batch_size=cfg.batch_size,
                                 log=log)
    results.demonstrations = section
    rows = prompting_summary(results)
    path = write_prompting(results, rows, out)
    videos = []
    k = max(cfg.prompt_trials)
    names = list(tasks)
    for t in range(min(cfg.videos, len(names))):
        task = with_episode(tasks[names[t]], k, cfg.trial_steps)
        video = out / "videos" / f"prompted_{t:03d}_{_safe(names[t])}_k{k}.mp4"
        _video(video, task, prompted(agent_policy(), demonstrator()), cfg,
               job_seed(cfg.seed, t, 0), image_size, demo=demo_label)
        videos.append(video)
    return PromptRun(out, rows, path, videos, results)


def format_table(summary: Summary) -> str:
    """policy x trial, each cell "mean / median / p20", the gain from trial 1 to trial k, then
    the first policy against each other one, paired by task; with the expert evaluated, then
    the expert-normalised median / p20 per trial (`ada.eval.normalised.format_normalised`)."""
    from ada.eval.normalised import format_normalised

    policies = list(dict.fromkeys(r["policy"] for r in summary.rows))
    trials = max(r["trial"] for r in summary.rows)
    n = summary.rows[0]["n_tasks"]
    cell = {(r["policy"], r["trial"]): f"{r['mean']:.3f} / {r['median']:.3f} / {r['p20']:.3f}"
            for r in summary.rows}
    pw = max(6, *(len(p) for p in policies))
    cw = max(len(c) for c in cell.values())
    gain = f"gain 1->{trials}"
    lines = [f"score per trial (fraction of steps the goal held): mean / median / p20 over "
             f"{n} tasks",
             "  ".join([f"{'policy':<{pw}}", *(f"{f'trial {k}':<{cw}}"
                                              for k in range(1, trials + 1)), gain])]
    for p in policies:
        lines.append("  ".join([f"{p:<{pw}}", *(cell[(p, k)] for k in range(1, trials + 1)),
                                f"{summary.gain[p]:+.3f}"]))
    for other, v in summary.versus.items():
        lines.append(f"{policies[0]} - {other}: {v['mean']:+.3f} +- {v['se']:.3f} (mean over "
                     f"trials, paired s.e. over {v['n_tasks']} tasks); {policies[0]} higher on "
                     f"{v['higher']}, lower on {v['lower']}")
    if summary.normalised:
        lines.append(format_normalised(summary.normalised))
    return "\n".join(lines)

def heldout_evaluation(cfg: Any) -> dict[str, Any]:
    """The trained agent vs random, no-op and the expert on held-out tasks, trial by trial
    (ada.evaluate), written to out_dir/eval; returns the per-trial means, the trial-1-to-k
    gains, the agent minus each baseline paired by task (mean, s.e., tasks higher / lower) and
    the expert-normalised median per trial with the number of tasks it leaves out."""
    out = Path(cfg.out_dir) / "eval"
    result = run(EvalConfig(checkpoint=str(Path(cfg.out_dir) / "checkpoints"),
                            tasks="heldout", n_tasks=cfg.eval_tasks, trials=cfg.eval_trials,
                            seed=cfg.seed, baselines=POST_TRAINING_BASELINES,
                            videos=cfg.eval_videos, out=str(out)),
                 log=lambda msg: print(msg, file=sys.stderr))
    print(format_table(result.summary), file=sys.stderr)
    means: dict[str, list[float]] = {}
    for row in result.summary.rows:
        means.setdefault(row["policy"], []).append(round(row["mean"], 4))
    normalised: dict[str, list[float | None]] = {}
    for row in result.summary.normalised:
        median = row["median"]
        normalised.setdefault(row["policy"], []).append(
            None if median is None else round(median, 4))
    return {"out": str(out), "tasks": cfg.eval_tasks, "mean_per_trial": means,
            "gain": {k: round(v, 4) for k, v in result.summary.gain.items()},
            "agent_minus": {k: {f: round(x, 4) for f, x in v.items()}
                            for k, v in result.summary.versus.items()},
            "expert_normalised_median_per_trial": normalised,
            "expert_zero_tasks": len(result.summary.expert_zero),
            "videos": [str(p) for p in result.videos]}


def post_training_report(train_cfg: Any, agent: Any) -> dict[str, Any]:
    """`python -m ada.train`'s world evaluation: held-out per trial (none if eval_tasks=0)."""
    if not train_cfg.eval_tasks:
        return {}
    return {"heldout_eval": heldout_evaluation(train_cfg)}



@hydra.main(config_path=str(config_dir()), config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    """CLI entry: validate, evaluate, print the table and where the files went. Config, task
    and checkpoint errors exit with status 2 and one line naming the field."""
    try:
        ec = validate_config(OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    except ConfigError as e:  # before torch is imported: a typo fails in a second
        print(f"ada.evaluate: error: {e}", file=sys.stderr)
        sys.exit(2)
    from ada.learning.checkpoint import CheckpointError
    from ada.prompting import ReplayMismatchError

    try:
        if ec.demo is not None:
            prompt = run_prompting(ec, to_absolute_path)
        else:
            result = run(ec, to_absolute_path)
    except (ConfigError, CheckpointError, ReplayMismatchError) as e:  # task files: ConfigError
        print(f"ada.evaluate: error: {e}", file=sys.stderr)
        sys.exit(2)
    if ec.demo is not None:
        from ada.eval.prompting import format_prompting

        print(format_prompting(prompt.rows))
        print(f"wrote {prompt.file}")
        for v in prompt.videos:
            print(f"wrote {v}")
        return
    from ada.eval.timescale import format_timescale

    print(format_table(result.summary))
    record = json.loads(result.files["json"].read_text())
    print(f"human baselines: {record['human']['note']}")
    print(format_timescale(record["timescale"]))
    print(f"wrote {result.out}: " + ", ".join(p.name for p in result.files.values()))
    for v in result.videos:
        print(f"wrote {v}")


def _argv_alias(arg: str) -> str:
    """`baselines.human=<dir>` is accepted for `human=<dir>`: `baselines` is the list of
    policies that play, recordings are not a policy."""
    return "human=" + arg.removeprefix("baselines.human=") if arg.startswith(
        "baselines.human=") else arg


if __name__ == "__main__":
    sys.argv = [_argv_alias(a) for a in sys.argv]
    main()
