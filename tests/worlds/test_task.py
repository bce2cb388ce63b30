"""Task schema: JSON round trips for generated and probe tasks, field-naming validation errors,
and the token encoding the agent reads."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from worlds.generator import TaskGenerator, load_family
from worlds.probes import load_probe, load_probes
from worlds.task import AGENT, Literal, ObjectType, Rule, Task, TaskValidationError
from worlds.tokens import (
    GOAL_LEN,
    MASK,
    NEG,
    NOTHING,
    PAD,
    POS,
    RULES_SHAPE,
    encode_goal,
    encode_rules,
)


@pytest.fixture(scope="module")
def generated() -> list[Task]:
    return (TaskGenerator(load_family("tiny")).generate(11, 40)
            + TaskGenerator(load_family("default")).generate(11, 60))


def test_round_trip_generated_and_probes(generated: list[Task]) -> None:
    for t in generated + load_probes():
        text = t.to_json()
        back = Task.from_json(text)
        assert back == t  # generator rounds like the canonical JSON does: exact equality
        assert back.task_id == t.task_id
        assert back.to_json() == text
        assert Task.from_json(t.to_json(indent=2)).task_id == t.task_id


def test_task_id_ignores_description_only(generated: list[Task]) -> None:
    t = generated[0]
    d = t.to_dict()
    d["description"] = "something else"
    assert Task.from_dict(d).task_id == t.task_id
    d["episode"]["trials"] = t.episode.trials + 1
    assert Task.from_dict(d).task_id != t.task_id


def test_sticky_grab_serialised_only_when_true(generated: list[Task]) -> None:
    t = generated[0]
    assert "sticky_grab" not in t.to_dict()["episode"]  # ids of older task files stay the same
    d = t.to_dict()
    d["episode"]["sticky_grab"] = True
    sticky = Task.from_dict(d)
    assert sticky.episode.sticky_grab and sticky.task_id != t.task_id
    assert Task.from_json(sticky.to_json()) == sticky
    d["episode"]["sticky_grab"] = False
    assert Task.from_dict(d).task_id == t.task_id


BASE = "nav_ramp_plateau"


def _error(mutate) -> str:
    d = copy.deepcopy(load_probe(BASE).to_dict())
    mutate(d)
    with pytest.raises(TaskValidationError) as e:
        Task.from_dict(d)
    return str(e.value)


def test_bad_shape_names_field_and_allowed_values() -> None:
    msg = _error(lambda d: d["world"]["objects"][0].update(shape="cone"))
    assert msg.startswith("task.world.objects[0].shape") and "'cone'" in msg and "cube" in msg


def test_out_of_range_coordinate() -> None:
    msg = _error(lambda d: d["world"]["objects"][1].update(x=100.0))
    assert msg.startswith("task.world.objects[1].x") and "7.5" in msg


def test_control_hz_not_allowed() -> None:
    msg = _error(lambda d: d["episode"].update(control_hz=7))
    assert msg.startswith("task.episode.control_hz") and "[5, 10, 20]" in msg


def test_sticky_grab_must_be_bool() -> None:
    msg = _error(lambda d: d["episode"].update(sticky_grab=1))
    assert msg.startswith("task.episode.sticky_grab") and "[False, True]" in msg


def test_missing_field() -> None:
    msg = _error(lambda d: d["world"].pop("avatar"))
    assert msg.startswith("task.world") and "missing field(s) ['avatar']" in msg


def test_unknown_field() -> None:
    msg = _error(lambda d: d["game"].update(reward=1))
    assert msg.startswith("task.game") and "unknown field(s) ['reward']" in msg


def test_ramp_not_leading_one_level_up() -> None:
    ramp = {"row": 0, "col": 0, "direction": "north"}  # flat ground north of (0, 0)
    msg = _error(lambda d: d["world"]["terrain"]["ramps"].append(ramp))
    assert msg.startswith("task.world.terrain.ramps[1].direction") and "one level higher" in msg


def test_too_many_objects_per_shape() -> None:
    cube = {"shape": "cube", "colour": "red", "x": 1.0, "y": 1.0, "yaw": 0.0}
    msg = _error(lambda d: d["world"]["objects"].extend([cube] * 6))  # 1 + 6 cubes
    assert msg.startswith("task.world.objects") and "7 objects of shape 'cube'" in msg


def test_products_count_towards_shape_slots() -> None:
    def mutate(d: dict) -> None:
        cube = {"shape": "cube", "colour": "red", "x": 1.0, "y": 1.0, "yaw": 0.0}
        d["world"]["objects"].extend([cube] * 5)  # 6 cubes in all
        d["game"]["rules"] = [{"condition": {"predicate": "hold", "a": AGENT,
                                             "b": {"shape": "cube", "colour": "red"}},
                               "product": {"shape": "cube", "colour": "white"}}]
    msg = _error(mutate)
    assert msg.startswith("task.game.rules") and "initial + products" in msg


def test_goal_object_must_exist() -> None:
    other = {"shape": "pyramid", "colour": "white"}
    msg = _error(lambda d: d["game"]["goal"][0][0].update(b=other))
    assert msg.startswith("task.game.goal.literals[0]") and "white pyramid" in msg


def test_object_inside_wall_and_bad_json() -> None:
    msg = _error(lambda d: d["world"]["terrain"]["walls"].append([4, 4]))
    assert "objects[0]" in msg and "wall tile (4, 4)" in msg
    with pytest.raises(TaskValidationError, match="not valid JSON"):
        Task.from_json("{not json")
    with pytest.raises(TaskValidationError, match="task: expected an object"):
        Task.from_json(json.dumps([1, 2]))


def test_literal_argument_rules() -> None:
    cube = ObjectType("cube", "red")
    with pytest.raises(TaskValidationError, match="^a: hold"):
        Literal("hold", cube, ObjectType("sphere", "red"))
    with pytest.raises(TaskValidationError, match="^b: "):
        Literal("near", cube, cube)
    with pytest.raises(TaskValidationError, match="condition.negated"):
        Rule(Literal("hold", AGENT, cube, negated=True), None)


# ---- tokens ------------------------------------------------------------------------------


def test_token_shapes_and_hidden_rules_masked(generated: list[Task]) -> None:
    n_hidden = 0
    for t in generated:
        goal = encode_goal(t.game.goal)
        rules = encode_rules(t.game.rules)
        assert goal.shape == (GOAL_LEN,) == (36,) and goal.dtype == np.int32
        assert rules.shape == RULES_SHAPE == (8, 8)
        revealed = encode_rules(t.game.rules, reveal_hidden=True)
        for i, r in enumerate(t.game.rules):
            if r.hidden:
                n_hidden += 1
                assert (rules[i] == MASK).all()
                assert not (revealed[i] == MASK).any()
            else:
                assert (rules[i] == revealed[i]).all() and not (rules[i] == MASK).any()
        assert (rules[len(t.game.rules):] == PAD).all()
    assert n_hidden > 0  # the default family does hide rules


def test_goal_token_layout() -> None:
    t = load_probe("negation_goal")
    goal = encode_goal(t.game.goal).reshape(2, 3, 6)
    assert goal[0, 0, 0] == POS and goal[0, 1, 0] == NEG
    assert (goal[0, 2] == PAD).all() and (goal[1] == PAD).all()
    rules = encode_rules(load_probe("dead_end_visible").game.rules)
    assert list(rules[0, 6:]) == [NOTHING, NOTHING]
