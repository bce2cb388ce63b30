"""Production rules: when a rule's condition holds, the objects satisfying it are transformed.

Called once per control step by the scene, on the same `WorldState` snapshot as the goal:

    relations = compute_relations(state)
    firings = engine.step(state, relations)     # mutates state for consumed/spawned slots
    if firings:
        relations = compute_relations(state)    # products moved in, consumed objects left
        # the scene applies each firing, in order: park `consumed` bodies, place the product
    done = goal_holds(goal, state, relations)

Semantics (decided here; the scene and the task generator rely on them):

- A rule fires when its positive condition holds for some instance pair (types existential as
  in `worlds.predicates`). It consumes exactly one instance per object argument: for near/on
  the satisfying pair with the smallest centre distance, for hold/see the satisfying instance
  closest to the agent. Ties go to the lowest slot indices (deterministic across workers).
- Rules are checked in index order; each rule fires at most once per step, and each object
  instance is consumed at most once per step (an earlier rule wins a contested instance; a
  later rule may still fire on other instances of the same types).
- If the rule has a product, one instance appears at the centre of the last consumed instance
  (the `b` argument), with the `held` flag of that instance (`spawn_held`): the product of a
  hold rule lands in the agent's hand, and so does the product of any rule whose `b` object
  was held, so transformations never silently empty the hand. The scene should re-weld it
  and may lift the body so that a product of a different size rests on the ground.
- The product takes the lowest-index absent slot of its shape, *after* this firing's
  consumption, so it may reuse a slot consumed by the same firing (e.g. hold(red cube) ->
  blue cube recolours slot s in place); the scene must therefore apply a firing's parking
  before its placement. With no free slot the product is dropped and `dropped_products` is
  incremented (task validation reserves one slot per producing rule, which covers single
  firings but not a rule firing repeatedly on many instances).
- Products spawned in a step take no part in other rules in that same step: they can trigger
  rules from the next step on. Rules fire again whenever their conditions hold again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from worlds.predicates import (
    CompiledLiterals,
    Relations,
    WorldState,
    candidates,
    compile_literals,
    compute_relations,
)
from worlds.task import COLOURS, SHAPES, ObjectType, Rule


@dataclass(frozen=True, eq=False)
class RuleFiring:
    """One rule firing, for the scene to mirror into the physics model."""

    rule_index: int
    consumed: tuple[int, ...]  # slots consumed, in argument order (a then b; agent omitted)
    product: ObjectType | None  # type of the spawned object, None for a vanish rule
    product_slot: int | None  # slot given to the product; None: no product, or dropped
    position: np.ndarray  # (3,) spawn position: centre of the last consumed instance
    spawn_held: bool  # the product appears in the agent's hand (the consumed b was held)

    @property
    def dropped(self) -> bool:
        """A product was due but its shape's pool had no free slot."""
        return self.product is not None and self.product_slot is None


@dataclass(frozen=True, eq=False)
class CompiledRules:
    """Rule conditions compiled like goal literals plus product shape/colour indices (-1 for
    no product), built once per task."""

    rules: tuple[Rule, ...]
    conditions: CompiledLiterals
    product_shape: np.ndarray  # (R,) int
    product_colour: np.ndarray  # (R,) int

    def __len__(self) -> int:
        return len(self.rules)


def compile_rules(rules: Sequence[Rule]) -> CompiledRules:
    rs = tuple(rules)
    return CompiledRules(
        rules=rs,
        conditions=compile_literals([r.condition for r in rs]),
        product_shape=np.array(
            [-1 if r.product is None else SHAPES.index(r.product.shape) for r in rs], np.int64),
        product_colour=np.array(
            [-1 if r.product is None else COLOURS.index(r.product.colour) for r in rs],
            np.int64),
    )


class RuleEngine:
    """Applies a task's rules to the world state once per control step. Holds no state
    besides the compiled rules and the `dropped_products` counter."""

    def __init__(self, rules: Sequence[Rule] | CompiledRules) -> None:
        if not isinstance(rules, CompiledRules):
            rules = compile_rules(rules)
        self.compiled: CompiledRules = rules
        self.dropped_products: int = 0

    def reset(self) -> None:
        """Clears per-episode counters (the rules themselves are stateless)."""
        self.dropped_products = 0

    def step(self, state: WorldState, relations: Relations | None = None) -> list[RuleFiring]:
        """Fires every rule whose condition holds (index order, once per rule, each instance
        consumed at most once), mutating `state` (present/held/visible of consumed slots; the
        product slot's present/colour/pos/held/visible) and returning the firings in order."""
        R = len(self.compiled)
        if R == 0:
            return []
        rels = compute_relations(state) if relations is None else relations
        # All rules at once on the step's initial availability. Availability only shrinks
        # within a step (consumed slots, same-step products), so a rule with no candidate now
        # cannot fire later in the step: the common no-firing step costs one batched test.
        cand = candidates(self.compiled.conditions, rels, state.slot_types())
        can_fire = cand.reshape(R, -1).any(axis=1)
        if not can_fire.any():
            return []

        S = state.n_slots
        available = np.ones(S + 1, bool)  # slots not consumed/spawned this step; agent = S
        firings: list[RuleFiring] = []
        for r in np.flatnonzero(can_fire).tolist():
            c = cand[r]
            if firings:
                c = c & available[:, None] & available[None, :]
                if not c.any():
                    continue
            flat = int(np.argmin(np.where(c, rels.dist, np.inf)))
            ia, ib = divmod(flat, S + 1)
            consumed = (ib,) if ia == S else (ia, ib)
            firings.append(self._fire(state, available, r, consumed))
        return firings

    def _fire(self, state: WorldState, available: np.ndarray, r: int,
              consumed: tuple[int, ...]) -> RuleFiring:
        b = consumed[-1]
        position = state.pos[b].copy()
        spawn_held = bool(state.held[b])
        spawn_visible = bool(state.visible[b])
        idx = list(consumed)
        state.present[idx] = False
        state.held[idx] = False
        state.visible[idx] = False
        available[idx] = False

        shape = int(self.compiled.product_shape[r])
        product = self.compiled.rules[r].product
        slot: int | None = None
        if product is not None:
            slot = state.free_slot(shape)
            if slot is None:
                self.dropped_products += 1
            else:
                state.present[slot] = True
                state.colour[slot] = self.compiled.product_colour[r]
                state.pos[slot] = position
                state.held[slot] = spawn_held
                # Until the scene re-renders, the product is as visible as what it replaced.
                state.visible[slot] = spawn_visible
                available[slot] = False  # redundant with the batched pre-check; kept explicit
        return RuleFiring(rule_index=r, consumed=consumed, product=product, product_slot=slot,
                          position=position, spawn_held=spawn_held and slot is not None)
