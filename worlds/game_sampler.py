"""Sampling a game: the goal first, then production-rule chains backwards, then distractors.

After AdA (appendix A.2) and XLand-MiniGrid. The goal is a DNF over object types; every object a
positive goal literal needs is the end of a production chain built backwards (goal object X is
the product of a rule consuming Y (and maybe Z), Y the product of a rule consuming W, ...) down
to a sampled depth; the deepest inputs are the initial objects. Distractor objects and rules are
added last, some rules being dead ends that destroy an object the goal needs.

The sampler keeps tasks solvable by construction rather than by search: every type occurs once
(as an initial object or as the product of exactly one rule), so chains never compete for
objects; conjuncts never contain literals that contradict each other; and a dead end is only
made from a condition the agent can avoid while still achieving the goal (its target's uses
never require the dead-end condition first, and object pairs it names start apart).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from worlds.family import FamilyConfig
from worlds.task import (
    AGENT,
    COLOURS,
    MAX_OBJECTS_PER_SHAPE,
    MAX_RULES,
    SHAPES,
    Entity,
    Goal,
    Literal,
    ObjectType,
    Rule,
)

AGENT_PREDICATES = ("hold", "see", "near")  # predicates that can take the agent as `a`
PAIR_PREDICATES = ("near", "on")  # predicates that can relate two objects
SUPPORTS = ("cube",)  # shapes that can carry another object stably: the `b` of on(a, b)


class SampleRejectedError(RuntimeError):
    """This draw cannot be completed within the family's budgets; the caller resamples."""


@dataclass
class GameDraft:
    """A sampled game plus what placing its objects must respect."""

    goal: Goal
    rules: tuple[Rule, ...]
    initial: tuple[ObjectType, ...]  # the types of the initial objects, one instance each
    depth: int  # the sampled rule depth (the longest chain ending in a goal object)
    hard_apart: list[tuple[Entity, Entity]] = field(default_factory=list)  # must start apart
    soft_apart: list[tuple[Entity, Entity]] = field(default_factory=list)  # better apart


def atom(lit: Literal) -> tuple:
    """The literal without its sign; near() is symmetric, so its arguments are sorted."""
    if lit.predicate == "near":
        return ("near", *sorted((lit.a, lit.b), key=repr))
    return (lit.predicate, lit.a, lit.b)


def _implied(lit: Literal) -> set[tuple]:
    """Atoms that (conservatively) hold whenever positive `lit` holds."""
    if lit.predicate == "hold":
        return {atom(Literal("near", AGENT, lit.b)), atom(Literal("see", AGENT, lit.b))}
    if lit.predicate == "on":
        return {atom(Literal("near", lit.a, lit.b))}
    return set()


def conflicts(new: Literal, conjunct: list[Literal]) -> bool:
    """Whether `new` would make the conjunct redundant or (likely) unsatisfiable: a repeated
    atom, a positive literal implied by another, a negation of something a positive literal
    implies, two holds (the avatar holds one object), holding an object that must be on/under
    another, or two on() sharing an object."""
    for old in conjunct:
        if atom(old) == atom(new):
            return True
        if old.negated != new.negated:
            pos, neg = (new, old) if old.negated else (old, new)
            if atom(neg) in _implied(pos):
                return True
        elif not old.negated:
            if atom(new) in _implied(old) or atom(old) in _implied(new):
                return True  # redundant: hold(o) with near(agent, o), on(a, b) with near(a, b)
            preds = {old.predicate, new.predicate}
            if old.predicate == new.predicate == "hold":
                return True
            if preds == {"hold", "on"}:
                h, o = (old, new) if old.predicate == "hold" else (new, old)
                if h.b in o.objects:
                    return True
            if old.predicate == new.predicate == "on" and set(old.objects) & set(new.objects):
                return True
    return False


def _use(lit: Literal) -> str:
    """How a positive literal or condition uses its objects, for dead-end safety."""
    return lit.predicate if lit.a == AGENT else "pair"


class GameSampler:
    """One draw of a game for a family: `build()` returns a GameDraft, or raises
    SampleRejectedError when this draw does not fit the budgets."""

    def __init__(self, rng: np.random.Generator, family: FamilyConfig, n_objects: int) -> None:
        self.rng, self.fam, self.budget = rng, family, n_objects
        self.slots = dict.fromkeys(SHAPES, 0)
        self.used: set[ObjectType] = set()
        self.initial: list[ObjectType] = []
        self.rules: list[Rule] = []
        self.conditions: set[tuple] = set()
        self.uses: dict[ObjectType, set[str]] = defaultdict(set)
        self.needed: list[ObjectType] = []  # positive goal objects and chain inputs
        self.committed = 0  # initial objects promised so far (leaves not yet created included)
        self.hard: list[tuple[Entity, Entity]] = []
        self.soft: list[tuple[Entity, Entity]] = []

    # ---- small helpers -------------------------------------------------------------------
    def _int(self, pair: tuple[int, int]) -> int:
        return int(self.rng.integers(pair[0], pair[1] + 1))

    def _choice(self, items: list | tuple) -> object:
        return items[int(self.rng.integers(len(items)))]

    def _new_type(self, shapes: tuple[str, ...] = SHAPES) -> ObjectType | None:
        """A type not used yet, of a shape with a free slot (each type takes exactly one)."""
        shapes = [s for s in shapes if self.slots[s] < MAX_OBJECTS_PER_SHAPE]
        if not shapes:
            return None
        shape = self._choice(shapes)
        colours = [c for c in COLOURS if ObjectType(shape, c) not in self.used]
        t = ObjectType(shape, self._choice(colours))
        self.slots[shape] += 1
        self.used.add(t)
        return t

    def _release(self, t: ObjectType) -> None:
        self.slots[t.shape] -= 1
        self.used.discard(t)

    def _add_rule(self, cond: Literal, product: ObjectType | None) -> None:
        self.rules.append(Rule(cond, product))
        self.conditions.add(atom(cond))

    # ---- goal ----------------------------------------------------------------------------
    def _goal_literal(self, goal_objs: list[ObjectType], negated: bool,
                      fresh: list[ObjectType]) -> Literal | None:
        """A random literal over goal objects (reused or new, within the object budget); new
        types are appended to `fresh` so that the caller can release them on rejection."""
        pred = self._choice(self.fam.goal_predicates)

        def pick(exclude: Entity | None, shapes: tuple[str, ...] = SHAPES) -> ObjectType | None:
            reuse = [o for o in goal_objs + fresh if o != exclude and o.shape in shapes]
            can_new = len(goal_objs) + len(fresh) < self.budget
            if can_new and (not reuse or self.rng.random() < 0.5):
                t = self._new_type(shapes)
                if t is not None:
                    fresh.append(t)
                    return t
            return self._choice(reuse) if reuse else None

        if pred in ("hold", "see") or (pred == "near"
                                       and self.rng.random() < self.fam.near_agent_prob):
            a: Entity | None = AGENT
        else:
            a = pick(None)
        b = pick(a, SUPPORTS if pred == "on" else SHAPES) if a is not None else None
        if a is None or b is None:
            return None
        return Literal(pred, a, b, negated)

    def _sample_goal(self) -> Goal:
        goal_objs: list[ObjectType] = []
        disjuncts: list[tuple[Literal, ...]] = []
        for _ in range(self._int(self.fam.goal_disjuncts)):
            for _attempt in range(6):
                conj = self._sample_conjunct(goal_objs)
                if frozenset(conj) not in {frozenset(d) for d in disjuncts}:
                    break
            else:
                raise SampleRejectedError("could not sample distinct disjuncts")
            disjuncts.append(conj)
        self.committed = len(goal_objs)
        return Goal(tuple(disjuncts))

    def _sample_conjunct(self, goal_objs: list[ObjectType]) -> tuple[Literal, ...]:
        lits: list[Literal] = []
        for j in range(self._int(self.fam.goal_conjuncts)):
            negated = j > 0 and self.rng.random() < self.fam.negation_prob
            for _attempt in range(12):
                fresh: list[ObjectType] = []
                lit = self._goal_literal(goal_objs, negated, fresh)
                if lit is not None and not conflicts(lit, lits):
                    lits.append(lit)
                    goal_objs.extend(fresh)
                    break
                for t in fresh:
                    self._release(t)
            else:
                if j == 0:  # the first literal is the conjunct's guaranteed positive one
                    raise SampleRejectedError("no admissible goal literal")
        order = self.rng.permutation(len(lits))
        return tuple(lits[int(i)] for i in order)

    # ---- production chains -----------------------------------------------------------------
    def _condition_forms(self, allow_pair: bool) -> list[tuple[str, bool]]:
        """(predicate, is_pair) forms a rule condition can take in this family."""
        preds = self.fam.rule_predicates
        forms = [(p, False) for p in AGENT_PREDICATES if p in preds]
        if allow_pair and self.fam.rule_pair_conditions:
            forms += [(p, True) for p in PAIR_PREDICATES if p in preds]
        return forms

    def _chain(self, x: ObjectType, depth: int) -> None:
        """Makes `x` obtainable through `depth` production rules (depth 0: x is initial)."""
        if depth == 0:
            self.initial.append(x)
            return
        forms = self._condition_forms(allow_pair=self.committed + 1 <= self.budget)
        if not forms:
            raise SampleRejectedError("no rule condition fits the object budget")
        pred, pair = self._choice(forms)
        y = self._new_type()
        z = self._new_type(SUPPORTS if pred == "on" else SHAPES) if pair else None
        if y is None or (pair and z is None):
            raise SampleRejectedError("out of object slots")
        cond = Literal(pred, y, z) if pair else Literal(pred, AGENT, y)
        self._add_rule(cond, x)
        for o in cond.objects:
            self.uses[o].add(_use(cond))
            self.needed.append(o)
        if pair:
            self.committed += 1
            self.soft.append((y, z))
            deep, shallow = (y, z) if self.rng.random() < 0.5 else (z, y)
            self._chain(deep, depth - 1)
            self._chain(shallow, 0)
        else:
            self.soft.append((AGENT, y))
            self._chain(y, depth - 1)

    # ---- distractors ------------------------------------------------------------------------
    def _product(self) -> ObjectType | None:
        return None if self.rng.random() < 0.5 else self._new_type()

    def _distractor_rule(self, distractors: list[ObjectType]) -> bool:
        """A rule over distractor objects only: it changes nothing the goal needs."""
        options = [Literal(p, AGENT, d) for d in distractors
                   for p, pair in self._condition_forms(False)]
        options += [Literal(p, d1, d2) for d1 in distractors for d2 in distractors if d1 != d2
                    for p, pair in self._condition_forms(True)
                    if pair and (p != "on" or d2.shape in SUPPORTS)]
        options = [c for c in options if atom(c) not in self.conditions]
        if not options:
            return False
        self._add_rule(self._choice(options), self._product())
        return True

    def _dead_end(self, distractors: list[ObjectType]) -> bool:
        """A rule that destroys an initial object the goal needs, under an avoidable condition.

        hold(agent, Y) is avoidable if Y is only ever needed near or in view (holding implies
        being near); near(agent, Y) if Y is only needed in view; near/on(Y, D) with a
        distractor D always, provided Y and D start apart (recorded as a hard constraint)."""
        preds = self.fam.rule_predicates
        options: list[tuple[Literal, tuple[Entity, Entity] | None]] = []
        for y in dict.fromkeys(o for o in self.needed if o in self.initial):
            uses = self.uses[y]
            if "hold" in preds and uses <= {"near", "see"}:
                options.append((Literal("hold", AGENT, y), None))
            if "near" in preds and uses <= {"see"}:
                options.append((Literal("near", AGENT, y), (AGENT, y)))
            for d in distractors:
                if "near" in preds:
                    options.append((Literal("near", y, d), (y, d)))
                if "on" in preds and y.shape in SUPPORTS:
                    options.append((Literal("on", d, y), (y, d)))
                elif "on" in preds and d.shape in SUPPORTS:
                    options.append((Literal("on", y, d), (y, d)))
        options = [(c, h) for c, h in options if atom(c) not in self.conditions]
        if not options:
            return False
        cond, hard = self._choice(options)
        if hard is not None:
            self.hard.append(hard)
        self._add_rule(cond, self._product())
        return True

    # ---- the whole draw -----------------------------------------------------------------------
    def build(self) -> GameDraft:
        goal = self._sample_goal()
        positive = list(dict.fromkeys(o for lit in goal.literals if not lit.negated
                                      for o in lit.objects))
        for lit in goal.literals:
            if lit.negated:
                continue
            for o in lit.objects:
                self.uses[o].add(_use(lit))
            if len(lit.objects) == 2 or lit.predicate == "near":
                self.soft.append((lit.a, lit.b))
        self.needed.extend(positive)
        self.initial.extend(o for o in goal.objects if o not in positive)  # negated-only
        depth = self._int(self.fam.rule_depth)
        for i, x in enumerate(positive):
            k = depth if i == 0 else self._int((0, depth))
            self._chain(x, min(k, MAX_RULES - len(self.rules)))
        distractors = []
        # look-alikes: only colour tells the distractors from the first chain's input, so
        # when its rule is hidden the agent must try them (AdA's "which one" adaptation)
        lead = next((o for o in self.initial if o in self.needed), None)
        shapes = (lead.shape,) if self.fam.lookalike_distractors and lead else SHAPES
        for _ in range(self.budget - len(self.initial)):
            d = self._new_type(shapes)
            if d is None:
                raise SampleRejectedError("out of object slots for distractors")
            distractors.append(d)
        self.initial.extend(distractors)
        n_rules = min(self._int(self.fam.n_distractor_rules), MAX_RULES - len(self.rules))
        for _ in range(n_rules):
            if self.rng.random() < self.fam.dead_end_prob:
                self._dead_end(distractors) or self._distractor_rule(distractors)
            else:
                self._distractor_rule(distractors)
        rules = [Rule(r.condition, r.product, bool(self.rng.random() < self.fam.hidden_prob))
                 for r in self.rules]
        order = self.rng.permutation(len(rules))
        initial = [self.initial[int(i)] for i in self.rng.permutation(len(self.initial))]
        return GameDraft(goal, tuple(rules[int(i)] for i in order), tuple(initial), depth,
                         self.hard, self.soft)
