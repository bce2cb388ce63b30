"""The tile graph of a terrain, and sampling of connected terrains (plateaus, ramps, walls).

Movement model (shared by the generator's connectivity repair and any planner over tiles):
an avatar steps between 4-neighbouring non-wall tiles; stepping to a tile of equal or lower
level is always allowed (dropping down is a fall), stepping up is only allowed from a ramp tile
towards the tile it leads to, which is exactly one level higher. A generated terrain is
*strongly connected* under this model: every non-wall tile can reach every other, so no task
can be made unsolvable by one careless drop from a plateau.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

from worlds.family import FamilyConfig
from worlds.task import DIRECTION_OFFSETS, Ramp, Terrain

Tile = tuple[int, int]
_MAX_REPAIRS = 400
_OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}


class TerrainError(RuntimeError):
    """A sampled terrain could not be repaired into a connected one (the caller resamples)."""


def neighbours(size: int, tile: Tile) -> Iterator[tuple[str, Tile]]:
    """(direction, tile) for the in-arena 4-neighbours of `tile`."""
    r, c = tile
    for direction, (dr, dc) in DIRECTION_OFFSETS.items():
        if 0 <= r + dr < size and 0 <= c + dc < size:
            yield direction, (r + dr, c + dc)


def can_step(levels: list[list[int]], ramps: dict[Tile, str], walls: set[Tile],
             u: Tile, direction: str, v: Tile) -> bool:
    """Whether the avatar can walk from tile u to its neighbour v (see the module docstring)."""
    if u in walls or v in walls:
        return False
    lu, lv = levels[u[0]][u[1]], levels[v[0]][v[1]]
    return lv <= lu or (ramps.get(u) == direction and lv == lu + 1)


def _search(levels: list[list[int]], ramps: dict[Tile, str], walls: set[Tile], start: Tile,
            backward: bool) -> set[Tile]:
    size = len(levels)
    seen, queue = {start}, deque([start])
    while queue:
        t = queue.popleft()
        for direction, n in neighbours(size, t):
            if n in seen:
                continue
            if backward:  # can n step onto t?
                ok = can_step(levels, ramps, walls, n, _OPPOSITE[direction], t)
            else:
                ok = can_step(levels, ramps, walls, t, direction, n)
            if ok:
                seen.add(n)
                queue.append(n)
    return seen


def reachable(terrain: Terrain, start: Tile, *, backward: bool = False) -> set[Tile]:
    """Tiles reachable from `start` (or, with backward, the tiles that can reach `start`)."""
    levels = [list(r) for r in terrain.levels]
    ramps = {(r.row, r.col): r.direction for r in terrain.ramps}
    return _search(levels, ramps, set(terrain.walls), start, backward)


def free_tiles(terrain: Terrain) -> list[Tile]:
    walls = set(terrain.walls)
    n = terrain.size
    return [(r, c) for r in range(n) for c in range(n) if (r, c) not in walls]


def is_strongly_connected(terrain: Terrain) -> bool:
    """True when every non-wall tile can walk to every other one."""
    free = free_tiles(terrain)
    if not free:
        return False
    start = free[0]
    return (len(reachable(terrain, start)) == len(free)
            and len(reachable(terrain, start, backward=True)) == len(free))


# --------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------


def _valid_ramp(levels: list[list[int]], walls: set[Tile], tile: Tile, direction: str) -> bool:
    dr, dc = DIRECTION_OFFSETS[direction]
    r2, c2 = tile[0] + dr, tile[1] + dc
    n = len(levels)
    return (0 <= r2 < n and 0 <= c2 < n and tile not in walls and (r2, c2) not in walls
            and levels[r2][c2] == levels[tile[0]][tile[1]] + 1)


def _prune_ramps(levels: list[list[int]], ramps: dict[Tile, str], walls: set[Tile]) -> None:
    for tile, direction in list(ramps.items()):
        if not _valid_ramp(levels, walls, tile, direction):
            del ramps[tile]


def _pick(rng: np.random.Generator, items: list) -> object:
    return items[int(rng.integers(len(items)))]


def _repair_once(rng: np.random.Generator, levels: list[list[int]], ramps: dict[Tile, str],
                 walls: set[Tile], start: Tile) -> bool:
    """Applies one repair towards strong connectivity; returns False when already connected.

    Forward first (everything reachable from the start), then backward (everything can get back
    to the start). Repairs, in order of preference: add a ramp up a one-level step, lower a tile
    that is two levels above its neighbour (or that sits above a tile already holding a ramp),
    and remove a wall that cuts a region off."""
    size = len(levels)
    free = {(r, c) for r in range(size) for c in range(size)} - walls
    for backward in (False, True):
        seen = _search(levels, ramps, walls, start, backward)
        if len(seen) == len(free):
            continue
        edges = []  # (low tile u, direction u->v, high tile v): the step u->v is missing
        for t in sorted(free - seen):
            for direction, n in neighbours(size, t):
                if n in walls:
                    continue
                if not backward and n in seen:  # reached n, cannot step n -> t
                    edges.append((n, _OPPOSITE[direction], t))
                elif backward and n in seen:  # t cannot step onto n, which reaches the start
                    edges.append((t, direction, n))
        ramp_edges = [(u, d, v) for u, d, v in edges if u not in ramps
                      and levels[v[0]][v[1]] == levels[u[0]][u[1]] + 1]
        if ramp_edges:
            u, d, _ = _pick(rng, ramp_edges)
            ramps[u] = d
            return True
        if edges:
            u, _, v = _pick(rng, edges)
            lu, lv = levels[u[0]][u[1]], levels[v[0]][v[1]]
            levels[v[0]][v[1]] = lu + 1 if lv >= lu + 2 else lu
            _prune_ramps(levels, ramps, walls)
            return True
        cut = sorted(w for w in walls if any(n in seen for _, n in neighbours(size, w)))
        if not cut:
            raise TerrainError("no repair possible")
        w = _pick(rng, cut)
        walls.discard(w)
        level = min(levels[n[0]][n[1]] for _, n in neighbours(size, w) if n in seen)
        levels[w[0]][w[1]] = level
        _prune_ramps(levels, ramps, walls)
        return True
    return False


def sample_terrain(rng: np.random.Generator, family: FamilyConfig,
                   size: int) -> tuple[Terrain, Tile]:
    """A strongly connected terrain of `size` x `size` tiles and the avatar's start tile."""
    levels = [[0] * size for _ in range(size)]
    for _ in range(int(rng.integers(family.n_plateaus[0], family.n_plateaus[1] + 1))):
        h, w = (int(rng.integers(family.plateau_tiles[0], family.plateau_tiles[1] + 1))
                for _ in range(2))
        h, w = min(h, size - 1), min(w, size - 1)
        r0, c0 = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
        level = int(rng.integers(1, family.max_level + 1))
        for r in range(r0, r0 + h):
            for c in range(c0, c0 + w):
                levels[r][c] = max(levels[r][c], level)
    all_tiles = [(r, c) for r in range(size) for c in range(size)]
    n_walls = int(rng.integers(family.n_walls[0], family.n_walls[1] + 1))
    n_walls = min(n_walls, size * size - 2)
    walls = {all_tiles[i] for i in rng.choice(len(all_tiles), n_walls, replace=False)}
    free = [t for t in all_tiles if t not in walls]
    start: Tile = _pick(rng, free)  # type: ignore[assignment]
    ramps: dict[Tile, str] = {}
    for _ in range(_MAX_REPAIRS):
        if not _repair_once(rng, levels, ramps, walls, start):
            break
    else:
        raise TerrainError(f"terrain still disconnected after {_MAX_REPAIRS} repairs")
    n_extra = int(rng.integers(family.n_extra_ramps[0], family.n_extra_ramps[1] + 1))
    options = [(t, d) for t in all_tiles if t not in ramps
               for d, _ in neighbours(size, t) if _valid_ramp(levels, walls, t, d)]
    for i in rng.permutation(len(options))[:n_extra] if options else ():
        tile, direction = options[int(i)]
        if tile not in ramps:
            ramps[tile] = direction
    terrain = Terrain(
        levels=tuple(tuple(row) for row in levels),
        ramps=tuple(Ramp(r, c, d) for (r, c), d in sorted(ramps.items())),
        walls=tuple(sorted(walls)),
    )
    return terrain, start
