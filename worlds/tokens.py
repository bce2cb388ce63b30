"""Fixed-length integer token encoding of goals and rules, the form in which the agent reads them.

Vocabulary (ids are stable; appending is allowed, reordering changes every encoding):

    0  PAD      padding (absent literal, absent rule)
    1  MASK     every token of a hidden rule
    2  POS      literal is asserted
    3  NEG      literal is negated
    4  AGENT    the agent as an argument
    5  NOTHING  rule product when the consumed objects vanish
    6.. 9       predicates  hold, near, see, on
    10..12      shapes      cube, sphere, pyramid
    13..20      colours     red, green, blue, yellow, purple, cyan, orange, white

A literal is LITERAL_LEN = 6 tokens: [sign, predicate, a_shape, a_colour, b_shape, b_colour], the
agent being (AGENT, AGENT). The goal is MAX_DISJUNCTS x MAX_CONJUNCTS literals flattened in row
order, so its position says which disjunct a literal belongs to: shape (GOAL_LEN,) = (36,).
A rule is RULE_LEN = 8 tokens: the condition literal then [product_shape, product_colour]
(NOTHING, NOTHING) when nothing is produced; rules are padded to MAX_RULES rows: shape (8, 8).
"""

from __future__ import annotations

import numpy as np

from worlds.task import (
    AGENT,
    COLOURS,
    MAX_CONJUNCTS,
    MAX_DISJUNCTS,
    MAX_RULES,
    PREDICATES,
    SHAPES,
    Entity,
    Goal,
    Literal,
    ObjectType,
    Rule,
)

PAD, MASK, POS, NEG, AGENT_TOKEN, NOTHING = 0, 1, 2, 3, 4, 5
PREDICATE_BASE = 6
SHAPE_BASE = PREDICATE_BASE + len(PREDICATES)
COLOUR_BASE = SHAPE_BASE + len(SHAPES)
VOCAB_SIZE = COLOUR_BASE + len(COLOURS)

LITERAL_LEN = 6
RULE_LEN = LITERAL_LEN + 2
GOAL_LEN = MAX_DISJUNCTS * MAX_CONJUNCTS * LITERAL_LEN
RULES_SHAPE = (MAX_RULES, RULE_LEN)

VOCABULARY: tuple[str, ...] = (
    ("<pad>", "<mask>", "<pos>", "<neg>", "agent", "nothing")
    + PREDICATES + SHAPES + COLOURS
)


def _entity_tokens(e: Entity) -> list[int]:
    if e == AGENT:
        return [AGENT_TOKEN, AGENT_TOKEN]
    assert isinstance(e, ObjectType)
    return [SHAPE_BASE + SHAPES.index(e.shape), COLOUR_BASE + COLOURS.index(e.colour)]


def encode_literal(lit: Literal) -> list[int]:
    return ([NEG if lit.negated else POS, PREDICATE_BASE + PREDICATES.index(lit.predicate)]
            + _entity_tokens(lit.a) + _entity_tokens(lit.b))


def encode_goal(goal: Goal) -> np.ndarray:
    """(GOAL_LEN,) int32; literal j of disjunct i sits at slot i * MAX_CONJUNCTS + j."""
    out = np.full((MAX_DISJUNCTS, MAX_CONJUNCTS, LITERAL_LEN), PAD, np.int32)
    for i, conj in enumerate(goal.disjuncts):
        for j, lit in enumerate(conj):
            out[i, j] = encode_literal(lit)
    return out.reshape(GOAL_LEN)


def encode_rules(rules: tuple[Rule, ...], *, reveal_hidden: bool = False) -> np.ndarray:
    """RULES_SHAPE int32; hidden rules are all MASK unless `reveal_hidden` (for the expert)."""
    out = np.full(RULES_SHAPE, PAD, np.int32)
    for i, rule in enumerate(rules):
        if rule.hidden and not reveal_hidden:
            out[i] = MASK
            continue
        prod = [NOTHING, NOTHING] if rule.product is None else _entity_tokens(rule.product)
        out[i] = encode_literal(rule.condition) + prod
    return out


def decode_tokens(tokens: np.ndarray) -> list[str]:
    """Token ids to vocabulary words, for debugging and overlays."""
    return [VOCABULARY[int(t)] for t in np.asarray(tokens).ravel()]
