"""Writes the hand-authored probe tasks to worlds/probes/*.json (one Task JSON per probe).

Probes are small tasks that each test one capability (navigation, exploration, experimentation
with hidden rules, dead-end avoidance, memory, ...). They are authored here in code rather than
by hand in JSON so that they can be regenerated whenever the Task schema changes, and checked:

    python tools/author_probes.py            # (re)write worlds/probes/
    python tools/author_probes.py --check    # exit 1 if the files differ from this script
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

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
from worlds.tile_graph import is_strongly_connected

PROBE_DIR = Path(__file__).resolve().parents[1] / "worlds" / "probes"
EAST, NORTH, WEST, SOUTH = 0.0, math.pi / 2, math.pi, -math.pi / 2
EPISODE = EpisodeSpec(trials=3, trial_steps=150, control_hz=10)
LONG_EPISODE = EpisodeSpec(trials=3, trial_steps=250, control_hz=10)


def obj(name: str) -> ObjectType:
    """'red cube' -> ObjectType('cube', 'red')."""
    colour, shape = name.split()
    return ObjectType(shape, colour)


def at(t: ObjectType, row: int, col: int, yaw: float = 0.0) -> ObjectSpec:
    """An object at the centre of tile (row, col)."""
    return ObjectSpec(t, (col + 0.5) * TILE_SIZE, (row + 0.5) * TILE_SIZE, yaw)


def avatar(row: int, col: int, yaw: float) -> AvatarSpec:
    return AvatarSpec((col + 0.5) * TILE_SIZE, (row + 0.5) * TILE_SIZE, yaw)


def lit(pred: str, a: object, b: ObjectType, negated: bool = False) -> Literal:
    return Literal(pred, a, b, negated)  # type: ignore[arg-type]


def grid(rows: list[str]) -> tuple[tuple[int, ...], ...]:
    """Levels from strings written north row first (as on a map); row 0 is the south edge."""
    return tuple(tuple(int(ch) for ch in r) for r in reversed(rows))


def goal(*disjuncts: tuple[Literal, ...]) -> Goal:
    return Goal(tuple(disjuncts))


def task(desc: str, size_or_terrain: int | Terrain, objects: list[ObjectSpec], av: AvatarSpec,
         g: Goal, rules: tuple[Rule, ...] = (), episode: EpisodeSpec = EPISODE) -> Task:
    terrain = (Terrain.flat(size_or_terrain) if isinstance(size_or_terrain, int)
               else size_or_terrain)
    return Task(World(terrain, tuple(objects), av), Game(g, rules), episode, desc)


def build_probes() -> dict[str, Task]:
    """Every probe by name."""
    red_cube = obj("red cube")
    blue_cube = obj("blue cube")
    green_cube = obj("green cube")
    yellow_cube = obj("yellow cube")
    purple_cube = obj("purple cube")
    cyan_cube = obj("cyan cube")
    orange_cube = obj("orange cube")
    white_cube = obj("white cube")
    red_sphere = obj("red sphere")
    blue_sphere = obj("blue sphere")
    green_sphere = obj("green sphere")
    yellow_sphere = obj("yellow sphere")
    purple_sphere = obj("purple sphere")
    white_sphere = obj("white sphere")
    orange_sphere = obj("orange sphere")
    red_pyr = obj("red pyramid")
    green_pyr = obj("green pyramid")
    cyan_pyr = obj("cyan pyramid")
    orange_pyr = obj("orange pyramid")
    white_pyr = obj("white pyramid")
    yellow_pyr = obj("yellow pyramid")

    p: dict[str, Task] = {}
    p["nav_ramp_plateau"] = task(
        "navigation: the yellow sphere lies on a raised plateau that only one ramp leads up to",
        Terrain(grid(["00011", "00011", "00000", "00000", "00000"]), (Ramp(2, 3, "north"),)),
        [at(yellow_sphere, 4, 4), at(blue_cube, 0, 4)], avatar(0, 0, NORTH),
        goal((lit("hold", AGENT, yellow_sphere),)))
    p["nav_two_levels"] = task(
        "navigation: climb two ramps, ground to level 1 to level 2, to get near the red pyramid",
        Terrain(grid(["000122", "000122", "000111", "000000", "000000", "000000"]),
                (Ramp(2, 3, "north"), Ramp(3, 4, "north"))),
        [at(red_pyr, 5, 5)], avatar(0, 0, NORTH),
        goal((lit("near", AGENT, red_pyr),)), episode=LONG_EPISODE)
    walls = ((2, 1), (2, 2), (2, 3))
    p["hidden_object_behind_wall"] = task(
        "exploration: the green cube is behind a wall, out of view from the start; walk around "
        "the wall to find and hold it",
        Terrain(Terrain.flat(5).levels, (), walls),
        [at(green_cube, 4, 2), at(red_sphere, 0, 4)], avatar(0, 2, NORTH),
        goal((lit("hold", AGENT, green_cube),)))
    p["hidden_rule_experiment"] = task(
        "experimentation: the white cube does not exist yet; a hidden rule (the purple sphere "
        "near the orange pyramid) creates it, to be found by trying things",
        4, [at(purple_sphere, 1, 3), at(orange_pyr, 3, 1), at(red_cube, 0, 0)],
        avatar(1, 1, NORTH), goal((lit("hold", AGENT, white_cube),)),
        (Rule(lit("near", purple_sphere, orange_pyr), white_cube, hidden=True),))
    p["hidden_rule_two_candidates"] = task(
        "experimentation and memory: by hidden rules, holding the red sphere makes the green "
        "pyramid while holding the blue one just destroys it; remember which across trials",
        4, [at(red_sphere, 3, 0), at(blue_sphere, 3, 3)], avatar(0, 1, NORTH),
        goal((lit("hold", AGENT, green_pyr),)),
        (Rule(lit("hold", AGENT, blue_sphere), None, hidden=True),
         Rule(lit("hold", AGENT, red_sphere), green_pyr, hidden=True)))
    p["dead_end_visible"] = task(
        "dead end (visible rule): bring the red cube near the green pyramid, routing around the "
        "white sphere, which destroys the cube when they meet",
        5, [at(red_cube, 1, 0), at(white_sphere, 2, 2), at(green_pyr, 4, 4)],
        avatar(0, 2, NORTH), goal((lit("near", red_cube, green_pyr),)),
        (Rule(lit("near", red_cube, white_sphere), None),))
    p["dead_end_hidden"] = task(
        "dead end (hidden rule): the green sphere vanishes when held, so the blue cube must be "
        "carried to it instead to make the yellow pyramid; learnable across trials",
        5, [at(green_sphere, 4, 1), at(blue_cube, 0, 4)], avatar(3, 0, NORTH),
        goal((lit("hold", AGENT, yellow_pyr),)),
        (Rule(lit("near", blue_cube, green_sphere), yellow_pyr),
         Rule(lit("hold", AGENT, green_sphere), None, hidden=True)))
    p["two_step_chain"] = task(
        "rule chain of depth 2: holding the red pyramid turns it into a blue sphere; the blue "
        "sphere near the yellow cube makes the green pyramid to hold",
        5, [at(red_pyr, 0, 4), at(yellow_cube, 4, 0)], avatar(2, 2, EAST),
        goal((lit("hold", AGENT, green_pyr),)),
        (Rule(lit("hold", AGENT, red_pyr), blue_sphere),
         Rule(lit("near", blue_sphere, yellow_cube), green_pyr)))
    p["object_permanence"] = task(
        "object permanence: the red sphere is in view at the start, then out of view while "
        "fetching the blue cube behind the avatar; bring the cube back near the sphere",
        5, [at(red_sphere, 2, 4), at(blue_cube, 2, 0)], avatar(2, 2, EAST),
        goal((lit("near", blue_cube, red_sphere),)))
    p["negation_goal"] = task(
        "negation: be near the green cube while not seeing the red pyramid next to it (look "
        "away from the pyramid)",
        4, [at(green_cube, 2, 2), at(red_pyr, 2, 3)], avatar(2, 0, EAST),
        goal((lit("near", AGENT, green_cube), lit("see", AGENT, red_pyr, negated=True))))
    p["disjunction_goal"] = task(
        "disjunction: either hold the orange cube far away on a plateau, or put the white "
        "pyramid on the cyan cube close by",
        Terrain(grid(["000011", "000011", "000000", "000000", "000000", "000000"]),
                (Ramp(3, 4, "north"),)),
        [at(orange_cube, 5, 5), at(white_pyr, 0, 1), at(cyan_cube, 1, 0)],
        avatar(0, 0, NORTH),
        goal((lit("hold", AGENT, orange_cube),), (lit("on", white_pyr, cyan_cube),)))
    p["stacking_on"] = task(
        "stacking: put the purple cube on top of the yellow cube",
        4, [at(purple_cube, 3, 0), at(yellow_cube, 0, 3)], avatar(0, 0, NORTH),
        goal((lit("on", purple_cube, yellow_cube),)))
    p["see_goal"] = task(
        "see: turn around to bring the white pyramid, behind the avatar at the start, into view",
        4, [at(white_pyr, 2, 3)], avatar(1, 1, WEST), goal((lit("see", AGENT, white_pyr),)))
    p["tool_use_chain"] = task(
        "tool use: carry the cyan pyramid (a key) up the ramp to the orange sphere (a lock) on "
        "the plateau; together they make the yellow cube to hold",
        Terrain(grid(["00111", "00111", "00000", "00000", "00000"]), (Ramp(2, 2, "north"),)),
        [at(cyan_pyr, 0, 0), at(orange_sphere, 4, 4)], avatar(0, 2, NORTH),
        goal((lit("hold", AGENT, yellow_cube),)),
        (Rule(lit("near", cyan_pyr, orange_sphere), yellow_cube),), episode=LONG_EPISODE)
    for name, t in p.items():
        assert is_strongly_connected(t.world.terrain), name
    return p


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="only compare the files with the authored probes; exit 1 on a difference")
    ap.add_argument("--out", type=Path, default=PROBE_DIR, help="directory of the JSON files")
    args = ap.parse_args(argv)
    probes = build_probes()
    texts = {name: t.to_json(indent=2) + "\n" for name, t in probes.items()}
    if args.check:
        on_disk = {p.stem: p.read_text() for p in args.out.glob("*.json")}
        stale = sorted(n for n in set(texts) | set(on_disk) if texts.get(n) != on_disk.get(n))
        print(f"{len(texts)} probes; stale or missing: {stale or 'none'}")
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        _atomic_write(args.out / f"{name}.json", text)
        print(f"{name:28s} {probes[name].task_id}  {probes[name].description}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
