"""Hand-built tasks shared by the ada tests: a tiny one (2 trials x 5 steps, one visible rule and
one hidden rule whose content must never reach a video), and one the expert solves in a few
steps (for demonstrations)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from worlds.task import (
    AvatarSpec,
    EpisodeSpec,
    Game,
    Goal,
    Literal,
    ObjectSpec,
    ObjectType,
    Rule,
    Task,
    Terrain,
    World,
)

RED_CUBE = ObjectType("cube", "red")
BLUE_SPHERE = ObjectType("sphere", "blue")
GREEN_PYRAMID = ObjectType("pyramid", "green")
PURPLE_SPHERE = ObjectType("sphere", "purple")


def tiny_task(trials: int = 2, trial_steps: int = 5) -> Task:
    """The hidden rule's product (purple sphere) appears nowhere else in the task, so its name
    in a rendered text can only come from leaking the hidden rule."""
    return Task(
        World(Terrain.flat(3), (ObjectSpec(RED_CUBE, 2.5, 3.0), ObjectSpec(BLUE_SPHERE, 3.5, 3.5)),
              AvatarSpec(1.0, 1.0, 0.8)),
        Game(Goal(((Literal("near", "agent", GREEN_PYRAMID),),)),
             (Rule(Literal("near", RED_CUBE, BLUE_SPHERE), GREEN_PYRAMID),
              Rule(Literal("hold", "agent", RED_CUBE), PURPLE_SPHERE, hidden=True))),
        EpisodeSpec(trials=trials, trial_steps=trial_steps))


@pytest.fixture
def task() -> Task:
    return tiny_task()


@pytest.fixture
def make_task() -> Callable[..., Task]:
    return tiny_task


def hold_task(trials: int = 2, trial_steps: int = 8) -> Task:
    """Hold the red cube 1.5 m ahead: the expert walks, looks down and grabs within a few
    steps, an untrained agent almost never does."""
    return Task(
        World(Terrain.flat(3), (ObjectSpec(RED_CUBE, 2.6, 1.1),), AvatarSpec(1.1, 1.1, 0.0)),
        Game(Goal(((Literal("hold", "agent", RED_CUBE),),)), ()),
        EpisodeSpec(trials=trials, trial_steps=trial_steps))


@pytest.fixture(scope="session")
def make_hold_task() -> Callable[..., Task]:
    return hold_task


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session's page tests (see tests/browser.py)."""
    from tests import browser as b

    if not b.available():
        pytest.skip(b.MISSING)
    with b.chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory):
    """A tiny world agent after 2 learner updates: cheap, and a real checkpoint file."""
    from ada.config import TrainConfig
    from ada.learning.checkpoint import latest_checkpoint
    from ada.trainer import Trainer

    out = tmp_path_factory.mktemp("train")
    cfg = TrainConfig.from_dict({
        "agent": {"size": "tiny"}, "env": {"kind": "world", "family": "tiny", "image_size": 16},
        "runtime": {"envs_per_actor": 2, "unroll_length": 5}, "total_frames": 20,
        "out_dir": str(out), "progress": False, "log_every": 1, "name": "tiny_eval"})
    trainer = Trainer(cfg)
    try:
        trainer.run()
    finally:
        trainer.close()
    ckpt = latest_checkpoint(out / "checkpoints")
    assert ckpt is not None
    return ckpt


@pytest.fixture(scope="session")
def probe_task():
    """A probe the expert solves quickly, cut to 2 trials of 40 steps."""
    from tests.recorded_play import PROBE
    from worlds.probes import load_probe
    from worlds.task import with_episode

    return with_episode(load_probe(PROBE), 2, 40)


@pytest.fixture(scope="session")
def expert_episode(probe_task):
    """The expert playing `probe_task` (tests/recorded_play.py)."""
    from tests.recorded_play import expert_run

    run = expert_run(probe_task)
    assert sum(run.rewards) > 0, "the reference episode must earn reward"
    return run


@pytest.fixture(scope="session")
def make_recording():
    """A valid recording of an expert run, labelled scripted (it was not a person)."""
    from tests.recorded_play import recording_of

    return recording_of
