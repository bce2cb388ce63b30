"""Predicate semantics on hand-built WorldStates (pure numpy, no MuJoCo)."""

from __future__ import annotations

import numpy as np
import pytest

from worlds.predicates import (
    N_SLOTS,
    NEAR_DISTANCE,
    ON_GAP_TOLERANCE,
    WorldState,
    compile_goal,
    compile_literals,
    compute_relations,
    evaluate,
    goal_holds,
    literal_truths_for_debug,
)
from worlds.task import AGENT, MAX_OBJECTS_PER_SHAPE, Goal, Literal, ObjectType

RED_CUBE = ObjectType("cube", "red")
BLUE_CUBE = ObjectType("cube", "blue")
BLUE_SPHERE = ObjectType("sphere", "blue")
GREEN_PYRAMID = ObjectType("pyramid", "green")
H = 0.25  # half size used for every object here

CUBE0, CUBE1 = 0, 1
SPHERE0, SPHERE1 = MAX_OBJECTS_PER_SHAPE, MAX_OBJECTS_PER_SHAPE + 1
PYRAMID0 = 2 * MAX_OBJECTS_PER_SHAPE


def world() -> WorldState:
    s = WorldState.empty()
    s.half_size[:] = H
    s.agent_pos[:] = (0.0, 0.0, 0.5)
    return s


def truth(lit: Literal, state: WorldState) -> bool:
    out = evaluate(compile_literals([lit]), state)
    assert out.shape == (1,)
    return bool(out[0])


def test_empty_layout_matches_scene_pool() -> None:
    s = WorldState.empty()
    assert s.n_slots == N_SLOTS == 18
    assert s.shape.tolist() == [i // MAX_OBJECTS_PER_SHAPE for i in range(18)]
    assert not s.present.any()
    assert s.free_slot(1) == SPHERE0
    with pytest.raises(ValueError, match="slot 0 has shape 'cube'"):
        s.put(0, BLUE_SPHERE, (0, 0, 0))


def test_hold_true_only_when_held() -> None:
    s = world()
    s.put(CUBE0, RED_CUBE, (0.3, 0, 0.5))
    lit = Literal("hold", AGENT, RED_CUBE)
    assert not truth(lit, s)
    s.held[CUBE0] = True
    assert truth(lit, s)
    # Holding a cube of another colour does not hold a red one.
    assert not truth(Literal("hold", AGENT, BLUE_CUBE), s)


@pytest.mark.parametrize(("offset", "expected"), [(NEAR_DISTANCE - 0.01, True),
                                                  (NEAR_DISTANCE + 0.01, False)])
def test_near_object_object_threshold(offset: float, expected: bool) -> None:
    s = world()
    s.agent_pos[:] = (50.0, 50.0, 0.5)
    s.put(CUBE0, RED_CUBE, (3.0, 3.0, H))
    s.put(SPHERE0, BLUE_SPHERE, (3.0 + offset * 0.6, 3.0 + offset * 0.8, H))
    assert truth(Literal("near", RED_CUBE, BLUE_SPHERE), s) is expected
    assert truth(Literal("near", BLUE_SPHERE, RED_CUBE), s) is expected


@pytest.mark.parametrize(("offset", "expected"), [(NEAR_DISTANCE - 0.01, True),
                                                  (NEAR_DISTANCE + 0.01, False)])
def test_near_agent_object_threshold_is_3d(offset: float, expected: bool) -> None:
    s = world()
    s.agent_pos[:] = (1.0, 1.0, 0.5)
    # Half of the offset vertical, half horizontal: the distance is measured in 3D.
    dz = offset * np.sqrt(0.5)
    s.put(SPHERE0, BLUE_SPHERE, (1.0 + dz, 1.0, 0.5 + dz))
    assert truth(Literal("near", AGENT, BLUE_SPHERE), s) is expected


def test_see_uses_visible_flag_not_distance() -> None:
    s = world()
    s.put(PYRAMID0, GREEN_PYRAMID, (0.2, 0, H))  # right next to the agent...
    lit = Literal("see", AGENT, GREEN_PYRAMID)
    assert not truth(lit, s)  # ...but behind it (not visible)
    s.pos[PYRAMID0] = (9.0, 9.0, H)
    s.visible[PYRAMID0] = True  # far away but in view
    assert truth(lit, s)


def test_on_stacked_touching_is_true() -> None:
    s = world()
    s.put(SPHERE0, BLUE_SPHERE, (4.0, 4.0, H))
    s.put(CUBE0, RED_CUBE, (4.05, 4.0, 3 * H + 0.01))  # resting on top, slightly off centre
    assert truth(Literal("on", RED_CUBE, BLUE_SPHERE), s)
    assert not truth(Literal("on", BLUE_SPHERE, RED_CUBE), s)  # on() is not symmetric


def test_on_beside_is_false() -> None:
    s = world()
    s.put(SPHERE0, BLUE_SPHERE, (4.0, 4.0, H))
    s.put(CUBE0, RED_CUBE, (4.0 + 2 * H, 4.0, H))  # touching side by side
    assert not truth(Literal("on", RED_CUBE, BLUE_SPHERE), s)
    assert truth(Literal("near", RED_CUBE, BLUE_SPHERE), s)  # same pair, near yes


def test_on_floating_high_above_is_false() -> None:
    s = world()
    s.put(SPHERE0, BLUE_SPHERE, (4.0, 4.0, H))
    s.put(CUBE0, RED_CUBE, (4.0, 4.0, 3 * H + ON_GAP_TOLERANCE + 0.05))
    assert not truth(Literal("on", RED_CUBE, BLUE_SPHERE), s)
    s.pos[CUBE0, 2] = 3 * H + ON_GAP_TOLERANCE - 0.02  # lowered to within tolerance
    assert truth(Literal("on", RED_CUBE, BLUE_SPHERE), s)


def test_on_overhanging_too_far_is_false() -> None:
    s = world()
    s.put(SPHERE0, BLUE_SPHERE, (4.0, 4.0, H))
    s.put(CUBE0, RED_CUBE, (4.0 + H + 0.5 * H + 0.02, 4.0, 3 * H))
    assert not truth(Literal("on", RED_CUBE, BLUE_SPHERE), s)
    s.pos[CUBE0, 0] = 4.0 + H + 0.5 * H - 0.02
    assert truth(Literal("on", RED_CUBE, BLUE_SPHERE), s)


def test_negation_flips_truth() -> None:
    s = world()
    s.put(CUBE0, RED_CUBE, (0.3, 0, 0.5), held=True)
    pos = Literal("hold", AGENT, RED_CUBE)
    neg = Literal("hold", AGENT, RED_CUBE, negated=True)
    out = evaluate(compile_literals([pos, neg]), s)
    assert out.tolist() == [True, False]
    s.held[CUBE0] = False
    assert evaluate(compile_literals([pos, neg]), s).tolist() == [False, True]


def test_existential_over_instances_of_the_same_type() -> None:
    s = world()
    s.agent_pos[:] = (50.0, 50.0, 0.5)
    s.put(CUBE0, RED_CUBE, (0.0, 0.0, H))  # far from the sphere
    s.put(CUBE1, RED_CUBE, (5.0, 5.5, H))  # near it
    s.put(SPHERE0, BLUE_SPHERE, (5.0, 5.0, H))
    lit = Literal("near", RED_CUBE, BLUE_SPHERE)
    neg = Literal("near", RED_CUBE, BLUE_SPHERE, negated=True)
    assert truth(lit, s)
    assert not truth(neg, s)  # "no red cube is near a blue sphere" is false
    s.present[CUBE1] = False  # only the far instance remains
    assert not truth(lit, s)
    assert truth(neg, s)
    # Instances of another type at the near position do not count.
    s.put(CUBE1, BLUE_CUBE, (5.0, 5.5, H))
    assert not truth(lit, s)


def test_absent_objects_satisfy_nothing() -> None:
    s = world()
    s.put(CUBE0, RED_CUBE, (0.2, 0.0, 0.5), held=True, visible=True)
    s.put(SPHERE0, BLUE_SPHERE, (0.2, 0.0, 0.5 + 2 * H))  # on top of the cube, near it
    s.present[:] = False  # stale flags left in place must not matter
    lits = [Literal("hold", AGENT, RED_CUBE), Literal("see", AGENT, RED_CUBE),
            Literal("near", AGENT, RED_CUBE), Literal("near", RED_CUBE, BLUE_SPHERE),
            Literal("on", BLUE_SPHERE, RED_CUBE)]
    assert not evaluate(compile_literals(lits), s).any()
    negs = [Literal(x.predicate, x.a, x.b, negated=True) for x in lits]
    assert evaluate(compile_literals(negs), s).all()  # e.g. not hold(absent) is True
    s.present[[CUBE0, SPHERE0]] = True
    assert evaluate(compile_literals(lits), s).all()  # the same flags, present: all true


def test_dnf_goal_combinations() -> None:
    hold = Literal("hold", AGENT, RED_CUBE)
    see = Literal("see", AGENT, BLUE_SPHERE)
    not_near = Literal("near", RED_CUBE, BLUE_SPHERE, negated=True)
    # (hold and see) or (not near(red cube, blue sphere) and see)
    goal = compile_goal(Goal(((hold, see), (not_near, see))))
    assert goal.bounds == ((0, 2), (2, 4))
    s = world()
    s.put(CUBE0, RED_CUBE, (0.2, 0.0, 0.5))
    s.put(SPHERE0, BLUE_SPHERE, (0.5, 0.0, H))  # near the red cube
    assert not goal_holds(goal, s)  # see false kills both disjuncts
    s.visible[SPHERE0] = True
    assert not goal_holds(goal, s)  # first needs hold, second has near
    s.held[CUBE0] = True
    assert goal_holds(goal, s)  # first disjunct
    s.held[CUBE0] = False
    s.pos[SPHERE0] = (5.0, 5.0, H)
    assert goal_holds(goal, s)  # second disjunct
    truths = literal_truths_for_debug(goal, s)
    assert truths == {str(hold): False, str(see): True, str(not_near): True}


def test_shared_relations_match_fresh_ones() -> None:
    rng = np.random.default_rng(3)
    s = world()
    s.present[:] = rng.random(N_SLOTS) < 0.7
    s.colour[:] = rng.integers(0, 3, N_SLOTS)
    s.pos[:] = rng.random((N_SLOTS, 3)) * (3.0, 3.0, 1.0)
    s.held[:] = rng.random(N_SLOTS) < 0.2
    s.visible[:] = rng.random(N_SLOTS) < 0.5
    lits = compile_literals([Literal("near", RED_CUBE, BLUE_SPHERE),
                             Literal("on", BLUE_CUBE, ObjectType("sphere", "red")),
                             Literal("see", AGENT, ObjectType("pyramid", "green"), True)])
    rel = compute_relations(s)
    assert rel.dist.shape == (N_SLOTS + 1, N_SLOTS + 1)
    np.testing.assert_array_equal(evaluate(lits, s, rel), evaluate(lits, s))
