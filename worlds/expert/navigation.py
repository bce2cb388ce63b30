"""The expert's paths: shortest walks on the tile graph, smoothed into straight runs.

Paths obey the movement model of `worlds.tile_graph` (level or down freely, up only along a
ramp), so a path never asks the avatar to climb a cliff. Tiles can carry an extra cost (an
object to walk around) or be closed (near an object whose rule must not fire). A ramp is
entered from its low edge: when the path steps onto a ramp from its side, a waypoint just
inside the low edge comes first, since the side of a ramp is a step half a level high.

`next_waypoint` then looks along the path for the farthest point the avatar can walk to in a
straight line (through tiles of the path only, on one level, clear of closed points), which
turns the staircase of tile centres into the diagonal a person would walk.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

import numpy as np

from worlds.task import DIRECTION_OFFSETS, TILE_SIZE, Terrain
from worlds.tile_graph import Tile, can_step, neighbours

RAMP_ENTRY = 0.25  # metres inside a ramp's low edge where a side path joins it
RAMP_ENTRY_WALLED = 0.5  # the same when the low edge is a wall: clear of the wall's slope
SIDE_APPROACH = 0.6  # metres beside a ramp's entry: on the tile a side path comes from
SIDE_ENTRY_COST = 3.0  # extra tile steps charged for climbing a ramp entered from its side
RAMP_LINE = 0.2  # metres off a ramp's centre line beyond which the climb steers back to it
RAMP_LOOKAHEAD = 0.5  # metres ahead on the centre line that such a climb aims at
PATH_CACHE = 4096  # paths kept per terrain (the key holds the obstacle costs)
LINE_STEP = 0.2  # metres between the points tested along a straight run
BODY_MARGIN = 0.3  # metres each side of a straight run that must also lie on the path


def tile_centre(tile: Tile) -> np.ndarray:
    return np.array([(tile[1] + 0.5) * TILE_SIZE, (tile[0] + 0.5) * TILE_SIZE])


class TileMap:
    """One terrain's tile graph, built once per task."""

    def __init__(self, terrain: Terrain) -> None:
        self.terrain = terrain
        self.size = terrain.size
        self.levels = [list(r) for r in terrain.levels]
        self.ramps = {(r.row, r.col): r.direction for r in terrain.ramps}
        self.walls = set(terrain.walls)
        # per tile: its level, or -1 for walls and ramps (never part of a straight run)
        self.flat = np.array(terrain.levels, np.int64)
        for t in list(self.walls) + list(self.ramps):
            self.flat[t] = -1
        self._adj = {(r, c): [(d, n) for d, n in neighbours(self.size, (r, c))
                              if can_step(self.levels, self.ramps, self.walls, (r, c), d, n)]
                     for r in range(self.size) for c in range(self.size)}
        self._paths: dict[tuple, tuple[Tile, ...] | None] = {}  # objects move rarely

    def tile_of(self, xy: np.ndarray) -> Tile:
        n = self.size
        x, y = float(xy[0]), float(xy[1])
        return (min(max(int(y // TILE_SIZE), 0), n - 1), min(max(int(x // TILE_SIZE), 0), n - 1))

    def level(self, tile: Tile) -> int:
        return self.levels[tile[0]][tile[1]]

    def edges(self, tile: Tile) -> Iterable[tuple[str, Tile]]:
        """(direction, neighbour) for the steps the movement model allows from `tile`."""
        return self._adj[tile]

    def path(self, start: Tile, goal: Tile, cost: dict[Tile, float] | None = None,
             closed: set[Tile] | None = None) -> list[Tile] | None:
        """Cheapest tile path start -> goal, avoiding `closed` tiles except the two ends; None
        if there is none. Dijkstra over (tile, how it was entered): one per tile step, plus
        `cost` of the tiles entered, plus `SIDE_ENTRY_COST` for climbing a ramp that was
        entered from its side rather than from its low edge (possible, as a step of half a
        level or less, but slow, so taken only where the low edge is blocked)."""
        cost = cost or {}
        closed = closed or set()
        key = (start, goal, tuple(sorted(cost.items())), tuple(sorted(closed)))
        if key not in self._paths:
            if len(self._paths) > PATH_CACHE:
                self._paths.clear()
            self._paths[key] = self._dijkstra(start, goal, cost, closed)
        found = self._paths[key]
        return None if found is None else list(found)

    def _dijkstra(self, start: Tile, goal: Tile, cost: dict[Tile, float],
                  closed: set[Tile]) -> tuple[Tile, ...] | None:
        Node = tuple[Tile, tuple[int, int]]
        first: Node = (start, (0, 0))
        best: dict[Node, float] = {first: 0.0}
        prev: dict[Node, Node] = {}
        heap: list[tuple[float, Node]] = [(0.0, first)]
        while heap:
            d, node = heapq.heappop(heap)
            t, came = node
            if t == goal:
                out = [t]
                while node in prev:
                    node = prev[node]
                    out.append(node[0])
                return tuple(out[::-1])
            if d > best.get(node, np.inf):
                continue
            ramp = self.ramps.get(t)
            for direction, n in self.edges(t):
                if n in closed and n != goal:
                    continue
                step = DIRECTION_OFFSETS[direction]
                nd = d + 1.0 + cost.get(n, 0.0)
                if ramp == direction and came not in ((0, 0), step):
                    nd += SIDE_ENTRY_COST
                nxt = (n, step)
                if nd < best.get(nxt, np.inf):
                    best[nxt], prev[nxt] = nd, node
                    heapq.heappush(heap, (nd, nxt))
        return None

    # ---- waypoints -------------------------------------------------------------------------
    def waypoints(self, path: list[Tile], goal_xy: np.ndarray) -> list[tuple[np.ndarray, Tile]]:
        """(point, tile) to walk through: each tile's centre (the last replaced by the goal
        point), with a ramp's low-edge entry inserted where the path joins a ramp from its
        side."""
        out: list[tuple[np.ndarray, Tile]] = []
        for i, t in enumerate(path):
            d = self.ramps.get(t)
            if d is not None and i > 0:
                dr, dc = DIRECTION_OFFSETS[d]
                came = (t[0] - path[i - 1][0], t[1] - path[i - 1][1])
                if came not in ((dr, dc), (-dr, -dc)):  # from a side: enter just inside it, walking
                    # enter just inside the low edge, across the side from a point beside it
                    entry = tile_centre(t) - np.array([dc, dr]) * (TILE_SIZE / 2
                                                                    - self._entry_depth(t, d))
                    beside = entry - np.array([came[1], came[0]]) * SIDE_APPROACH
                    out.append((beside, path[i - 1]))
                    out.append((entry, t))
            out.append((tile_centre(t), t))
        if out:
            out[-1] = (np.asarray(goal_xy, float)[:2].copy(), path[-1])
        return out

    def _entry_depth(self, tile: Tile, direction: str) -> float:
        """How far inside a ramp's low edge a side path joins it: as near the edge as the
        body fits (the ramp's side is lowest there), further in when the low edge is a wall,
        whose slope reaches half a heightfield sample into the tile."""
        dr, dc = DIRECTION_OFFSETS[direction]
        r, c = tile[0] - dr, tile[1] - dc
        blocked = not (0 <= r < self.size and 0 <= c < self.size) or (r, c) in self.walls
        return RAMP_ENTRY_WALLED if blocked else RAMP_ENTRY

    def ramp_line(self, pos: np.ndarray, here: Tile, nxt: Tile, target: np.ndarray
                  ) -> np.ndarray:
        """On a ramp going up to `nxt`, a point on the ramp's centre line just ahead of `pos`
        while `pos` is off that line: a body climbing along a ramp's edge slides off its
        side. Elsewhere `target` unchanged."""
        d = self.ramps.get(here)
        if d is None or DIRECTION_OFFSETS[d] != (nxt[0] - here[0], nxt[1] - here[1]):
            return target
        if self.ramps.get(nxt, d) != d:  # the path turns onto another ramp: its entry leads
            return target
        dr, dc = DIRECTION_OFFSETS[d]
        u = np.array([dc, dr], float)
        rel = np.asarray(pos, float) - tile_centre(here)
        side = float(rel @ np.array([-u[1], u[0]]))
        if abs(side) < RAMP_LINE:
            return target
        return tile_centre(here) + u * (float(rel @ u) + RAMP_LOOKAHEAD)

    def straight(self, a: np.ndarray, b: np.ndarray, level: int,
                 avoid: list[tuple[np.ndarray, float]]) -> bool:
        """Whether walking a -> b in a straight line keeps the body on tiles of one `level`
        (no wall, no ramp, so no step up or down on the way) and outside every (centre,
        radius) in `avoid`; from inside a circle, only a line that never comes closer to its
        centre (one that leads out of it)."""
        v = b - a
        length = float(np.linalg.norm(v))
        n = max(2, int(length / LINE_STEP) + 1)
        side = np.array([-v[1], v[0]]) / length * BODY_MARGIN if length > 1e-6 else np.zeros(2)
        pts = a[None, :] + np.linspace(0.0, 1.0, n)[:, None] * v[None, :]  # (n, 2)
        body = np.concatenate([pts, pts + side, pts - side])
        cols = np.floor(body[:, 0] / TILE_SIZE).astype(np.int64)
        rows = np.floor(body[:, 1] / TILE_SIZE).astype(np.int64)
        inside = (rows >= 0) & (rows < self.size) & (cols >= 0) & (cols < self.size)
        if not inside.all() or not (self.flat[rows, cols] == level).all():
            return False
        if avoid:
            centres = np.array([c for c, _ in avoid])
            radii = np.array([r for _, r in avoid])
            start = np.linalg.norm(a[None, :] - centres, axis=1)
            d = np.linalg.norm(pts[:, None, :] - centres[None, :, :], axis=2)  # (n, k)
            if (d < np.minimum(radii, start - 0.02)[None, :]).any():
                return False
        return True

    def next_waypoint(self, pos: np.ndarray, wps: list[tuple[np.ndarray, Tile]],
                      avoid: list[tuple[np.ndarray, float]]) -> np.ndarray:
        """The farthest waypoint reachable in a straight line from `pos` (else the first)."""
        level = self.level(self.tile_of(pos))
        flat = 0  # the waypoints before the first one off this level or on a ramp
        while flat < len(wps) and self.level(wps[flat][1]) == level \
                and wps[flat][1] not in self.ramps:
            flat += 1
        for p, _ in reversed(wps[:flat]):
            if self.straight(pos, p, level, avoid):
                return p
        return wps[0][0]


__all__ = ["TileMap", "tile_centre"]
