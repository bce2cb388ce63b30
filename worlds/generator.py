"""Seeded task generator: families of procedural tasks after AdA appendix A.2 / XLand-MiniGrid.

`TaskGenerator(family, split).sample(rng)` draws one valid Task: terrain (`tile_graph`), a game
(`game_sampler`: goal first, rule chains backwards, distractors and dead ends), object and
avatar placement on distinct tiles, dynamics and the episode spec. Every draw is validated by
`Task` itself; a draw that breaks a budget or a validation rule is retried a bounded number of
times and then raises `GenerationError`, so an invalid task is never emitted; nor is one for
which the expert's symbolic planner (`worlds.expert.symbolic`) finds no plan (counted as
`stats["no_plan"]`). With a split, the generator only emits tasks on its side of it (train:
never a held-out task; test: only those).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ada.validation import ConfigError
from worlds.expert.symbolic import has_plan
from worlds.family import DynamicsRanges, FamilyConfig, family_names, load_family
from worlds.game_sampler import GameDraft, GameSampler, SampleRejectedError
from worlds.split import Split
from worlds.task import (
    AGENT,
    DYNAMICS_RANGES,
    TILE_SIZE,
    AvatarSpec,
    Dynamics,
    Entity,
    Game,
    ObjectSpec,
    ObjectType,
    Task,
    Terrain,
    World,
)
from worlds.tile_graph import TerrainError, Tile, free_tiles, sample_terrain

__all__ = [
    "ConfigError", "DynamicsRanges", "FamilyConfig", "GenerationError", "TaskGenerator",
    "chain_depth", "describe", "family_names", "load_family", "obtainable_types",
]

MAX_DRAWS = 200  # attempts at one valid task before the family is declared infeasible
JSON_DIGITS = 6  # decimals kept by Task.to_json (task._FLOAT_DIGITS)
MIN_APART = 2  # tiles (Chebyshev) between objects that must not start near each other


class GenerationError(RuntimeError):
    """The family (with this split) cannot produce the requested tasks; says why."""


def _cheb(a: Tile, b: Tile) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def _place(rng: np.random.Generator, terrain: Terrain, start: Tile,
           draft: GameDraft) -> dict[Entity, Tile]:
    """Distinct tiles for the initial objects (avoiding ramps when there is room), greedily,
    honouring all apart-constraints if possible and the hard (dead-end) ones always."""
    ramps = {(r.row, r.col) for r in terrain.ramps}
    free = [t for t in free_tiles(terrain) if t != start]
    flat = [t for t in free if t not in ramps]
    pool = flat if len(flat) >= len(draft.initial) else free
    if len(pool) < len(draft.initial):
        raise SampleRejectedError("not enough free tiles for the objects")
    for constraints in (draft.hard_apart + draft.soft_apart, draft.hard_apart):
        for _attempt in range(8):
            tiles: dict[Entity, Tile] = {AGENT: start}
            for obj in draft.initial:
                taken = set(tiles.values())
                partners = [b if a == obj else a for a, b in constraints if obj in (a, b)]
                options = [t for t in pool if t not in taken and all(
                    _cheb(t, tiles[p]) >= MIN_APART for p in partners if p in tiles)]
                if not options:
                    break
                tiles[obj] = options[int(rng.integers(len(options)))]
            else:
                return tiles
    raise SampleRejectedError("objects cannot be placed apart as dead ends require")


def _r(x: float) -> float:
    """Rounds like the canonical JSON does, so that a generated task equals its reloaded copy
    exactly (an env built from either is bit-for-bit the same)."""
    return round(float(x), JSON_DIGITS) + 0.0


def _dynamics(rng: np.random.Generator, ranges: DynamicsRanges) -> Dynamics:
    values = {}
    for name in DYNAMICS_RANGES:
        lo, hi = getattr(ranges, name)
        values[name] = min(max(_r(lo + (hi - lo) * rng.random()), lo), hi)
    return Dynamics(**values)


class TaskGenerator:
    """Draws tasks of one family; with a split, only from its side (see module docstring)."""

    def __init__(self, family: FamilyConfig, split: Split | None = None) -> None:
        if split is not None and split.role == "test" and split.heldout_fraction <= 0:
            raise ConfigError("split: role 'test' with heldout_fraction 0 can only emit probe "
                              "tasks, never generated ones; allowed: heldout_fraction > 0")
        self.family = family
        self.split = split
        self.stats: Counter[str] = Counter()  # draws, rejected, invalid, heldout, duplicates

    def _draw(self, rng: np.random.Generator) -> Task:
        fam = self.family
        size = int(rng.integers(fam.arena_tiles[0], fam.arena_tiles[1] + 1))
        terrain, start = sample_terrain(rng, fam, size)
        n_objects = int(rng.integers(fam.n_objects[0], fam.n_objects[1] + 1))
        n_objects = min(n_objects, len(free_tiles(terrain)) - 1)
        if n_objects < fam.n_objects[0]:
            raise SampleRejectedError("walls left too few tiles for the objects")
        draft = GameSampler(rng, fam, n_objects).build()
        tiles = _place(rng, terrain, start, draft)
        j = fam.position_jitter

        def point(tile: Tile) -> tuple[float, float]:
            x = (tile[1] + 0.5) * TILE_SIZE + float(rng.uniform(-j, j))
            y = (tile[0] + 0.5) * TILE_SIZE + float(rng.uniform(-j, j))
            return _r(x), _r(y)

        objects = []
        for t in draft.initial:
            x, y = point(tiles[t])
            objects.append(ObjectSpec(t, x, y, _r(rng.uniform(-math.pi, math.pi))))
        ax, ay = point(start)
        avatar = AvatarSpec(ax, ay, _r(rng.uniform(-math.pi, math.pi)))
        world = World(terrain, tuple(objects), avatar, _dynamics(rng, fam.dynamics))
        task = Task(world, Game(draft.goal, draft.rules), fam.episode,
                    description=f"family={fam.name} depth={draft.depth}")
        if not has_plan(task):  # no sequence of rule firings reaches a goal that can hold
            self.stats["no_plan"] += 1
            raise SampleRejectedError("no plan reaches the goal")
        return task

    def sample_any(self, rng: np.random.Generator) -> Task:
        """One valid task of the family, on either side of the split."""
        last: Exception | None = None
        for _ in range(MAX_DRAWS):
            self.stats["draws"] += 1
            try:
                return self._draw(rng)
            except (SampleRejectedError, TerrainError) as e:
                self.stats["rejected"] += 1
                last = e
            except ConfigError as e:  # an invalid draw is a generator bug: counted, retried
                self.stats["invalid"] += 1
                last = e
        raise GenerationError(f"family {self.family.name!r}: no valid task in {MAX_DRAWS} "
                              f"draws; last problem: {last}")

    def sample(self, rng: np.random.Generator) -> Task:
        """One valid task on this generator's side of the split."""
        if self.split is None:
            return self.sample_any(rng)
        frac = self.split.heldout_fraction
        side = frac if self.split.role == "test" else 1.0 - frac
        limit = 1000 if side >= 0.5 else int(math.ceil(200 / max(side, 1e-6)))
        for _ in range(limit):
            task = self.sample_any(rng)
            if self.split.accepts(task):
                return task
            self.stats["heldout" if self.split.role == "train" else "not_heldout"] += 1
        raise GenerationError(f"family {self.family.name!r}: no task on the {self.split.role!r} "
                              f"side of split {self.split.split_id} in {limit} valid draws")

    def generate(self, seed: int, n: int) -> list[Task]:
        """n distinct tasks (by task_id), deterministic in `seed`; a longer list extends a
        shorter one drawn with the same seed."""
        rng = np.random.default_rng(seed)
        out: list[Task] = []
        seen: set[str] = set()
        for _ in range(10 * n + 100):
            if len(out) == n:
                return out
            task = self.sample(rng)
            if task.task_id in seen:
                self.stats["duplicates"] += 1
                continue
            seen.add(task.task_id)
            out.append(task)
        if len(out) == n:
            return out
        raise GenerationError(f"family {self.family.name!r}: only {len(out)} distinct tasks "
                              f"of {n} requested (the family is too small)")


# --------------------------------------------------------------------------------------------
# Analysis helpers (tests, tools, curriculum statistics)
# --------------------------------------------------------------------------------------------


def obtainable_types(task: Task) -> set[ObjectType]:
    """Types that can exist at some point: initial ones, closed under firing rules whose
    consumed inputs are obtainable (an over-approximation that ignores consumption order)."""
    have = {o.type for o in task.world.objects}
    changed = True
    while changed:
        changed = False
        for r in task.game.rules:
            if r.product is not None and r.product not in have and set(r.consumed) <= have:
                have.add(r.product)
                changed = True
    return have


def chain_depth(task: Task) -> int:
    """Length of the longest production chain needed for an object of a positive goal literal
    (0: all are initial objects); -1 if some such object cannot be obtained at all."""
    initial = {o.type for o in task.world.objects}
    memo: dict[ObjectType, float] = {}

    def depth(o: ObjectType, visiting: frozenset[ObjectType]) -> float:
        if o in initial:
            return 0
        if o in memo:
            return memo[o]
        best = math.inf
        for r in task.game.rules:
            if r.product == o and o not in visiting:
                inputs = [depth(i, visiting | {o}) for i in r.consumed]
                best = min(best, 1 + max(inputs, default=0))
        memo[o] = best
        return best

    needed = {o for lit in task.game.goal.literals if not lit.negated for o in lit.objects}
    worst = max((depth(o, frozenset()) for o in needed), default=0)
    return -1 if math.isinf(worst) else int(worst)


def describe(task: Task) -> str:
    """A readable multi-line summary (goal, rules with hidden ones flagged, objects), for
    logs, tools and video overlays."""
    w, g, e = task.world, task.game, task.episode
    t = w.terrain
    top = max(max(row) for row in t.levels)
    lines = [f"task {task.task_id}" + (f"  ({task.description})" if task.description else ""),
             f"arena: {t.size}x{t.size} tiles, levels 0..{top}, {len(t.ramps)} ramps, "
             f"{len(t.walls)} walls",
             f"goal: {g.goal}"]
    lines.append("rules:" if g.rules else "rules: none")
    lines += [f"  {i + 1}. {r}" for i, r in enumerate(g.rules)]
    lines.append("objects:")
    for o in w.objects:
        r, c = t.tile_of(o.x, o.y)
        lines.append(f"  {o.type.name:16s} at ({o.x:5.2f}, {o.y:5.2f})  tile ({r}, {c}) "
                     f"level {t.levels[r][c]}")
    r, c = t.tile_of(w.avatar.x, w.avatar.y)
    lines.append(f"avatar: at ({w.avatar.x:.2f}, {w.avatar.y:.2f}) tile ({r}, {c}) yaw "
                 f"{math.degrees(w.avatar.yaw):.0f} deg")
    d = w.dynamics
    lines.append(f"dynamics: gravity x{d.gravity_scale:.2f}, friction {d.friction:.2f}, "
                 f"object mass {d.object_mass:.2f}, avatar speed x{d.avatar_speed:.2f}")
    lines.append(f"episode: {e.trials} trials x {e.trial_steps} steps at {e.control_hz} Hz"
                 + (", a grab cannot be undone within a trial" if e.sticky_grab else ""))
    return "\n".join(lines)

