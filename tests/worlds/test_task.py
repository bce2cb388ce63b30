"""Task schema: JSON round trips for generated and probe tasks, field-naming validation errors,
and the token encoding the agent reads."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from ada.validation import ConfigError
from worlds.generator import TaskGenerator, load_family
from worlds.probes import load_probe, load_probes
from worlds.task import AGENT, Literal, ObjectType, Rule, Task
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
    with pytest.raises(ConfigError) as e:
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
    assert msg.startswith("task.game.goal[0][0]: ") and "white pyramid" in msg
    # the second literal of the first conjunction is goal[0][1], as the file nests it
    msg = _error(lambda d: d["game"]["goal"][0].append(
        {"predicate": "hold", "a": AGENT, "b": other}))
    assert msg.startswith("task.game.goal[0][1]: ")


def test_object_inside_wall_and_bad_json() -> None:
    msg = _error(lambda d: d["world"]["terrain"]["walls"].append([4, 4]))
    assert "objects[0]" in msg and "wall tile (4, 4)" in msg
    with pytest.raises(ConfigError, match="not valid JSON"):
        Task.from_json("{not json")
    with pytest.raises(ConfigError, match="task: expected an object"):
        Task.from_json(json.dumps([1, 2]))


def test_goal_size_errors_name_the_goal_field_as_the_file_spells_it() -> None:
    msg = _error(lambda d: d["game"].update(goal=[]))
    assert msg.startswith("task.game.goal: ") and "1..2" in msg and "got 0" in msg
    assert "disjuncts" not in msg
    lit = {"predicate": "hold", "a": AGENT, "b": {"shape": "cube", "colour": "red"}}
    msg = _error(lambda d: d["game"].update(goal=[[lit]] * 3))
    assert msg.startswith("task.game.goal: ") and "got 3" in msg
    msg = _error(lambda d: d["game"].update(goal=[[lit], [lit] * 4]))
    assert msg.startswith("task.game.goal[1]: ") and "1..3 literals, got 4" in msg
    msg = _error(lambda d: d["game"].update(goal=[[]]))
    assert msg.startswith("task.game.goal[0]: ") and "got 0" in msg


# ---- integer fields: one rule for integral floats; numbers and nesting of any size --------


@pytest.mark.parametrize(("where", "value"), [
    (("episode", "trials"), 2), (("episode", "trial_steps"), 40), (("episode", "control_hz"), 20),
])
def test_integral_float_is_the_same_task_as_the_int(where: tuple[str, str], value: int) -> None:
    d = copy.deepcopy(load_probe(BASE).to_dict())
    d[where[0]][where[1]] = value
    as_int = Task.from_dict(d)
    d[where[0]][where[1]] = float(value)
    as_float = Task.from_dict(d)
    assert as_float == as_int and as_float.task_id == as_int.task_id
    stored = getattr(as_float.episode, where[1])
    assert type(stored) is int and stored == value
    assert as_float.to_json() == as_int.to_json()  # canonical JSON holds the int


def test_integral_floats_in_terrain_are_ints_and_keep_the_id() -> None:
    t = load_probe(BASE)
    d = copy.deepcopy(t.to_dict())
    terrain = d["world"]["terrain"]
    terrain["levels"] = [[float(v) for v in row] for row in terrain["levels"]]
    terrain["walls"] = [[float(r), float(c)] for r, c in terrain["walls"]] + [[1.0, 1.0]]
    for ramp in terrain["ramps"]:
        ramp.update(row=float(ramp["row"]), col=float(ramp["col"]))
    back = Task.from_dict(d)
    assert all(type(v) is int for row in back.world.terrain.levels for v in row)
    assert all(type(v) is int for wall in back.world.terrain.walls for v in wall)
    assert all(type(r.row) is int and type(r.col) is int for r in back.world.terrain.ramps)
    d2 = copy.deepcopy(t.to_dict())
    d2["world"]["terrain"]["walls"].append([1, 1])
    assert back.task_id == Task.from_dict(d2).task_id


@pytest.mark.parametrize(("mutate", "field", "allowed"), [
    (lambda d: d["episode"].update(trials=2.5), "task.episode.trials", "[1, 13]"),
    (lambda d: d["episode"].update(trial_steps=float("nan")), "task.episode.trial_steps",
     "[1, 100000]"),
    (lambda d: d["episode"].update(control_hz=10.5), "task.episode.control_hz", "[5, 10, 20]"),
    (lambda d: d["episode"].update(control_hz=True), "task.episode.control_hz", "[5, 10, 20]"),
    (lambda d: d["episode"].update(trials="2"), "task.episode.trials", "[1, 13]"),
    (lambda d: d["world"]["terrain"]["levels"][0].__setitem__(0, 0.5),
     "task.world.terrain.levels[0][0]", "[0, 2]"),
    (lambda d: d["world"]["terrain"]["walls"].append([0, 1.5]),
     "task.world.terrain.walls[0][1]", "[0, 4]"),
    (lambda d: d["world"]["terrain"]["ramps"][0].update(row=1.25),
     "task.world.terrain.ramps[0].row", "[0, 4]"),
])
def test_non_integral_value_names_the_field_and_the_allowed_values(mutate, field: str,
                                                                   allowed: str) -> None:
    msg = _error(mutate)
    assert msg.startswith(f"{field}: ") and allowed in msg
    assert "\n" not in msg


@pytest.mark.parametrize("mutate", [
    lambda d: d["world"]["avatar"].update(x=10**400),
    lambda d: d["world"]["objects"][0].update(yaw=-(10**400)),
    lambda d: d["world"]["dynamics"].update(friction=10**400),
    lambda d: d["episode"].update(trials=10**400),
    lambda d: d["world"]["terrain"]["levels"][0].__setitem__(0, 10**400),
])
def test_400_digit_integer_is_a_short_validation_error(mutate) -> None:
    msg = _error(mutate)  # used to be an OverflowError converting to float
    assert "outside the allowed range" in msg and len(msg) < 200


def test_400_digit_integer_in_json_text_names_the_field() -> None:
    text = load_probe(BASE).to_json().replace('"trials":3', '"trials":' + "9" * 400)
    assert "9" * 400 in text
    with pytest.raises(ConfigError, match=r"^task\.episode\.trials: 999") as e:
        Task.from_json(text)
    assert len(str(e.value)) < 200


def test_overlong_and_deeply_nested_json_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="^task: not valid JSON") as e:
        Task.from_json('{"world": ' + "1" * 5000 + "}")  # past Python's int digit limit
    assert "\n" not in str(e.value)
    deep = "[" * 200_000 + "]" * 200_000
    with pytest.raises(ConfigError, match="^task: JSON nested too deeply"):
        Task.from_json(deep)
    # nesting the parser can read is quoted shortly, not in full
    msg = _error(lambda d: d.update(description=[[[[[[[[["x"]]]]]]]]]))
    assert msg.startswith("task.description: expected a string") and len(msg) < 100


def test_literal_argument_rules() -> None:
    cube = ObjectType("cube", "red")
    with pytest.raises(ConfigError, match="^a: hold"):
        Literal("hold", cube, ObjectType("sphere", "red"))
    with pytest.raises(ConfigError, match="^b: "):
        Literal("near", cube, cube)
    with pytest.raises(ConfigError, match="condition.negated"):
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
