"""Task generator: determinism, validity, family knobs, solvability by construction, terrain
connectivity, duplicates, and the train/test split."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from ada.validation import ConfigError
from worlds.expert.symbolic import has_plan
from worlds.family import FAMILY_DIR, FamilyConfig, family_names, load_family
from worlds.game_sampler import conflicts
from worlds.generator import (
    GenerationError,
    TaskGenerator,
    chain_depth,
    describe,
    obtainable_types,
)
from worlds.split import Split
from worlds.task import AGENT, DYNAMICS_RANGES, MAX_RULES, Literal, ObjectType, Ramp, Task, Terrain
from worlds.tile_graph import can_step, is_strongly_connected, reachable

FAMILIES = ("tiny", "default", "lookalike")


@pytest.fixture(scope="module")
def batches() -> dict[str, tuple[FamilyConfig, TaskGenerator, list[Task]]]:
    out = {}
    for name in FAMILIES:
        fam = load_family(name)
        gen = TaskGenerator(fam)
        out[name] = (fam, gen, gen.generate(123, 400))
    return out


def _positive_objects(t: Task) -> set[ObjectType]:
    return {o for lit in t.game.goal.literals if not lit.negated for o in lit.objects}


# ---- determinism and validity ---------------------------------------------------------------


def test_generate_is_deterministic_per_seed() -> None:
    gen = TaskGenerator(load_family("default"))
    a = [t.task_id for t in gen.generate(5, 20)]
    assert a == [t.task_id for t in TaskGenerator(load_family("default")).generate(5, 20)]
    assert a[:10] == [t.task_id for t in gen.generate(5, 10)]  # a prefix of the same stream
    assert set(a).isdisjoint(t.task_id for t in gen.generate(6, 20))
    rng1, rng2 = np.random.default_rng(9), np.random.default_rng(9)
    assert gen.sample(rng1) == gen.sample(rng2)


def test_every_task_is_valid(batches) -> None:
    for _, gen, tasks in batches.values():
        assert gen.stats["invalid"] == 0  # no draw ever failed Task validation
        for t in tasks:
            assert Task.from_json(t.to_json()) == t  # re-validates every field


def test_family_knobs_are_respected(batches) -> None:
    for fam, _, tasks in batches.values():
        for t in tasks:
            w, g = t.world, t.game
            assert fam.arena_tiles[0] <= w.size <= fam.arena_tiles[1]
            assert fam.n_objects[0] <= len(w.objects) <= fam.n_objects[1]
            assert fam.rule_depth[0] <= chain_depth(t) <= fam.rule_depth[1]
            assert len(g.rules) <= MAX_RULES
            assert fam.goal_disjuncts[0] <= len(g.goal.disjuncts) <= fam.goal_disjuncts[1]
            assert all(len(c) <= fam.goal_conjuncts[1] for c in g.goal.disjuncts)
            assert {lit.predicate for lit in g.goal.literals} <= set(fam.goal_predicates)
            assert {r.condition.predicate for r in g.rules} <= set(fam.rule_predicates)
            assert max(map(max, w.terrain.levels)) <= fam.max_level
            assert len(w.terrain.walls) <= fam.n_walls[1]  # repairs only ever remove walls
            if fam.hidden_prob == 0:
                assert not any(r.hidden for r in g.rules)
            if fam.negation_prob == 0:
                assert not any(lit.negated for lit in g.goal.literals)
            for name in DYNAMICS_RANGES:
                lo, hi = getattr(fam.dynamics, name)
                assert lo <= getattr(w.dynamics, name) <= hi
            assert t.episode == fam.episode
        depths = {chain_depth(t) for t in tasks}
        assert depths == set(range(fam.rule_depth[0], fam.rule_depth[1] + 1))
        sizes = {len(t.world.objects) for t in tasks}
        assert sizes == set(range(fam.n_objects[0], fam.n_objects[1] + 1))


def test_default_family_uses_its_features(batches) -> None:
    _, _, tasks = batches["default"]
    assert any(max(map(max, t.world.terrain.levels)) == 2 for t in tasks)
    assert sum(bool(t.world.terrain.ramps) for t in tasks) > len(tasks) // 2
    assert any(t.world.terrain.walls for t in tasks)
    assert any(r.hidden for t in tasks for r in t.game.rules)
    assert any(lit.negated for t in tasks for lit in t.game.goal.literals)
    assert any(len(t.game.goal.disjuncts) == 2 for t in tasks)
    assert len({t.world.dynamics.friction for t in tasks}) > 100
    assert sum(_dead_ends(t) > 0 for t in tasks) > 10


def _dead_ends(t: Task) -> int:
    """Rules consuming an object the goal route needs, producing nothing it needs."""
    needed = _positive_objects(t)
    changed = True
    while changed:  # close under "consumed by a rule producing something needed"
        changed = False
        for r in t.game.rules:
            if r.product in needed and not set(r.consumed) <= needed:
                needed |= set(r.consumed)
                changed = True
    return sum(1 for r in t.game.rules if r.product not in needed and set(r.consumed) & needed)


# ---- solvability by construction ------------------------------------------------------------


def test_goal_objects_are_obtainable(batches) -> None:
    for _, _, tasks in batches.values():
        for t in tasks:
            assert _positive_objects(t) <= obtainable_types(t)
            assert chain_depth(t) >= 0
            for conj in t.game.goal.disjuncts:
                assert any(not lit.negated for lit in conj)
                positives = [lit for lit in conj if not lit.negated]
                assert sum(lit.predicate == "hold" for lit in positives) <= 1
            conditions = [r.condition for r in t.game.rules]
            for lit in list(t.game.goal.literals) + conditions:
                if lit.predicate == "on":  # only a cube's flat top carries another object
                    assert lit.b.shape == "cube"


def test_each_type_exists_once(batches) -> None:
    """One instance per type, and each product made by exactly one rule, so production chains
    never compete for objects and per-shape slot counts are exact."""
    for _, _, tasks in batches.values():
        for t in tasks:
            initial = [o.type for o in t.world.objects]
            products = [r.product for r in t.game.rules if r.product is not None]
            assert len(set(initial)) == len(initial)
            assert len(set(products)) == len(products)
            assert not set(products) & set(initial)


def test_dead_end_pairs_start_apart(batches) -> None:
    _, _, tasks = batches["default"]
    checked = 0
    for t in tasks:
        tiles = {o.type: t.world.terrain.tile_of(o.x, o.y) for o in t.world.objects}
        needed = _positive_objects(t) | {o for r in t.game.rules if r.product is not None
                                         and r.product in _positive_objects(t)
                                         for o in r.consumed}
        for r in t.game.rules:
            objs = r.condition.objects
            if r.product is None and len(objs) == 2 and set(objs) & needed \
                    and all(o in tiles for o in objs):
                a, b = (tiles[o] for o in objs)
                assert max(abs(a[0] - b[0]), abs(a[1] - b[1])) >= 2
                checked += 1
    assert checked > 0


def test_conflicting_literals_are_detected() -> None:
    x, y = ObjectType("cube", "red"), ObjectType("sphere", "blue")
    assert conflicts(Literal("hold", AGENT, y), [Literal("hold", AGENT, x)])
    assert conflicts(Literal("near", AGENT, x, negated=True), [Literal("hold", AGENT, x)])
    assert conflicts(Literal("near", y, x), [Literal("near", x, y)])  # symmetric atom
    assert conflicts(Literal("on", x, y), [Literal("hold", AGENT, x)])
    assert not conflicts(Literal("near", AGENT, y), [Literal("hold", AGENT, x)])


# ---- placement and terrain -----------------------------------------------------------------


def test_placement_and_connectivity(batches) -> None:
    for _, _, tasks in batches.values():
        for t in tasks:
            terrain = t.world.terrain
            assert is_strongly_connected(terrain)
            tiles = [terrain.tile_of(o.x, o.y) for o in t.world.objects]
            tiles.append(terrain.tile_of(t.world.avatar.x, t.world.avatar.y))
            assert len(set(tiles)) == len(tiles)  # distinct tiles
            assert not set(tiles) & set(terrain.walls)
            points = [(o.x, o.y) for o in t.world.objects] + [(t.world.avatar.x,
                                                                t.world.avatar.y)]
            for i, p in enumerate(points):  # nothing starts within near() range of another
                assert all(np.hypot(p[0] - q[0], p[1] - q[1]) > 1.05 for q in points[i + 1:])


def test_tile_graph_movement_model() -> None:
    levels = ((0, 0, 0), (0, 1, 1), (0, 1, 2))  # row 0 is the south edge
    no_ramp = Terrain(levels)
    assert reachable(no_ramp, (0, 0)) == {(0, 0), (0, 1), (0, 2), (1, 0), (2, 0)}
    assert (0, 0) in reachable(no_ramp, (2, 2))  # dropping down is allowed
    assert not is_strongly_connected(no_ramp)
    terrain = Terrain(levels, (Ramp(0, 1, "north"), Ramp(2, 1, "east")))  # 0 -> 1 -> 2
    assert (2, 2) in reachable(terrain, (0, 0)) and is_strongly_connected(terrain)
    one_ramp = Terrain(levels, (Ramp(0, 1, "north"),))
    assert (1, 1) in reachable(one_ramp, (0, 0))
    assert (2, 2) not in reachable(one_ramp, (0, 0))  # no ramp up to level 2
    grid, ramps = [list(r) for r in levels], {(0, 1): "north"}
    assert can_step(grid, ramps, set(), (0, 1), "north", (1, 1))  # up the ramp
    assert not can_step(grid, ramps, set(), (1, 0), "east", (1, 1))  # up a bare step
    assert can_step(grid, ramps, set(), (1, 1), "west", (1, 0))  # dropping down
    walled = Terrain(Terrain.flat(3).levels, (), ((0, 1), (1, 0), (1, 1)))
    assert (0, 0) not in reachable(walled, (2, 2))


# ---- duplicates, split and failure modes -----------------------------------------------------


class _Replay(TaskGenerator):
    """A generator that replays fixed tasks, to exercise duplicate removal."""

    def __init__(self, tasks: list[Task]) -> None:
        super().__init__(load_family("tiny"))
        self._tasks, self._i = tasks, 0

    def sample_any(self, rng: np.random.Generator) -> Task:
        self._i += 1
        return self._tasks[(self._i - 1) % len(self._tasks)]


def test_duplicates_are_removed(batches) -> None:
    a, b = batches["tiny"][2][:2]
    gen = _Replay([a, a, b, a])
    assert [t.task_id for t in gen.generate(0, 2)] == [a.task_id, b.task_id]
    assert gen.stats["duplicates"] == 1
    with pytest.raises(GenerationError, match="only 2 distinct tasks"):
        _Replay([a, b]).generate(0, 3)


def test_train_generator_never_emits_heldout_tasks() -> None:
    split = Split(role="train")
    gen = TaskGenerator(load_family("tiny"), split)
    tasks = gen.generate(2024, 5000)
    assert len({t.task_id for t in tasks}) == 5000
    assert not any(split.is_heldout(t) for t in tasks)
    assert 250 < gen.stats["heldout"] < 900  # ~10% of draws were held out and rejected


def test_test_generator_emits_only_heldout_tasks() -> None:
    split = Split(role="test")
    gen = TaskGenerator(load_family("default"), split)
    tasks = gen.generate(1, 30)
    assert all(split.is_heldout(t) for t in tasks)
    assert gen.stats["not_heldout"] > 30


def test_test_role_needs_a_heldout_fraction() -> None:
    with pytest.raises(ConfigError, match="heldout_fraction"):
        TaskGenerator(load_family("tiny"), Split(heldout_fraction=0.0, role="test"))


def test_infeasible_family_raises() -> None:
    fam = FamilyConfig(n_objects=(2, 2), rule_depth=(2, 2), goal_predicates=("on",),
                       rule_predicates=("on",))  # needs >= 4 initial objects
    with pytest.raises(GenerationError, match="no valid task"):
        TaskGenerator(fam).sample(np.random.default_rng(0))


def test_describe(batches) -> None:
    _, _, tasks = batches["default"]
    t = next(t for t in tasks if any(r.hidden for r in t.game.rules))
    text = describe(t)
    assert t.task_id in text and str(t.game.goal) in text and "[hidden]" in text
    assert all(o.type.name in text for o in t.world.objects)
    assert len(text.splitlines()) >= 6 + len(t.game.rules) + len(t.world.objects)


# ---- family configs ------------------------------------------------------------------------


def test_shipped_families_load_and_round_trip() -> None:
    assert {"tiny", "default"} <= set(family_names())
    for name in FAMILIES:
        fam = load_family(name)
        assert fam.name == name
        assert FamilyConfig.from_mapping(fam.to_dict()) == fam
        assert FamilyConfig.from_mapping(OmegaConf.create(fam.to_dict())) == fam
    tiny = load_family("tiny")
    assert load_family(FAMILY_DIR / "tiny.yaml") == tiny  # a path works as well as a name
    assert tiny.max_level == 0 and tiny.n_walls == (0, 0) and tiny.hidden_prob == 0
    with pytest.raises(ConfigError, match="known families"):
        load_family("no_such_family")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"arena_tiles": [1, 3]}, "FamilyConfig.arena_tiles"),
    ({"arena_tiles": [6, 4]}, "FamilyConfig.arena_tiles"),
    ({"max_level": 3}, "FamilyConfig.max_level"),
    ({"n_plateaus": [1, 2], "max_level": 0}, "FamilyConfig.n_plateaus"),
    ({"n_objects": [1, 40]}, "FamilyConfig.n_objects"),
    ({"hidden_prob": 1.5}, "FamilyConfig.hidden_prob"),
    ({"goal_predicates": ["touch"]}, "FamilyConfig.goal_predicates"),
    ({"goal_predicates": ["hold", True]}, "FamilyConfig.goal_predicates"),  # YAML's bare `on`
    ({"goal_conjuncts": [1, 4]}, "FamilyConfig.goal_conjuncts"),
    ({"dynamics": {"friction": [0.0, 1.0]}}, "FamilyConfig.dynamics.friction"),
    ({"episode": {"control_hz": 7}}, "FamilyConfig.episode.control_hz"),
    ({"arena_tile": [3, 4]}, "unknown key(s) ['arena_tile']"),
    ({"near_agent_prob": -0.1}, "FamilyConfig.near_agent_prob"),
    ({"lookalike_distractors": "yes"}, "FamilyConfig.lookalike_distractors"),
    ({"rule_pair_conditions": 1}, "FamilyConfig.rule_pair_conditions"),
    ({"lookalike_distractors": True, "n_objects": [2, 7]}, "FamilyConfig.n_objects"),
])
def test_bad_family_configs_name_the_field(overrides: dict, field: str) -> None:
    d = load_family("tiny").to_dict()
    d.update(overrides)
    with pytest.raises(ConfigError) as e:
        FamilyConfig.from_mapping(d)
    assert field in str(e.value)
    assert "allowed" in str(e.value) or "not one of" in str(e.value)


def test_lookalike_family_hides_which_same_shape_object_makes_the_goal() -> None:
    """configs/world/lookalike.yaml: every task is `hold(agent, X)` where X is made by ONE
    hidden `hold(agent, Y)` rule and Y sits among 1-2 objects of its own shape, so the agent
    cannot tell Y from its look-alikes except by picking them up (the adaptation family).
    A grab cannot be undone within a trial, so a wrong pick costs the trial."""
    fam = load_family("lookalike")
    assert FamilyConfig.from_mapping(fam.to_dict()) == fam
    assert fam.episode.sticky_grab
    tasks = TaskGenerator(fam).generate(0, 60)
    for task in tasks:
        (lit,) = task.game.goal.literals
        (rule,) = task.game.rules
        assert lit.predicate == "hold" and lit.a == AGENT
        assert rule.hidden and rule.product == lit.b
        assert rule.condition.predicate == "hold" and rule.condition.a == AGENT
        shapes = {o.type.shape for o in task.world.objects}
        assert shapes == {rule.condition.b.shape}, describe(task)
        assert 2 <= len(task.world.objects) <= 3
        assert task.episode.sticky_grab
    assert {len(t.world.objects) for t in tasks} == {2, 3}


def test_near_agent_prob_and_pair_conditions_steer_the_sampler() -> None:
    d = load_family("tiny").to_dict()
    d.update(goal_predicates=["near"], near_agent_prob=1.0, rule_pair_conditions=False,
             n_objects=[2, 3])
    for task in TaskGenerator(FamilyConfig.from_mapping(d)).generate(1, 60):
        assert all(lit.a == AGENT for lit in task.game.goal.literals)
        assert all(r.condition.a == AGENT for r in task.game.rules)
    d.update(near_agent_prob=0.0, rule_pair_conditions=True)
    pairs = [lit.a != AGENT for t in TaskGenerator(FamilyConfig.from_mapping(d)).generate(1, 60)
             for lit in t.game.goal.literals]
    assert all(pairs)


def test_family_integers_follow_the_task_rule_for_integral_floats():
    """An integral float is the int (as in task files); a fractional one is a clear error."""
    import dataclasses

    base = dataclasses.asdict(load_family("tiny"))
    spelled = FamilyConfig.from_mapping({**base, "max_level": 1.0, "n_objects": [2.0, 3.0]})
    assert spelled.max_level == 1 and isinstance(spelled.max_level, int)
    assert spelled.n_objects == (2, 3) and all(type(v) is int for v in spelled.n_objects)
    with pytest.raises(ConfigError, match=r"FamilyConfig.n_objects: \(2.5, 3\) is not allowed"):
        FamilyConfig.from_mapping({**base, "n_objects": [2.5, 3]})


@pytest.mark.parametrize(("family", "n"), [("default", 2000), ("tiny", 500), ("lookalike", 500)])
def test_every_generated_task_has_a_plan(family: str, n: int) -> None:
    """The expert's symbolic planner finds a plan for every emitted task: a task without one
    would be a generator defect (the generator rejects such draws and counts them)."""
    gen = TaskGenerator(load_family(family))
    tasks = gen.generate(11, n)
    missing = [t.task_id for t in tasks if not has_plan(t)]
    assert not missing, f"{len(missing)} of {n} {family} tasks have no plan: {missing[:5]}"
    assert gen.stats["draws"] >= n
