"""The expert's symbolic level: which conjunction to satisfy and which rules to fire, in order.

The search is over the multiset of object types present (positions play no part): a step
either fires one rule (its condition's objects are consumed, its product appears) or, last,
satisfies one conjunction of the goal. Side effects are part of the model, because acting on
the world makes more atoms true than the one aimed at: to hold an object the avatar walks up to
it and looks at it, to put `a` on `b` it carries `a` and stands next to `b`. Every rule whose
condition is among those implied atoms fires on the way (rules fire in index order on the step
their condition first holds), so an attempt whose side rule consumes what it needs fails in the
model exactly as it would in the world. A plan is the shortest sequence of successful attempts
that ends in a conjunction which can be made true and kept true: no rule fires on its own atoms
(or their implications) and destroys one of its objects.

`danger` then names the rules the motor level must not trigger now: those whose firing would
leave no plan at all from the resulting multiset. Dead-end rules are found this way without
being labelled: the planner never needs to know which rules the generator meant as traps.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from worlds.game_sampler import atom
from worlds.task import AGENT, Goal, Literal, ObjectType, Rule, Task

State = tuple[tuple[ObjectType, int], ...]  # sorted (type, count) pairs with count > 0
Atom = tuple  # a literal without its sign; near() arguments sorted
MAX_PLAN_STEPS = 8


def implied_atoms(lit: Literal) -> frozenset[Atom]:
    """Atoms that become true on the way to making positive `lit` true with the expert's
    motor skills (the literal's own atom included)."""
    out = {atom(lit)}
    a, b = lit.a, lit.b
    if lit.predicate == "hold":
        out |= {atom(Literal("near", AGENT, b)), atom(Literal("see", AGENT, b))}
    elif lit.predicate == "near" and a == AGENT:
        out.add(atom(Literal("see", AGENT, b)))
    elif lit.predicate in ("near", "on"):
        assert isinstance(a, ObjectType)
        out |= {atom(Literal("hold", AGENT, a)), atom(Literal("near", AGENT, a)),
                atom(Literal("see", AGENT, a)), atom(Literal("near", AGENT, b)),
                atom(Literal("see", AGENT, b))}
        if lit.predicate == "on":
            out.add(atom(Literal("near", a, b)))
    return frozenset(out)


def state_of(types: Sequence[ObjectType]) -> State:
    counts: dict[ObjectType, int] = {}
    for t in types:
        counts[t] = counts.get(t, 0) + 1
    return tuple(sorted(counts.items()))


def _has(state: State, types: Sequence[ObjectType]) -> bool:
    d = dict(state)
    return all(d.get(t, 0) >= 1 for t in types)


def _apply(state: State, rule: Rule) -> State:
    d = dict(state)
    for t in rule.consumed:
        d[t] -= 1
    if rule.product is not None:
        d[rule.product] = d.get(rule.product, 0) + 1
    return tuple(sorted((t, n) for t, n in d.items() if n > 0))


@dataclass(frozen=True)
class Plan:
    """Rules to fire in order (indices into the task's rules), then the conjunction to make
    true (index into the goal's disjuncts)."""

    rules: tuple[int, ...]
    conjunct: int

    @property
    def steps(self) -> int:
        return len(self.rules) + 1


class SymbolicPlanner:
    """Plans over one task's rules and goal; plans are cached per multiset."""

    def __init__(self, goal: Goal, rules: Sequence[Rule]) -> None:
        self.goal = goal
        self.rules = tuple(rules)
        self._cond_atoms = [atom(r.condition) for r in self.rules]
        self._plan = lru_cache(maxsize=4096)(self._search)
        self.danger = lru_cache(maxsize=4096)(self._danger)  # type: ignore[method-assign]

    @staticmethod
    def for_task(task: Task) -> SymbolicPlanner:
        return SymbolicPlanner(task.game.goal, task.game.rules)

    # ---- the model of one attempt ---------------------------------------------------------
    def side_rules(self, atoms: frozenset[Atom], exclude: int | None = None) -> list[int]:
        """Rules (index order) whose condition is one of `atoms`, but `exclude`."""
        return [i for i, a in enumerate(self._cond_atoms) if a in atoms and i != exclude]

    def attempt(self, state: State, r: int) -> State | None:
        """The multiset after trying to fire rule r, or None when the attempt cannot succeed
        (its objects are missing, or a side rule consumes one of them first)."""
        rule = self.rules[r]
        if not _has(state, rule.consumed):
            return None
        for i in self.side_rules(implied_atoms(rule.condition), exclude=r):
            side = self.rules[i]
            earlier = i < r or atom(side.condition) != atom(rule.condition)
            if earlier and _has(state, side.consumed):
                state = _apply(state, side)
        if not _has(state, rule.consumed):
            return None
        return _apply(state, rule)

    def conjunct_ok(self, state: State, c: int) -> bool:
        """Conjunction c's objects are present and no rule fires on the atoms that making it
        true implies and consumes one of them (it could then never be kept true)."""
        conj = self.goal.disjuncts[c]
        positive = [lit for lit in conj if not lit.negated]
        needed = [o for lit in positive for o in lit.objects]
        if not _has(state, needed):
            return False
        atoms: frozenset[Atom] = frozenset().union(*(implied_atoms(lit) for lit in positive))
        needed_set = set(needed)
        return not any(set(self.rules[i].consumed) & needed_set for i in self.side_rules(atoms))

    # ---- search ----------------------------------------------------------------------------
    def _search(self, start: State, conjunct: int | None) -> Plan | None:
        """Breadth-first: the fewest rule firings, then the lowest conjunction index (only
        `conjunct` when it is given)."""
        targets = range(len(self.goal.disjuncts)) if conjunct is None else (conjunct,)
        queue: deque[tuple[State, tuple[int, ...]]] = deque([(start, ())])
        seen = {start}
        while queue:
            state, fired = queue.popleft()
            for c in targets:
                if self.conjunct_ok(state, c):
                    return Plan(fired, c)
            if len(fired) >= MAX_PLAN_STEPS:
                continue
            for r in range(len(self.rules)):
                nxt = self.attempt(state, r)
                if nxt is not None and nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, (*fired, r)))
        return None

    def plan(self, state: State, conjunct: int | None = None) -> Plan | None:
        """The shortest plan from `state` (to `conjunct` only, when given); None if none."""
        return self._plan(state, conjunct)

    def plans(self, state: State) -> list[Plan]:
        """The shortest plan to each conjunction that has one."""
        out = [self.plan(state, c) for c in range(len(self.goal.disjuncts))]
        return [p for p in out if p is not None]

    def _danger(self, state: State, plan: Plan) -> tuple[int, ...]:
        """Rules whose firing now (other than the plan's next one) would leave no plan."""
        nxt = plan.rules[0] if plan.rules else None
        out = []
        for i, rule in enumerate(self.rules):
            if i == nxt or not _has(state, rule.consumed):
                continue
            if self.plan(_apply(state, rule)) is None:
                out.append(i)
        return tuple(out)


def has_plan(task: Task) -> bool:
    """Whether the planner finds a plan from the task's initial objects (a task without one
    is a generator defect: no play can make its goal hold for good)."""
    planner = SymbolicPlanner.for_task(task)
    return planner.plan(state_of([o.type for o in task.world.objects])) is not None


__all__ = ["Plan", "State", "SymbolicPlanner", "atom", "has_plan", "implied_atoms", "state_of"]
