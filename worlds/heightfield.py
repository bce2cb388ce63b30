"""Terrain rasterisation: a task's tile grid as the samples of the scene's one heightfield.

The scene compiles one heightfield that covers the largest arena plus a ring of wall tiles, so a
task of any size only rewrites `model.hfield_data` (no recompile). Samples sit at the centres of a
uniform grid offset by half a sample from tile edges, so every sample belongs to exactly one tile
and a change of level becomes a slope one sample wide (`TILE_SIZE / SAMPLES_PER_TILE`): steep
enough (58 degrees) that the avatar cannot walk up it, while a ramp (22 degrees) is walkable.
"""

from __future__ import annotations

import numpy as np

from worlds.task import DIRECTION_OFFSETS, LEVEL_HEIGHT, MAX_ARENA_TILES, TILE_SIZE, Terrain

SAMPLES_PER_TILE = 4
BORDER_TILES = 1
GRID_TILES = MAX_ARENA_TILES + 2 * BORDER_TILES
N_SAMPLES = GRID_TILES * SAMPLES_PER_TILE
WALL_HEIGHT = 2.4  # metres: above jump reach and the eye, so walls block movement and view
HFIELD_TOP = WALL_HEIGHT + 0.1  # elevation scale of the heightfield (size[2])
HFIELD_BASE = 0.5  # thickness below z = 0 (size[3])
SAMPLE_SPACING = TILE_SIZE / SAMPLES_PER_TILE
# World coordinates of the first and last sample; the heightfield geom is centred between them.
FIRST_SAMPLE = -BORDER_TILES * TILE_SIZE + SAMPLE_SPACING / 2
LAST_SAMPLE = FIRST_SAMPLE + (N_SAMPLES - 1) * SAMPLE_SPACING
HFIELD_CENTRE = (FIRST_SAMPLE + LAST_SAMPLE) / 2
HFIELD_RADIUS = (LAST_SAMPLE - FIRST_SAMPLE) / 2
# Views: the first-person camera of an arena of at most VIEW_ARENA_TILES[k] tiles draws a copy of
# the heightfield's corner that holds just that arena and its wall ring (visual only: no
# collisions, no rays). A software rasteriser's cost grows with the heightfield's cells (48x48:
# three quarters of a 32x32 frame), and everything beyond the ring is wall top at WALL_HEIGHT,
# above the eye, so it is never in view: the pixels are the same, the frame is cheaper. The
# floor's checker squares are one tile each, placed from the geom's centre (MuJoCo's texture
# mapping), so a view keeps every square's colour only if its centre is an even number of
# tiles from the full field's: a view spans GRID_TILES minus a multiple of 4 tiles.
VIEW_ARENA_TILES = (2, 6)
assert all((GRID_TILES - (t + 2 * BORDER_TILES)) % 4 == 0 for t in VIEW_ARENA_TILES)


def view_samples(arena_tiles: int) -> int:
    """Samples per side of the view for arenas of up to `arena_tiles` tiles."""
    return (arena_tiles + 2 * BORDER_TILES) * SAMPLES_PER_TILE


def view_index(terrain: Terrain, eye_rise: float) -> int | None:
    """The smallest view that holds the arena, or None for the full field: also where an eye
    `eye_rise` above the arena's highest level could look over the wall tops."""
    if max(max(row) for row in terrain.levels) * LEVEL_HEIGHT + eye_rise >= WALL_HEIGHT:
        return None
    for k, tiles in enumerate(VIEW_ARENA_TILES):
        if terrain.size <= tiles:
            return k
    return None


def tile_heights(terrain: Terrain) -> np.ndarray:
    """(GRID_TILES, GRID_TILES) floor height per tile in metres; walls and outside the arena
    at WALL_HEIGHT, so a small arena is a walled room inside the superset heightfield."""
    n = terrain.size
    h = np.full((GRID_TILES, GRID_TILES), WALL_HEIGHT)
    b = BORDER_TILES
    h[b:b + n, b:b + n] = np.asarray(terrain.levels, dtype=np.float64) * LEVEL_HEIGHT
    for r, c in terrain.walls:
        h[b + r, b + c] = WALL_HEIGHT
    return h


def heightfield(terrain: Terrain) -> np.ndarray:
    """(N_SAMPLES, N_SAMPLES) heights in metres, row index along +y, column along +x."""
    h = np.repeat(np.repeat(tile_heights(terrain), SAMPLES_PER_TILE, axis=0),
                  SAMPLES_PER_TILE, axis=1)
    rise = (np.arange(SAMPLES_PER_TILE) + 0.5) / SAMPLES_PER_TILE
    b = BORDER_TILES
    for ramp in terrain.ramps:
        base = terrain.levels[ramp.row][ramp.col] * LEVEL_HEIGHT
        dr, dc = DIRECTION_OFFSETS[ramp.direction]
        r0, c0 = (b + ramp.row) * SAMPLES_PER_TILE, (b + ramp.col) * SAMPLES_PER_TILE
        block = h[r0:r0 + SAMPLES_PER_TILE, c0:c0 + SAMPLES_PER_TILE]
        k = rise if (dr or dc) > 0 else rise[::-1]
        block[:] = base + LEVEL_HEIGHT * (k[:, None] if dr else k[None, :])
    return h


def sample_index(x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of the heightfield sample nearest to world (x, y), clipped to the grid."""
    c = np.clip(np.rint((np.asarray(x) - FIRST_SAMPLE) / SAMPLE_SPACING).astype(int), 0,
                N_SAMPLES - 1)
    r = np.clip(np.rint((np.asarray(y) - FIRST_SAMPLE) / SAMPLE_SPACING).astype(int), 0,
                N_SAMPLES - 1)
    return r, c


def surface_height(heights: np.ndarray, x: np.ndarray | float,
                   y: np.ndarray | float) -> np.ndarray:
    """Terrain height at world (x, y), interpolated between the four surrounding samples."""
    fx = np.clip((np.asarray(x, float) - FIRST_SAMPLE) / SAMPLE_SPACING, 0, N_SAMPLES - 1)
    fy = np.clip((np.asarray(y, float) - FIRST_SAMPLE) / SAMPLE_SPACING, 0, N_SAMPLES - 1)
    c0 = np.minimum(np.floor(fx).astype(int), N_SAMPLES - 2)
    r0 = np.minimum(np.floor(fy).astype(int), N_SAMPLES - 2)
    tx, ty = fx - c0, fy - r0
    top = heights[r0, c0] * (1 - tx) + heights[r0, c0 + 1] * tx
    bottom = heights[r0 + 1, c0] * (1 - tx) + heights[r0 + 1, c0 + 1] * tx
    return top * (1 - ty) + bottom * ty


_FOOTPRINT = np.linspace(-1.0, 1.0, 9)


def support_height(heights: np.ndarray, x: np.ndarray | float, y: np.ndarray | float,
                   radius: np.ndarray | float) -> np.ndarray:
    """Highest terrain under the square of half-size `radius` around each (x, y).

    A body spawned at its floor's height at its centre starts inside a ramp or a slope beside it
    (a cube on a ramp by up to 7 cm), and MuJoCo pushes it out in one violent step. The maximum
    over the footprint is at a sample inside it or on its boundary; this takes the samples inside
    and a 9 x 9 grid over the square (spacing at most 0.09 m), which can fall short of the true
    maximum by a few millimetres on a slope (tests bound it by the 5 mm spawn clearance; a reset
    then shows no terrain contact deeper than 1 cm on `default` tasks). Vectorised over bodies
    (one call per task switch); `radius` below 0.75 m (two sample spacings)."""
    if np.any(np.asarray(radius) >= 2 * SAMPLE_SPACING):
        raise ValueError(f"radius: {radius!r} must be < {2 * SAMPLE_SPACING} m")
    x, y, r = np.broadcast_arrays(np.atleast_1d(np.asarray(x, float)),
                                  np.atleast_1d(np.asarray(y, float)),
                                  np.atleast_1d(np.asarray(radius, float)))
    gx = x[:, None, None] + r[:, None, None] * _FOOTPRINT[None, None, :]
    gy = y[:, None, None] + r[:, None, None] * _FOOTPRINT[None, :, None]
    gx, gy = np.broadcast_arrays(gx, gy)
    best = surface_height(heights, gx, gy).reshape(len(x), -1).max(axis=1)
    # the samples inside each footprint: within 2 samples of its centre for radius < 0.75 m
    c = np.arange(-2, 3)
    sc = np.rint((x - FIRST_SAMPLE) / SAMPLE_SPACING).astype(int)[:, None] + c
    sr = np.rint((y - FIRST_SAMPLE) / SAMPLE_SPACING).astype(int)[:, None] + c
    sx = FIRST_SAMPLE + sc * SAMPLE_SPACING
    sy = FIRST_SAMPLE + sr * SAMPLE_SPACING
    inside_c = (np.abs(sx - x[:, None]) <= r[:, None]) & (sc >= 0) & (sc < N_SAMPLES)
    inside_r = (np.abs(sy - y[:, None]) <= r[:, None]) & (sr >= 0) & (sr < N_SAMPLES)
    rows = np.clip(sr, 0, N_SAMPLES - 1)[:, :, None]
    vals = heights[rows, np.clip(sc, 0, N_SAMPLES - 1)[:, None, :]]
    mask = inside_r[:, :, None] & inside_c[:, None, :]
    inner = np.where(mask, vals, -np.inf).reshape(len(x), -1).max(axis=1)
    return np.maximum(best, inner)
