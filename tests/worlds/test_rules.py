"""Rule engine semantics on hand-built WorldStates (pure numpy, no MuJoCo)."""

from __future__ import annotations

import numpy as np

from worlds.predicates import WorldState, compile_goal, compute_relations, goal_holds
from worlds.rules import RuleEngine, compile_rules
from worlds.task import AGENT, MAX_OBJECTS_PER_SHAPE, Goal, Literal, ObjectType, Rule

RED_CUBE = ObjectType("cube", "red")
BLUE_CUBE = ObjectType("cube", "blue")
YELLOW_CUBE = ObjectType("cube", "yellow")
BLUE_SPHERE = ObjectType("sphere", "blue")
GREEN_SPHERE = ObjectType("sphere", "green")
WHITE_SPHERE = ObjectType("sphere", "white")
GREEN_PYRAMID = ObjectType("pyramid", "green")
H = 0.25

CUBE0, CUBE1, CUBE2 = 0, 1, 2
SPHERE0, SPHERE1 = MAX_OBJECTS_PER_SHAPE, MAX_OBJECTS_PER_SHAPE + 1
PYRAMID0 = 2 * MAX_OBJECTS_PER_SHAPE


def world() -> WorldState:
    s = WorldState.empty()
    s.half_size[:] = H
    s.agent_pos[:] = (20.0, 20.0, 0.5)  # far from everything unless a test moves it
    return s


def present_types(s: WorldState) -> list[str]:
    return sorted(s.object_type(i).name for i in np.flatnonzero(s.present))


def test_no_firing_leaves_state_untouched() -> None:
    s = world()
    s.put(CUBE0, RED_CUBE, (0.0, 0.0, H))
    s.put(SPHERE0, BLUE_SPHERE, (3.0, 0.0, H))  # too far for near()
    engine = RuleEngine([Rule(Literal("near", RED_CUBE, BLUE_SPHERE), GREEN_PYRAMID)])
    before = s.present.copy()
    assert engine.step(s) == []
    np.testing.assert_array_equal(s.present, before)


def test_rule_transforms_objects() -> None:
    s = world()
    s.put(CUBE0, RED_CUBE, (1.0, 1.0, H))
    s.put(SPHERE0, BLUE_SPHERE, (1.6, 1.0, H))
    s.put(SPHERE1, GREEN_SPHERE, (1.2, 1.5, H))  # bystander of another type
    engine = RuleEngine([Rule(Literal("near", RED_CUBE, BLUE_SPHERE), GREEN_PYRAMID)])
    (f,) = engine.step(s)
    assert f.rule_index == 0
    assert f.consumed == (CUBE0, SPHERE0)  # a then b
    assert f.product == GREEN_PYRAMID and f.product_slot == PYRAMID0
    np.testing.assert_allclose(f.position, (1.6, 1.0, H))  # where b (the sphere) was
    assert not f.spawn_held and not f.dropped
    assert not s.present[CUBE0] and not s.present[SPHERE0]
    assert s.present[PYRAMID0] and s.object_type(PYRAMID0) == GREEN_PYRAMID
    np.testing.assert_allclose(s.pos[PYRAMID0], (1.6, 1.0, H))
    assert present_types(s) == ["green pyramid", "green sphere"]


def test_vanish_rule_consumes_without_product() -> None:
    s = world()
    s.agent_pos[:] = (0.0, 0.0, 0.5)
    s.put(CUBE0, RED_CUBE, (0.3, 0.0, 0.5), held=True)
    engine = RuleEngine([Rule(Literal("hold", AGENT, RED_CUBE), None)])
    (f,) = engine.step(s)
    assert f.consumed == (CUBE0,)  # the agent is not consumed
    assert f.product is None and f.product_slot is None and not f.dropped
    assert not f.spawn_held
    assert not s.present.any() and not s.held.any()


def test_hold_rule_product_appears_held_and_may_reuse_the_slot() -> None:
    s = world()
    s.agent_pos[:] = (0.0, 0.0, 0.5)
    s.put(CUBE0, RED_CUBE, (0.3, 0.0, 0.5), held=True, visible=True)
    engine = RuleEngine([Rule(Literal("hold", AGENT, RED_CUBE), BLUE_CUBE)])
    (f,) = engine.step(s)
    assert f.consumed == (CUBE0,)
    assert f.product_slot == CUBE0  # lowest free cube slot once the red cube is consumed
    assert f.spawn_held and s.held[CUBE0] and s.visible[CUBE0]
    assert s.object_type(CUBE0) == BLUE_CUBE and s.present[CUBE0]
    goal = compile_goal(Goal(((Literal("hold", AGENT, BLUE_CUBE),),)))
    assert goal_holds(goal, s)


def test_near_rule_picks_closest_pair() -> None:
    s = world()
    s.put(CUBE0, RED_CUBE, (0.0, 0.0, H))
    s.put(CUBE1, RED_CUBE, (1.0, 0.45, H))
    s.put(SPHERE0, BLUE_SPHERE, (0.7, 0.0, H))
    s.put(SPHERE1, BLUE_SPHERE, (1.0, 0.9, H))
    engine = RuleEngine([Rule(Literal("near", RED_CUBE, BLUE_SPHERE), None)])
    (f,) = engine.step(s)
    assert f.consumed == (CUBE1, SPHERE1)  # 0.45 apart: the closest of the 4 near pairs
    assert s.present[CUBE0] and s.present[SPHERE0]


def test_dead_end_goal_object_destroyed() -> None:
    s = world()
    s.put(CUBE0, RED_CUBE, (1.0, 1.0, H))
    s.put(SPHERE0, BLUE_SPHERE, (1.5, 1.0, H))
    goal = compile_goal(Goal(((Literal("hold", AGENT, RED_CUBE),),)))
    engine = RuleEngine([Rule(Literal("near", RED_CUBE, BLUE_SPHERE), None)])
    s.held[CUBE0] = True  # holding the red cube satisfies the goal...
    assert goal_holds(goal, s)
    assert len(engine.step(s)) == 1  # ...until it touches the blue sphere
    # No red cube exists any more: whatever the avatar does, the goal cannot hold.
    s.held[:] = True
    s.visible[:] = True
    s.agent_pos[:] = (1.0, 1.0, 0.5)
    assert not goal_holds(goal, s)
    assert engine.step(s) == []


def test_chain_of_two_rules_over_two_steps() -> None:
    s = world()
    s.put(CUBE0, RED_CUBE, (1.0, 1.0, H))
    s.put(SPHERE0, BLUE_SPHERE, (1.5, 1.0, H))
    s.put(SPHERE1, WHITE_SPHERE, (2.0, 1.0, H))  # next to where the product will appear
    engine = RuleEngine([
        Rule(Literal("near", RED_CUBE, BLUE_SPHERE), GREEN_PYRAMID),
        Rule(Literal("near", GREEN_PYRAMID, WHITE_SPHERE), YELLOW_CUBE),
    ])
    goal = compile_goal(Goal(((Literal("near", YELLOW_CUBE, BLUE_SPHERE, negated=True),
                               Literal("near", AGENT, YELLOW_CUBE)),)))
    step1 = engine.step(s)
    # The product takes part in rules only from the next step on.
    assert [f.rule_index for f in step1] == [0]
    assert s.present[PYRAMID0] and s.present[SPHERE1]
    step2 = engine.step(s)
    assert [f.rule_index for f in step2] == [1]
    assert step2[0].consumed == (PYRAMID0, SPHERE1)
    assert step2[0].product_slot == CUBE0  # the red cube's slot was freed in step 1
    assert present_types(s) == ["yellow cube"]
    np.testing.assert_allclose(s.pos[CUBE0], (2.0, 1.0, H))
    assert engine.step(s) == []
    assert not goal_holds(goal, s)
    s.agent_pos[:] = (2.3, 1.0, 0.5)
    assert goal_holds(goal, s)


def test_instance_consumed_at_most_once_when_rules_compete() -> None:
    s = world()
    s.put(CUBE0, RED_CUBE, (1.0, 1.0, H))
    s.put(SPHERE0, BLUE_SPHERE, (1.6, 1.0, H))
    s.put(SPHERE1, GREEN_SPHERE, (0.4, 1.0, H))
    rules = [Rule(Literal("near", RED_CUBE, BLUE_SPHERE), GREEN_PYRAMID),
             Rule(Literal("near", RED_CUBE, GREEN_SPHERE), YELLOW_CUBE)]
    engine = RuleEngine(rules)
    firings = engine.step(s)
    assert [f.rule_index for f in firings] == [0]  # rule 0 wins the only red cube
    assert s.present[SPHERE1]  # the green sphere was not consumed
    assert present_types(s) == ["green pyramid", "green sphere"]

    # With a second red cube, both rules fire in one step, on different red cubes.
    s2 = world()
    s2.put(CUBE0, RED_CUBE, (1.0, 1.0, H))
    s2.put(CUBE1, RED_CUBE, (0.9, 1.2, H))
    s2.put(SPHERE0, BLUE_SPHERE, (1.6, 1.0, H))
    s2.put(SPHERE1, GREEN_SPHERE, (0.4, 1.0, H))
    firings = RuleEngine(compile_rules(rules)).step(s2)
    assert [f.rule_index for f in firings] == [0, 1]
    assert firings[0].consumed == (CUBE0, SPHERE0)  # CUBE0 is the closer to the blue sphere
    assert firings[1].consumed == (CUBE1, SPHERE1)
    consumed = [slot for f in firings for slot in f.consumed]
    assert len(consumed) == len(set(consumed))
    # Rule 1's yellow cube takes the lowest free cube slot after both red cubes left.
    assert firings[1].product_slot == CUBE0 and s2.object_type(CUBE0) == YELLOW_CUBE


def test_rule_fires_again_when_condition_holds_again() -> None:
    s = world()
    s.agent_pos[:] = (0.0, 0.0, 0.5)
    engine = RuleEngine([Rule(Literal("see", AGENT, RED_CUBE), None)])
    s.put(CUBE0, RED_CUBE, (2.0, 0.0, H), visible=True)
    s.put(CUBE1, RED_CUBE, (4.0, 0.0, H), visible=True)
    (f,) = engine.step(s)  # one firing per rule per step: the closer seen cube
    assert f.consumed == (CUBE0,)
    (f,) = engine.step(s)
    assert f.consumed == (CUBE1,)
    assert engine.step(s) == []


def test_product_dropped_when_pool_full() -> None:
    s = world()
    for i in range(MAX_OBJECTS_PER_SHAPE):
        s.put(PYRAMID0 + i, GREEN_PYRAMID, (10.0 + 2 * i, 10.0, H))
    s.put(CUBE0, RED_CUBE, (1.0, 1.0, H))
    s.put(SPHERE0, BLUE_SPHERE, (1.5, 1.0, H))
    engine = RuleEngine([Rule(Literal("near", RED_CUBE, BLUE_SPHERE), GREEN_PYRAMID)])
    (f,) = engine.step(s)
    assert f.dropped and f.product_slot is None
    assert engine.dropped_products == 1
    assert not s.present[CUBE0] and not s.present[SPHERE0]
    assert int(s.present.sum()) == MAX_OBJECTS_PER_SHAPE
    engine.reset()
    assert engine.dropped_products == 0


def test_on_rule_product_inherits_held_b() -> None:
    s = world()
    s.put(SPHERE0, BLUE_SPHERE, (3.0, 3.0, 1.0), held=True)  # carried by the avatar
    s.put(CUBE0, RED_CUBE, (3.0, 3.0, 1.0 + 2 * H))  # balanced on top of it
    engine = RuleEngine([Rule(Literal("on", RED_CUBE, BLUE_SPHERE), GREEN_PYRAMID)])
    rel = compute_relations(s)
    (f,) = engine.step(s, rel)
    assert f.spawn_held and s.held[PYRAMID0]
    np.testing.assert_allclose(f.position, (3.0, 3.0, 1.0))
