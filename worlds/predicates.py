"""Vectorised truth of goal literals over the scene's pooled object slots.

The physics scene keeps a fixed pool of `N_SLOTS` object slots (`MAX_OBJECTS_PER_SHAPE` per
shape, slot `s` always has shape `s // MAX_OBJECTS_PER_SHAPE`), fills one `WorldState` snapshot
per control step (never per physics substep) and asks this module whether the goal holds. That
runs at every control step of every env worker, so everything here is numpy over slots: no
Python loop visits a slot or a pair of slots; the only loops are over a goal's few literals.

Semantics (the task schema's): predicates name object TYPES and are existential over the
instances present in the world, so `near(red cube, blue sphere)` holds when some present red
cube is near some present blue sphere. An absent object (consumed by a rule, or never placed)
satisfies nothing, hence `not hold(agent, red cube)` is true when no red cube exists.

Implementation: the agent is appended as a virtual slot at index `S` (after the `S` object
slots), so every predicate is a boolean relation over `(S + 1) x (S + 1)` slot pairs:

- `hold(agent, o)`: row `S` is `held`;
- `see(agent, o)`: row `S` is `visible`;
- `near(x, o)`: centre distance <= `NEAR_DISTANCE` (the agent row uses the avatar body centre);
- `on(a, b)`: stacking geometry between object slots.

A literal `p(A, B)` is then `any(type_is_A[i] & rel[p, i, j] & type_is_B[j])`, evaluated for
all literals at once by broadcasting. `compute_relations` builds the relation tensor once per
control step so that the rule engine and the goal evaluation can share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from worlds.task import (
    AGENT,
    COLOURS,
    MAX_OBJECTS_PER_SHAPE,
    PREDICATES,
    SHAPES,
    Goal,
    Literal,
    ObjectType,
)

N_SLOTS = MAX_OBJECTS_PER_SHAPE * len(SHAPES)
"""Object slots in the superset scene; the agent is the extra virtual slot `N_SLOTS`."""

NEAR_DISTANCE = 1.0
"""Metres, centre to centre (full 3D distance), inclusive. Object half sizes are ~0.2-0.3 m and
tiles are 1.5 m, so 1.0 m means "touching or within an arm's reach", is reachable by pushing
one object next to another, yet two objects on neighbouring tile centres (1.5 m apart) are not
near. The same threshold applies from the avatar body centre to an object centre, so the agent
satisfies near(agent, o) by walking up to o, also when o sits one terrain level (0.6 m) up."""

ON_GAP_TOLERANCE = 0.1
"""Metres. `a` is on `b` when a's bottom is at most this far above b's top: physics contacts
settle with a few millimetres of gap/penetration and a cube resting on a sphere or a pyramid's
apex wobbles; 0.1 m accepts those while rejecting an object hovering (held) well above."""

ON_OVERHANG = 0.5
"""`a` is on `b` only if their horizontal centre distance is < b.half_size + ON_OVERHANG *
a.half_size: a's centre may overhang b's edge by half of a's own half size, which is about
where a real stack topples; an object merely beside `b` (distance >= sum of half sizes) fails."""

HOLD, NEAR, SEE, ON = (PREDICATES.index(p) for p in ("hold", "near", "see", "on"))

AGENT_TYPE = -1
"""Type id of the agent's virtual slot (a literal's `a` argument when it is the agent)."""
ABSENT_TYPE = -2
"""Type id given to absent (or unavailable) slots: equal to no literal argument, so absent
objects satisfy nothing."""


def type_id(t: ObjectType) -> int:
    """Dense integer id of an object type: shape index * len(COLOURS) + colour index."""
    return SHAPES.index(t.shape) * len(COLOURS) + COLOURS.index(t.colour)


def _entity_id(e: object) -> int:
    return AGENT_TYPE if e == AGENT else type_id(e)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# World state snapshot
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class WorldState:
    """Mutable per-control-step snapshot of the object pool, filled in place by the scene.

    The arrays are allocated once (`WorldState.empty`) and overwritten every step, so the hot
    path allocates nothing for the snapshot itself. `shape` is fixed per slot by the scene's
    pool layout; `colour` changes when a task is assigned and when a rule spawns a product.
    Every object shape is assumed to extend `half_size` above and below its centre (cube half
    side, sphere radius, pyramid of height 2 * half_size with `pos` at its mid height), which
    is what the `on` geometry needs.
    """

    present: np.ndarray  # (S,) bool: the slot holds an object in the world
    shape: np.ndarray  # (S,) int: index into SHAPES, fixed per slot
    colour: np.ndarray  # (S,) int: index into COLOURS
    pos: np.ndarray  # (S, 3) float: object centre, world frame
    half_size: np.ndarray  # (S,) float: half extent of the object
    held: np.ndarray  # (S,) bool: the avatar holds it
    visible: np.ndarray  # (S,) bool: in the first-person field of view and not occluded
    agent_pos: np.ndarray  # (3,) float: avatar body centre

    @classmethod
    def empty(cls, n_slots: int = N_SLOTS) -> WorldState:
        """A snapshot with all slots absent; slot s gets shape s // (n_slots / len(SHAPES)),
        the scene's pool layout (s // MAX_OBJECTS_PER_SHAPE for the default size)."""
        if n_slots <= 0 or n_slots % len(SHAPES):
            raise ValueError(f"n_slots must be a positive multiple of {len(SHAPES)}, "
                             f"got {n_slots}")
        per_shape = n_slots // len(SHAPES)
        return cls(
            present=np.zeros(n_slots, bool),
            shape=np.arange(n_slots) // per_shape,
            colour=np.zeros(n_slots, np.int64),
            pos=np.zeros((n_slots, 3)),
            half_size=np.zeros(n_slots),
            held=np.zeros(n_slots, bool),
            visible=np.zeros(n_slots, bool),
            agent_pos=np.zeros(3),
        )

    @property
    def n_slots(self) -> int:
        return int(self.present.shape[0])

    def slots_of_shape(self, shape: int) -> np.ndarray:
        """Slot indices whose (fixed) shape is `shape`, ascending."""
        return np.flatnonzero(self.shape == shape)

    def free_slot(self, shape: int) -> int | None:
        """Lowest-index absent slot of `shape`, or None when that shape's pool is full."""
        free = np.flatnonzero((self.shape == shape) & ~self.present)
        return int(free[0]) if free.size else None

    def put(self, slot: int, obj_type: ObjectType, pos: Sequence[float], *,
            half_size: float | None = None, held: bool = False,
            visible: bool = False) -> None:
        """Places an object of `obj_type` in `slot` (whose fixed shape must match): a helper for
        task resets and tests, not for the per-step hot path."""
        shape = SHAPES.index(obj_type.shape)
        if int(self.shape[slot]) != shape:
            raise ValueError(f"slot {slot} has shape {SHAPES[int(self.shape[slot])]!r}, "
                             f"cannot hold a {obj_type.name}")
        self.present[slot] = True
        self.colour[slot] = COLOURS.index(obj_type.colour)
        self.pos[slot] = pos
        if half_size is not None:
            self.half_size[slot] = half_size
        self.held[slot] = held
        self.visible[slot] = visible

    def object_type(self, slot: int) -> ObjectType:
        """The type currently in `slot` (meaningful only when present)."""
        return ObjectType(SHAPES[int(self.shape[slot])], COLOURS[int(self.colour[slot])])

    def slot_types(self, available: np.ndarray | None = None) -> np.ndarray:
        """(S + 1,) type ids: `type_id` of each present (and `available`) slot, ABSENT_TYPE
        otherwise, and AGENT_TYPE for the agent's virtual slot at index S."""
        S = self.n_slots
        out = np.empty(S + 1, np.int64)
        np.multiply(self.shape, len(COLOURS), out=out[:S])
        out[:S] += self.colour
        mask = self.present if available is None else self.present & available
        out[:S][~mask] = ABSENT_TYPE
        out[S] = AGENT_TYPE
        return out


# --------------------------------------------------------------------------------------------
# Pairwise relations (shared by goal and rules within one control step)
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Relations:
    """Geometric/physical relations between all slots (agent = index S), ignoring presence and
    types (those enter through the argument masks). Computed once per control step."""

    dist: np.ndarray  # (S + 1, S + 1) float: centre distances, agent last
    rel: np.ndarray  # (len(PREDICATES), S + 1, S + 1) bool: rel[p, i, j] = p(i, j)


def compute_relations(state: WorldState) -> Relations:
    """All four predicates over all slot pairs with one broadcast each (S = 18: ~360 pairs)."""
    S = state.n_slots
    pos = np.empty((S + 1, 3))
    pos[:S] = state.pos
    pos[S] = state.agent_pos
    d = pos[:, None, :] - pos[None, :, :]
    horiz2 = d[..., 0] ** 2 + d[..., 1] ** 2
    dist = np.sqrt(horiz2 + d[..., 2] ** 2)

    rel = np.zeros((len(PREDICATES), S + 1, S + 1), bool)
    rel[HOLD, S, :S] = state.held
    rel[SEE, S, :S] = state.visible
    # Diagonal (a slot near itself) is harmless: a literal's two arguments have different
    # types, and one slot has one type, so i == j never matches both masks.
    np.less_equal(dist, NEAR_DISTANCE, out=rel[NEAR])

    h = state.half_size
    dz = d[:S, :S, 2]  # z[a] - z[b]
    reach = h[None, :] + ON_OVERHANG * h[:, None]
    gap = dz - (h[:, None] + h[None, :])  # a's bottom minus b's top
    rel[ON, :S, :S] = (horiz2[:S, :S] < reach * reach) & (dz > 0) & (gap <= ON_GAP_TOLERANCE)
    return Relations(dist=dist, rel=rel)


# --------------------------------------------------------------------------------------------
# Compiled literals and goals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CompiledLiterals:
    """Literals as parallel integer arrays, built once per task. Argument types are stored as
    type ids and matched against the slots' types at evaluation time, because slot colours
    change (task assignment, rule products) while the compiled task does not."""

    literals: tuple[Literal, ...]
    predicate: np.ndarray  # (L,) int: index into PREDICATES
    a_type: np.ndarray  # (L,) int: type id of argument a (AGENT_TYPE for the agent)
    b_type: np.ndarray  # (L,) int: type id of argument b
    negated: np.ndarray  # (L,) bool

    def __len__(self) -> int:
        return len(self.literals)


def compile_literals(literals: Sequence[Literal]) -> CompiledLiterals:
    lits = tuple(literals)
    return CompiledLiterals(
        literals=lits,
        predicate=np.array([PREDICATES.index(x.predicate) for x in lits], np.int64),
        a_type=np.array([_entity_id(x.a) for x in lits], np.int64),
        b_type=np.array([type_id(x.b) for x in lits], np.int64),
        negated=np.array([x.negated for x in lits], bool),
    )


@dataclass(frozen=True, eq=False)
class CompiledGoal:
    """A DNF goal: all its literals compiled flat (disjunct by disjunct, in order), plus the
    disjunct structure as `bounds[i] = (start, stop)` into the flat literal array."""

    goal: Goal
    literals: CompiledLiterals
    bounds: tuple[tuple[int, int], ...]


def compile_goal(goal: Goal) -> CompiledGoal:
    bounds, start = [], 0
    for conj in goal.disjuncts:
        bounds.append((start, start + len(conj)))
        start += len(conj)
    return CompiledGoal(goal=goal, literals=compile_literals(goal.literals),
                        bounds=tuple(bounds))


def candidates(compiled: CompiledLiterals, relations: Relations,
               types: np.ndarray) -> np.ndarray:
    """(L, S + 1, S + 1) bool: slot pair (i, j) satisfies the positive form of literal l, i.e.
    i has l's a-type, j has l's b-type and the relation holds. `types` is `slot_types(...)`,
    so absent/unavailable slots never match."""
    A = types[None, :] == compiled.a_type[:, None]
    B = types[None, :] == compiled.b_type[:, None]
    return A[:, :, None] & relations.rel[compiled.predicate] & B[:, None, :]


def evaluate(compiled: CompiledLiterals, state: WorldState,
             relations: Relations | None = None) -> np.ndarray:
    """(L,) bool truth of each literal, negation applied. Pass `relations` to reuse the ones
    computed this step (valid until positions/held/visible/present change)."""
    if len(compiled) == 0:
        return np.zeros(0, bool)
    rels = compute_relations(state) if relations is None else relations
    cand = candidates(compiled, rels, state.slot_types())
    return cand.reshape(len(compiled), -1).any(axis=1) ^ compiled.negated


def goal_holds(goal: CompiledGoal, state: WorldState,
               relations: Relations | None = None) -> bool:
    """True when every literal of at least one disjunct is true."""
    truths = evaluate(goal.literals, state, relations)
    return disjunction_holds(goal, truths)


def disjunction_holds(goal: CompiledGoal, truths: np.ndarray) -> bool:
    """DNF from per-literal truths (as returned by `evaluate(goal.literals, ...)`), so callers
    that also report per-literal truths (observations, logging) evaluate only once."""
    return any(bool(truths[start:stop].all()) for start, stop in goal.bounds)


def literal_truths_for_debug(goal: CompiledGoal, state: WorldState) -> dict[str, bool]:
    """`{str(literal): truth}` for overlays and failing-test messages (not for the hot path)."""
    truths = evaluate(goal.literals, state)
    return {str(lit): bool(t) for lit, t in zip(goal.literals.literals, truths, strict=True)}
