"""Hand-authored probe tasks: present, valid, up to date with their authoring script, held out,
and each actually testing what its description says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from worlds.generator import chain_depth
from worlds.probes import load_probe, load_probes, probe_ids, probe_names
from worlds.split import Split
from worlds.task import Task, Terrain
from worlds.tile_graph import is_strongly_connected, reachable

ROOT = Path(__file__).resolve().parents[2]


def _author_module():
    spec = importlib.util.spec_from_file_location("author_probes",
                                                  ROOT / "tools" / "author_probes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_probe_set() -> None:
    names = probe_names()
    assert len(names) >= 12
    probes = load_probes()
    assert [load_probe(n) for n in names] == probes
    assert len(probe_ids()) == len(probes)  # distinct tasks
    for p in probes:
        assert p.description and "\n" not in p.description
        assert Task.from_json(p.to_json()) == p
        assert is_strongly_connected(p.world.terrain)
    with pytest.raises(KeyError, match="known probes"):
        load_probe("no_such_probe")


def test_probe_files_match_authoring_script() -> None:
    mod = _author_module()
    assert mod.main(["--check"]) == 0
    assert set(mod.build_probes()) == set(probe_names())


def test_probes_are_heldout() -> None:
    for p in load_probes():
        assert Split().is_heldout(p)
        assert Split(heldout_fraction=0.0).is_heldout(p)


def test_probes_cover_the_capabilities() -> None:
    probes = load_probes()
    rules = [r for p in probes for r in p.game.rules]
    lits = [lit for p in probes for lit in p.game.goal.literals]
    assert any(r.hidden for r in rules)
    assert any(r.product is None and not r.hidden for r in rules)  # a visible dead end
    assert any(r.product is None and r.hidden for r in rules)  # a hidden dead end
    assert any(lit.negated for lit in lits)
    assert {lit.predicate for lit in lits} == {"hold", "near", "see", "on"}
    assert any(len(p.game.goal.disjuncts) == 2 for p in probes)
    assert any(chain_depth(p) == 2 for p in probes)
    assert any(p.world.terrain.walls for p in probes)
    assert any(max(map(max, p.world.terrain.levels)) == 2 for p in probes)


def _level_at(t: Task, x: float, y: float) -> int:
    r, c = t.world.terrain.tile_of(x, y)
    return t.world.terrain.levels[r][c]


def test_plateau_probe_needs_its_ramp() -> None:
    t = load_probe("nav_ramp_plateau")
    goal_obj = next(o for o in t.world.objects if o.type == t.game.goal.objects[0])
    assert _level_at(t, goal_obj.x, goal_obj.y) == 1
    assert _level_at(t, t.world.avatar.x, t.world.avatar.y) == 0
    start = t.world.terrain.tile_of(t.world.avatar.x, t.world.avatar.y)
    target = t.world.terrain.tile_of(goal_obj.x, goal_obj.y)
    assert target in reachable(t.world.terrain, start)
    bare = Terrain(t.world.terrain.levels, (), t.world.terrain.walls)
    assert target not in reachable(bare, start)  # only the ramp leads up


def test_hidden_object_is_behind_a_wall() -> None:
    t = load_probe("hidden_object_behind_wall")
    goal_obj = next(o for o in t.world.objects if o.type == t.game.goal.objects[0])
    a = t.world.avatar
    walls = set(t.world.terrain.walls)
    for dx in (-0.25, 0.0, 0.25):  # lines of sight to the object's left, centre and right
        points = [(a.x + (goal_obj.x + dx - a.x) * s / 50, a.y + (goal_obj.y - a.y) * s / 50)
                  for s in range(51)]
        assert any(t.world.terrain.tile_of(x, y) in walls for x, y in points)
