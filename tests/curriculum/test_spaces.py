"""Task spaces: the world's no-op score is measured by physics; no curriculum emits a held-out
or probe world task."""

from __future__ import annotations

import numpy as np
import pytest

from curriculum import CurriculumConfig, EpisodeStats, make_curriculum
from curriculum.spaces import WorldTaskSpace
from worlds.family import load_family
from worlds.generator import TaskGenerator
from worlds.probes import load_probes
from worlds.split import Split
from worlds.task import (
    AvatarSpec,
    EpisodeSpec,
    Game,
    Goal,
    Literal,
    ObjectSpec,
    ObjectType,
    Task,
    Terrain,
    World,
)

RED_CUBE = ObjectType("cube", "red")
SPLIT = Split(heldout_fraction=0.3, salt="spaces-test")


def room(goal: Literal) -> Task:
    return Task(World(Terrain.flat(3), (ObjectSpec(RED_CUBE, 2.5, 2.5),),
                      AvatarSpec(0.75, 0.75, 0.0)),
                Game(Goal(((goal,),)), ()), EpisodeSpec(trials=2, trial_steps=20))


def test_world_noop_score_is_measured_on_one_trial() -> None:
    space = WorldTaskSpace(TaskGenerator(load_family("tiny"), split=SPLIT))
    try:
        trivial = room(Literal("hold", "agent", RED_CUBE, negated=True))  # holds from the start
        needs_work = room(Literal("hold", "agent", RED_CUBE))
        assert space.noop_score(trivial) == (1.0, 20)
        assert space.noop_score(needs_work) == (0.0, 20)
    finally:
        space.close()


def test_world_space_refuses_a_generator_without_a_training_split() -> None:
    with pytest.raises(ValueError, match="split"):
        WorldTaskSpace(TaskGenerator(load_family("tiny")))
    with pytest.raises(ValueError, match="role"):
        WorldTaskSpace(TaskGenerator(load_family("tiny"), split=SPLIT.with_role("test")))


@pytest.mark.parametrize("kind", ["uniform", "plr", "noop_plr"])
def test_no_curriculum_emits_a_heldout_or_probe_world_task(kind: str) -> None:
    space = WorldTaskSpace(TaskGenerator(load_family("tiny"), split=SPLIT))
    cur = make_curriculum(CurriculumConfig.from_dict(
        {"kind": kind, "plr": {"capacity": 50, "min_fill": 0.2}}), space)
    probe_keys = {t.split_key for t in load_probes()}
    rng = np.random.default_rng(0)
    n = 300 if kind == "noop_plr" else 1500
    try:
        for i in range(n):
            t = cur.sample(rng)
            assert not SPLIT.is_heldout(t.split_key) and t.split_key not in probe_keys
            h = 20
            cur.update(t.task_id, EpisodeStats(t.task_id, float(i % 3), h, float(h),
                                               values=np.full(h, -rng.random()),
                                               rewards=np.eye(h)[0] * (i % 3)))
    finally:
        space.close()
    if kind != "uniform":
        assert cur.totals["replays"] > 0
