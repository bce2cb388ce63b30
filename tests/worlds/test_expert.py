"""The privileged expert on constructed tasks, one capability each.

Every task is played for one trial by the expert and by the random policy on the same seed;
the expert must reach the goal and hold it for at least `HELD` of the trial, and a separate
test checks that random play does not, so each case would fail if the expert were swapped for
the random policy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from worlds.env import WorldEnv
from worlds.expert import Expert, SymbolicPlanner
from worlds.expert.symbolic import state_of
from worlds.task import (
    AGENT,
    TILE_SIZE,
    AvatarSpec,
    EpisodeSpec,
    Game,
    Goal,
    Literal,
    ObjectSpec,
    ObjectType,
    Ramp,
    Rule,
    Task,
    Terrain,
    World,
)

HELD = 0.1  # fraction of the trial's steps at whose end the goal must hold
STEPS = 200
EAST, WEST = 0.0, math.pi


def o(name: str) -> ObjectType:
    colour, shape = name.split()
    return ObjectType(shape, colour)


def at(name: str, row: int, col: int) -> ObjectSpec:
    return ObjectSpec(o(name), (col + 0.5) * TILE_SIZE, (row + 0.5) * TILE_SIZE)


def lit(pred: str, a: str, b: str, negated: bool = False) -> Literal:
    return Literal(pred, AGENT if a == AGENT else o(a), o(b), negated)


def task(goal: list[list[Literal]], objects: list[ObjectSpec], *, rules: tuple[Rule, ...] = (),
         size: int = 5, terrain: Terrain | None = None, start: tuple[int, int] = (0, 0),
         yaw: float = EAST) -> Task:
    terrain = terrain or Terrain.flat(size)
    avatar = AvatarSpec((start[1] + 0.5) * TILE_SIZE, (start[0] + 0.5) * TILE_SIZE, yaw)
    return Task(World(terrain, tuple(objects), avatar),
                Game(Goal(tuple(tuple(c) for c in goal)), rules),
                EpisodeSpec(trials=1, trial_steps=STEPS))


def plateau() -> Terrain:
    """A 5x5 room whose two northern rows are one level up, reached by one ramp at (2, 2)."""
    levels = [[0] * 5 for _ in range(3)] + [[1] * 5 for _ in range(2)]
    return Terrain(levels=tuple(map(tuple, levels)), ramps=(Ramp(2, 2, "north"),))


def wall() -> Terrain:
    """A 5x5 room split by a wall along column 2, open only at row 4."""
    return Terrain(levels=Terrain.flat(5).levels, walls=tuple((r, 2) for r in range(4)))


CASES: dict[str, Task] = {
    "hold": task([[lit("hold", AGENT, "red cube")]], [at("red cube", 4, 4)]),
    "near_agent": task([[lit("near", AGENT, "blue sphere")]], [at("blue sphere", 4, 4)]),
    "near_pair": task([[lit("near", "red cube", "blue sphere")]],
                      [at("red cube", 0, 3), at("blue sphere", 4, 1)]),
    "on": task([[lit("on", "red pyramid", "blue cube")]],
               [at("red pyramid", 0, 3), at("blue cube", 3, 3)]),
    "see": task([[lit("see", AGENT, "green sphere")]], [at("green sphere", 2, 0)],
                start=(2, 4), yaw=EAST),
    "not_hold": task([[lit("near", AGENT, "red cube"), lit("hold", AGENT, "red cube", True)]],
                     [at("red cube", 4, 4)]),
    "not_near_agent": task([[lit("hold", AGENT, "blue sphere"),
                             lit("near", AGENT, "red cube", True)]],
                           [at("blue sphere", 4, 3), at("red cube", 4, 4)]),
    "not_see": task([[lit("near", AGENT, "blue sphere"), lit("see", AGENT, "red cube", True)]],
                    [at("blue sphere", 4, 4), at("red cube", 0, 4)]),
    "not_near_pair": task([[lit("hold", AGENT, "green sphere"),
                            lit("near", "red cube", "blue cube", True)]],
                          [at("green sphere", 4, 4), ObjectSpec(o("red cube"), 3.0, 3.75),
                           ObjectSpec(o("blue cube"), 3.8, 3.75)]),  # near at the start
    "not_on": task([[lit("near", AGENT, "green sphere"),
                     lit("on", "red pyramid", "blue cube", True)]],
                   [at("green sphere", 4, 4), at("red pyramid", 3, 4), at("blue cube", 4, 3)]),
    "disjunction": task([[lit("hold", AGENT, "red cube")], [lit("near", AGENT, "blue sphere")]],
                        [at("red cube", 4, 4), at("blue sphere", 3, 1)]),
    "two_rule_chain": task(
        [[lit("hold", AGENT, "green pyramid")]],
        [at("red pyramid", 2, 2), at("yellow cube", 4, 4)],
        rules=(Rule(lit("hold", AGENT, "red pyramid"), o("blue sphere")),
               Rule(lit("near", "blue sphere", "yellow cube"), o("green pyramid")))),
    "hidden_rule": task([[lit("near", AGENT, "green sphere")]], [at("red cube", 4, 4)],
                        rules=(Rule(lit("hold", AGENT, "red cube"), o("green sphere"),
                                    hidden=True),)),
    "dead_end": task(
        [[lit("hold", AGENT, "blue sphere")]],
        [at("red cube", 0, 4), at("yellow cube", 4, 4), at("white cube", 2, 4)],
        rules=(Rule(lit("near", "red cube", "white cube"), None),
               Rule(lit("near", "red cube", "yellow cube"), o("blue sphere")))),
    "plateau_ramp": task([[lit("hold", AGENT, "red cube")]], [at("red cube", 4, 1)],
                         terrain=plateau()),
    "wall_in_the_way": task([[lit("near", AGENT, "blue sphere")]], [at("blue sphere", 0, 4)],
                            terrain=wall()),
}


def play(t: Task, policy: str, seed: int = 0) -> tuple[int | None, float, Expert]:
    """(first step the goal held, fraction of steps it held, the expert) for one trial."""
    env = WorldEnv(t, seed=seed, image_size=8, render=False)
    expert = Expert(env)
    rng = np.random.default_rng(seed)
    env.reset()
    first, held = None, 0
    try:
        for step in range(STEPS):
            action = expert.act() if policy == "expert" else int(rng.integers(13))
            env.step(action)
            if env.goal_holds:
                held += 1
                first = step if first is None else first
    finally:
        env.close()
    return first, held / STEPS, expert


@pytest.mark.parametrize("name", sorted(CASES))
def test_expert_solves_the_constructed_task(name: str) -> None:
    first, held, expert = play(CASES[name], "expert")
    report = expert.reports[0]
    assert first is not None, f"{name}: never reached the goal ({report.cause()}, "\
                              f"last phase {report.phase!r})"
    assert held >= HELD, f"{name}: the goal held on {held:.2f} of the trial"


def test_random_play_fails_the_constructed_tasks() -> None:
    """The bar discriminates: random play, on the same seeds, stays below it on every task."""
    passed = [name for name, t in CASES.items() if play(t, "random")[1] >= HELD]
    assert not passed, f"random play reaches the bar on {passed}"


def test_dead_end_is_avoided_and_named_as_danger() -> None:
    t = CASES["dead_end"]
    planner = SymbolicPlanner.for_task(t)
    state = state_of([x.type for x in t.world.objects])
    plan = planner.plan(state)
    assert plan is not None and plan.rules == (1,)
    assert planner.danger(state, plan) == (0,)  # near(red cube, white cube) destroys the input
    first, _, expert = play(t, "expert")
    assert first is not None and not expert.reports[0].plan_lost


def test_planner_refuses_a_goal_its_own_rule_destroys() -> None:
    """hold(red cube) can never be kept when holding it fires a rule consuming it."""
    t = task([[lit("hold", AGENT, "red cube")]], [at("red cube", 4, 4)],
             rules=(Rule(lit("near", AGENT, "red cube"), o("blue cube")),))
    planner = SymbolicPlanner.for_task(t)
    assert planner.plan(state_of([o("red cube")])) is None


def test_planner_models_side_rules_of_an_attempt() -> None:
    """Walking up to an object to hold it makes near() true first: a near rule that consumes it
    fires before the hold rule can, so a plan must not count on the hold rule."""
    rules = (Rule(lit("near", AGENT, "red cube"), o("green cube")),
             Rule(lit("hold", AGENT, "red cube"), o("blue sphere")))
    t = task([[lit("hold", AGENT, "blue sphere")], [lit("hold", AGENT, "green cube")]],
             [at("red cube", 4, 4)], rules=rules)
    planner = SymbolicPlanner.for_task(t)
    plan = planner.plan(state_of([o("red cube")]))
    assert plan is not None and plan.conjunct == 1 and plan.rules == (0,)
