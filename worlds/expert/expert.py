"""The privileged expert: plays any task of the task space in first person, closed loop.

It reads the true state of its `WorldEnv` (object poses and types, the held object, every rule
including hidden ones, the terrain) and answers one of the avatar's 13 actions per control
step, which the caller passes to `WorldEnv.step`: the expert never moves anything itself, so its
episodes are valid demonstrations. Each step it replans from scratch:

1. the symbolic level (`worlds.expert.symbolic`) picks the rules to fire and the conjunction to
   satisfy from the multiset of objects present, and names the rules that must not fire now;
2. the first unmet literal of that step (the next rule's condition, or the conjunction's
   literals in an order that keeps earlier ones true) becomes a geometric aim;
3. the motor level (`worlds.expert.motor`, `worlds.expert.navigation`) walks the tile graph,
   faces, grabs, carries, places, releases or looks, keeping clear of objects whose forbidden
   rules would fire.

Once the goal holds it does nothing that could break it (the no-op), and it acts again only when
the goal stops holding. `Expert.report` says per trial what it was doing and, when it failed,
why (no plan, navigation stuck, grab missed, ...), which is what `tools/audit_tasks.py` counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from worlds import predicates
from worlds.avatar import PITCH_LIMIT
from worlds.env import WorldEnv
from worlds.expert.motor import (
    NOOP,
    WALK_ARC,
    A,
    Body,
    face,
    look,
    pitch_to,
    turn,
    walk,
    wrap,
)
from worlds.expert.navigation import TileMap, tile_centre
from worlds.expert.symbolic import Plan, SymbolicPlanner, state_of
from worlds.scene import (
    AVATAR_MASS,
    AVATAR_RADIUS,
    EYE_HEIGHT,
    RAY_GROUPS,
    SEE_PROBES,
    SLOT_HALF_SIZE,
    SLOT_SHAPE,
)
from worlds.task import AGENT, COLOURS, LEVEL_HEIGHT, SHAPES, TILE_SIZE, Literal, ObjectType

GRAB_RANGE = 1.4  # metres, horizontal: where the expert stops to grab (reach is 2 m)
PREPITCH_RANGE = 2.6  # metres: from here in, the head tilts towards an object to grab
BUMP_RADIUS = 0.65  # metres around an object the expert does not mean to touch
NEAR_KEEP_OUT = 1.3  # metres from an object it must not be near (the threshold is 1 m)
CARRY_KEEP_OUT = 2.0  # metres from an object the held one must not come near
CARRY_PITCH = -0.4  # head pitch while carrying: the held object rides above ramps
CARRY_RAMP_COST = 2.0  # extra tile steps for crossing a ramp while carrying
KEEP_PITCH = 0.3  # head pitch that lowers a held object beside another it must be near
PLACE_PITCH = -0.6  # head pitch that lifts a held object above a cube for on()
RELEASE_GAP = 0.75  # metres, horizontal, between a carried object and its partner at release
ON_ALIGN = 0.15  # metres: how far a carried object may be off its support's centre at release
PLACE_DROP = 0.2  # metres: the most a carried object's bottom is above its support's top
SETTLE_STEPS = 4  # control steps an object placed on another is left to come to rest
STAND_OFF = 0.55  # metres, horizontal: the closest the avatar comes to a support (it is
# 0.5 from touching it; the hand reaches 0.6 ahead)
ON_FACE = 0.3  # rad: how squarely the avatar faces a support before stepping into place
VANTAGE_RADII = (0.4, 0.8, 1.2, 1.8)  # metres: where the expert looks for a clear view first
VANTAGE_DIRECTIONS = 12
VIEW_GAP = 2.0  # metres: how close an object is carried to one that must be seen from beside it
SEE_MIN = 1.0  # metres: nearer than this an object sinks below the lowest the head looks
SPOT_REACHED = 0.3  # metres: how near the expert comes to a vantage point it walks to
SPOT_STEPS = 40  # control steps it keeps walking to one before looking for another
SEE_FROM = 1.5  # metres: the nearest a vantage point is to the object to be seen
VIEW_HALF_SPAN = 0.5  # rad: half the horizontal span objects seen together may cover (the
# view's half width is 0.61 rad)
KEEP_NEAR = 0.8  # metres, horizontal: how close it stays to an object it must stay near
STEP_COST = 3.0  # metres-equivalent of one plan step (face, grab, place) when choosing plans
GATHER_GAP = 1.6  # metres: two objects the avatar must be near at once must lie closer
STUCK_STEPS = 12  # steps of walking over which progress is measured
STUCK_PROGRESS = 0.3  # metres: walking less far than this in STUCK_STEPS is being stuck
ESCAPE = (A["backward"], A["backward"], A["strafe_left"], A["strafe_left"], A["forward"])
_FORWARD = (A["forward"], A["forward_left"], A["forward_right"])
_TURNS = (A["turn_left"], A["turn_right"])
FOOTPRINT = 0.3  # metres round a standing point that must be floor of its level (body, margin)
_FOOTPRINT = [(dx, dy) for dx in (-FOOTPRINT, 0.0, FOOTPRINT)
              for dy in (-FOOTPRINT, 0.0, FOOTPRINT)]
_ORDER = {"on": 0, "near_pair": 1, "hold": 2, "near": 3, "see": 4}

CAUSES = ("no_plan", "plan_lost", "no_path", "navigation_stuck", "grab_missed", "sticky_grab",
          "object_lost", "time_out")


@dataclass
class TrialReport:
    """What the expert did in one trial (kept for the audit and the videos' overlays)."""

    planned: bool = True
    plan_steps: int | None = None
    phase: str = ""
    stuck: int = 0
    grab_misses: int = 0
    no_path: int = 0
    plan_lost: bool = False
    sticky: bool = False
    lost: bool = False

    def cause(self) -> str:
        """The most likely reason the goal was never reached in this trial."""
        if not self.planned:
            return "no_plan"
        if self.plan_lost:
            return "plan_lost"
        if self.sticky:
            return "sticky_grab"
        if self.lost:
            return "object_lost"
        if self.no_path > 5:
            return "no_path"
        if self.grab_misses > 5:
            return "grab_missed"
        if self.stuck > 0:
            return "navigation_stuck"
        return "time_out"


def _kind(lit: Literal) -> str:
    return "near_pair" if lit.predicate == "near" and lit.a != AGENT else lit.predicate


class Expert:
    """The closed-loop expert of one env (see the module docstring); `act()` once per step."""

    def __init__(self, env: WorldEnv) -> None:
        self.env = env
        self._task = None
        self._conjunct: int | None = None
        self._keep: list[int] = []
        self._trial_key: tuple[int, int] | None = None
        self.report = TrialReport()
        self.reports: list[TrialReport] = []

    # ---- bookkeeping -----------------------------------------------------------------------
    def _on_task(self) -> None:
        task = self.env.task
        assert task is not None
        self._task = task
        self.tiles = TileMap(task.world.terrain)
        self.planner = SymbolicPlanner.for_task(task)
        self._conj = [predicates.compile_literals(c) for c in task.game.goal.disjuncts]
        self.reports = []
        self._trial_key = None
        self._conjunct = None

    def _on_trial(self) -> None:
        if self._trial_key is not None and self._trial_key[0] == self.env.trial:
            return
        self.report = TrialReport()
        self.reports.append(self.report)
        self._trial_key = (self.env.trial, 0)
        self._trail: list[np.ndarray] = []
        self._queue: list[int] = []
        self._see_turn, self._see_t = 0, -2
        self._see_spot: tuple[int, np.ndarray, int] | None = None  # (slot, from where, until)
        self._vantages: dict[tuple, np.ndarray | None] = {}
        self._last, self._last_yaw, self._blocked = NOOP, 0.0, 0

    def _types(self) -> list[ObjectType]:
        return [self._type_of(s) for s in np.flatnonzero(self.env.scene.present)]

    def _type_of(self, slot: int) -> ObjectType:
        return self.env.state.object_type(slot)  # the env mirrors the scene's colours there

    def _slots(self, t: ObjectType) -> np.ndarray:
        sc = self.env.scene
        return np.flatnonzero(sc.present & (SHAPES.index(t.shape) == SLOT_SHAPE)
                              & (sc.colour == COLOURS.index(t.colour)))

    # ---- one control step ------------------------------------------------------------------
    def act(self) -> int:
        env = self.env
        if env.task is not self._task:
            self._on_task()
        if env.t_in_trial == 0 or self._trial_key is None:
            self._on_trial()
        self.body = Body(env.scene)
        if self._queue:
            return self._remember(self._queue.pop(0))
        if self._last in _TURNS and abs(wrap(self.body.yaw - self._last_yaw)) < 0.01:
            self._blocked += 1  # the turn did not turn: a held object is against a wall
            if self._blocked >= 2:
                self._blocked = 0
                self.report.stuck += 1
                self._queue = [A["backward"]]
                return self._remember(A["backward"])
        else:
            self._blocked = 0
        return self._remember(self._decide())

    def _remember(self, action: int) -> int:
        self._last, self._last_yaw = action, self.body.yaw
        return action

    def _decide(self) -> int:
        env = self.env
        state = state_of(self._types())
        plan = self._choose(self.planner.plans(state))
        if plan is None:
            if env.t_in_trial == 0:
                self.report.planned = False
            else:
                self.report.plan_lost = True
            self.report.phase = "no plan"
            return NOOP
        if self.report.plan_steps is None:
            self.report.plan_steps = plan.steps
        if env.goal_holds and not self._hovering(plan):
            self.report.phase = "keep"
            return NOOP
        danger = [self.planner.rules[i].condition for i in self.planner.danger(state, plan)]
        self._keep = []
        if plan.rules:
            rule = self.planner.rules[plan.rules[0]]
            self.report.phase = f"fire {rule}"
            return self._achieve(rule.condition, danger)
        return self._goal_step(plan, danger)

    def _choose(self, plans: list[Plan]) -> Plan | None:
        """The plan with the least estimated walking, keeping the conjunction chosen before
        unless another is much cheaper (so the expert does not dither between two)."""
        if not plans:
            return None
        if len(plans) == 1:
            self._conjunct = plans[0].conjunct
            return plans[0]
        costs = {p.conjunct: self.plan_cost(p) for p in plans}
        best = min(plans, key=lambda p: costs[p.conjunct])
        kept = next((p for p in plans if p.conjunct == self._conjunct), None)
        if kept is not None and costs[kept.conjunct] <= 1.5 * costs[best.conjunct] + 2.0:
            return kept
        self._conjunct = best.conjunct
        return best

    def plan_cost(self, plan: Plan) -> float:
        """Metres walked to visit each step's objects in turn (a product appears where its
        last input was), plus a fixed cost per step for facing, grabbing and placing."""
        sc = self.env.scene
        pos = sc.object_positions()
        where: dict[ObjectType, np.ndarray] = {}
        for s in np.flatnonzero(sc.present):
            t = self._type_of(s)
            if t not in where or np.linalg.norm(pos[s, :2] - self.body.xy) < np.linalg.norm(
                    where[t] - self.body.xy):
                where[t] = pos[s, :2].copy()
        here, total = self.body.xy, 0.0
        steps = [(self.planner.rules[r].condition, self.planner.rules[r].product)
                 for r in plan.rules]
        steps += [(lit, None) for lit in self._task.game.goal.disjuncts[plan.conjunct]
                  if not lit.negated]
        for lit, product in steps:
            for o in lit.objects:
                p = where.get(o, here)
                total += float(np.linalg.norm(p - here))
                here = p
            if product is not None:
                where[product] = here
        return total + STEP_COST * len(steps)

    def _hovering(self, plan: Plan) -> bool:
        """Whether on(a, b) of the plan's conjunction holds only because a, still in the hand,
        hovers just above b: it should be put down (the hand may be needed, and a video of
        the expert should show the object placed)."""
        held = self.env.scene.held
        if held < 0:
            return False
        t = self._type_of(held)
        return any(lit.predicate == "on" and not lit.negated and lit.a == t
                   for lit in self._task.game.goal.disjuncts[plan.conjunct])

    def estimate(self) -> float | None:
        """The cheapest plan's `plan_cost` from the env's current state (None: no plan), for
        audits: how much of a trial the task needs at the least."""
        if self.env.task is not self._task:
            self._on_task()
        self.body = Body(self.env.scene)
        plans = self.planner.plans(state_of(self._types()))
        return min((self.plan_cost(p) for p in plans), default=None)

    def _goal_step(self, plan: Plan, danger: list[Literal]) -> int:
        conj = self._task.game.goal.disjuncts[plan.conjunct]
        truth = predicates.evaluate(self._conj[plan.conjunct], self.env.state)
        negated = [lit for lit in conj if lit.negated]
        order = sorted((i for i, lit in enumerate(conj) if not lit.negated),
                       key=lambda i: _ORDER[_kind(conj[i])])
        for i, lit in enumerate(conj):  # separating two objects needs the hand: do it first
            if lit.negated and not truth[i] and lit.a != AGENT:
                self.report.phase = f"goal {lit}"
                return self._undo(lit, danger + negated)
        self._keep = [self._nearest(lit.b) for i, lit in enumerate(conj)
                      if lit.predicate == "near" and lit.a == AGENT and not lit.negated
                      and truth[i]]
        gather = self._gather(conj, danger + negated)
        if gather is not None:
            return gather
        held_goal = {lit.b for lit in conj if lit.predicate == "hold" and not lit.negated}
        held = self.env.scene.held
        held_type = self._type_of(held) if held >= 0 else None
        for i, lit in enumerate(conj):
            if truth[i] and lit.predicate == "on" and not lit.negated and held_type == lit.a:
                truth[i] = False  # over the support but still held: place it properly first
        for i, lit in enumerate(conj):  # an object put near another, still in the hand: let
            # go of it, or the next literal's turning and walking carry it away again
            if (truth[i] and not lit.negated and lit.a != AGENT and held_type is not None
                    and held_type in lit.objects and held_type not in held_goal):
                self.report.phase = f"release after {lit}"
                return A["grab"] if self._speed() < 0.3 else NOOP
        seen = [i for i in order if conj[i].predicate == "see"]
        for i in order:
            if not truth[i]:
                self.report.phase = f"goal {conj[i]}"
                if len(seen) > 1 and i in seen:  # every other literal holds: all in one view
                    return self._see_all([self._nearest(conj[j].b) for j in seen],
                                         danger + negated)
                keep = bool(set(conj[i].objects) & held_goal)
                return self._achieve(conj[i], danger + negated, keep)
        for i, lit in enumerate(conj):
            if lit.negated and not truth[i]:
                self.report.phase = f"goal {lit}"
                return self._undo(lit, danger + negated)
        return NOOP

    def _gather(self, conj: tuple[Literal, ...], danger: list[Literal]) -> int | None:
        """near(agent, x) and near(agent, y) with x and y far apart cannot both hold where
        they lie: carry x over to y first (None when there is nothing to gather)."""
        near = [lit.b for lit in conj if lit.predicate == "near" and lit.a == AGENT
                and not lit.negated]
        seen = [lit.b for lit in conj if lit.predicate == "see" and not lit.negated]
        if len(near) == 1 and seen:
            return self._gather_in_view(near[0], seen[0], danger)
        if len(near) < 2:
            return None
        slots = [self._nearest(t) for t in near]
        if min(slots) < 0:
            return None
        pos = self.env.scene.object_positions()
        x, y = slots[0], slots[1]
        if np.linalg.norm(pos[x, :2] - pos[y, :2]) <= GATHER_GAP and self.env.scene.held != x:
            return None
        if self.env.scene.held == x and np.linalg.norm(pos[x, :2] - pos[y, :2]) <= RELEASE_GAP:
            return None if self._speed() > 0.3 else A["grab"]
        self.report.phase = f"gather {near[0].name} to {near[1].name}"
        return self._put_near(x, y, danger)

    def _gather_in_view(self, near: ObjectType, seen: ObjectType,
                        danger: list[Literal]) -> int | None:
        """near(agent, x) and see(agent, y) where y cannot be seen from anywhere near x (it is
        down a cliff, or behind a wall): carry x towards y until it can."""
        x, y = self._nearest(near), self._nearest(seen)
        if x < 0 or y < 0:
            return None
        sc = self.env.scene
        pos = sc.object_positions()
        gap = float(np.linalg.norm(pos[x, :2] - pos[y, :2]))
        if sc.held != x and (gap <= VIEW_GAP or self._vantage(y, around=pos[x, :2],
                                                              keep=[x]) is not None):
            return None
        if sc.held == x and gap <= VIEW_GAP:
            return None if self._speed() > 0.3 else A["grab"]
        self.report.phase = f"gather {near.name} into view of {seen.name}"
        return self._put_near(x, y, danger, gap=VIEW_GAP)

    # ---- constraints -----------------------------------------------------------------------
    def _constraints(self, danger: list[Literal], targets: set[int]
                     ) -> tuple[list[tuple[np.ndarray, float]], set[int]]:
        """Circles (centre, radius) to keep the avatar out of, and slots it must not grab."""
        sc = self.env.scene
        pos = sc.object_positions()
        held = sc.held
        held_type = self._type_of(held) if held >= 0 else None
        avoid: list[tuple[np.ndarray, float]] = []
        no_grab: set[int] = set()
        for lit in danger:
            if lit.predicate == "hold":
                no_grab |= set(self._slots(lit.b).tolist())
            elif lit.predicate == "near" and lit.a == AGENT:
                avoid += [(pos[s, :2].copy(), NEAR_KEEP_OUT) for s in self._slots(lit.b)]
            elif lit.predicate in ("near", "on") and held_type in (lit.a, lit.b):
                other = lit.b if held_type == lit.a else lit.a
                avoid += [(pos[s, :2].copy(), CARRY_KEEP_OUT) for s in self._slots(other)
                          if s != held]
        for s in np.flatnonzero(sc.present):
            if s != held and s not in targets:
                avoid.append((pos[s, :2].copy(), BUMP_RADIUS))
        return avoid, no_grab

    # ---- skills ----------------------------------------------------------------------------
    def _achieve(self, lit: Literal, danger: list[Literal], keep: bool = False) -> int:
        """One step towards making positive `lit` true; `keep`: the goal also holds its
        carried object, so it is not let go of."""
        kind = _kind(lit)
        if kind in ("hold", "near", "see"):
            slot = self._nearest(lit.b)
            if slot < 0:
                self.report.lost = True
                return NOOP
            if kind == "hold":
                return self._hold(slot, danger)
            if kind == "near":
                return self._near_agent(slot, danger)
            return self._see(slot, danger)
        assert isinstance(lit.a, ObjectType)
        a, b = self._pair(lit)
        if a < 0 or b < 0:
            self.report.lost = True
            return NOOP
        if kind == "on":
            return self._put_on(a, b, danger)
        return self._put_near(a, b, danger, keep=keep)

    def _nearest(self, t: ObjectType) -> int:
        slots = self._slots(t)
        if slots.size == 0:
            return -1
        sc = self.env.scene
        if sc.held in slots:
            return int(sc.held)
        d = np.linalg.norm(sc.object_positions()[slots, :2] - self.body.xy, axis=1)
        return int(slots[np.argmin(d)])

    def _pair(self, lit: Literal) -> tuple[int, int]:
        """(carried slot, partner slot) for near/on(a, b): for on(), a is carried onto b; for
        near(), the one already held, else a."""
        assert isinstance(lit.a, ObjectType)
        sa, sb = self._slots(lit.a), self._slots(lit.b)
        if sa.size == 0 or sb.size == 0:
            return -1, -1
        held = self.env.scene.held
        if lit.predicate == "near" and held in sb:
            return int(held), self._closest(sa, held)
        a = int(held) if held in sa else self._nearest(lit.a)
        return a, self._closest(sb, a)

    def _closest(self, slots: np.ndarray, to: int) -> int:
        pos = self.env.scene.object_positions()
        d = np.linalg.norm(pos[slots, :2] - pos[to, :2], axis=1)
        return int(slots[np.argmin(d)])

    def _release_other(self, keep: int) -> int | None:
        """Lets go of a held object other than `keep` (None if nothing else is held)."""
        sc = self.env.scene
        if sc.held < 0 or sc.held == keep:
            return None
        if self.env.controller.sticky_grab:
            self.report.sticky = True
            return NOOP
        return A["grab"]

    def _hold(self, slot: int, danger: list[Literal]) -> int:
        sc = self.env.scene
        if sc.held == slot:
            return NOOP
        a = self._release_other(slot)
        if a is not None:
            return a
        avoid, no_grab = self._constraints(danger, {slot})
        target = self.env.controller.target_slot()
        if target == slot and slot not in no_grab:  # on the view ray and in reach: take it
            return A["grab"]
        p = sc.object_positions()[slot]
        d = self.body.distance(p)
        if d < AVATAR_RADIUS + SLOT_HALF_SIZE[slot] and self.body.z > p[2]:
            return A["forward"]  # standing on it (dropped from a ledge): step off first
        if d > GRAB_RANGE or not self._within_reach(slot):
            if d < PREPITCH_RANGE and abs(self.body.bearing(p)) < WALK_ARC:
                a = look(self.env.controller.pitch_target, pitch_to(self.body, p))
                if a is not None:  # tilt the head on the way in, so the grab comes sooner
                    return a
            return self._goto(p, avoid)
        a = face(self.body, self.env.controller.pitch_target, p)
        if a is not None:
            return a
        self.report.grab_misses += 1
        if target >= 0:  # another object is in the way: come round it
            return A["strafe_left"]
        return A["forward"] if d > 0.8 else A["backward"]

    def _near_agent(self, slot: int, danger: list[Literal]) -> int:
        avoid, _ = self._constraints(danger, {slot})
        p = self.env.scene.object_positions()[slot]
        return self._goto(p, avoid)

    def _see(self, slot: int, danger: list[Literal]) -> int:
        sc = self.env.scene
        avoid, _ = self._constraints(danger, {slot})
        p = sc.object_positions()[slot]
        if self._see_spot is not None and self._see_spot[0] == slot:  # on the way to a
            _, spot, until = self._see_spot  # point it shows from
            if self.body.distance(spot) > SPOT_REACHED and self.env.t_in_trial < until:
                return self._goto(spot, avoid)
            self._see_spot = None
        if not self._line_of_sight(slot):  # seeing has no range: move only when blocked,
            spot = self._vantage(slot)  # and then all the way (a sight line that only grazes
            if spot is None:  # an edge comes and goes as the eye turns with the head)
                return self._goto(p, avoid)
            return self._walk_to_spot(slot, spot, avoid)
        t = self.env.t_in_trial
        self._see_turn = self._see_turn + 1 if t == self._see_t + 1 else 0
        self._see_t = t
        if self.body.distance(p) < SEE_MIN and not self._keep:  # below the view: step back,
            if self._last == A["backward"] and self._speed() < 0.05:  # or, backed against
                spot = self._vantage(slot)  # something, walk round to a point farther off
                if spot is not None:
                    return self._walk_to_spot(slot, spot, avoid)
            return A["backward"]
        offset = 0.35 if sc.held >= 0 else 0.0  # the held object covers the view's centre
        yaw_offset = 0.0
        if self._see_turn > 12:  # facing it did not show it: look past the held object
            yaw_offset = 0.45 if (self._see_turn // 6) % 2 else -0.45
        a = turn(wrap(self.body.bearing(p) + yaw_offset))
        if a is not None:
            return a
        b = look(self.env.controller.pitch_target, pitch_to(self.body, p) + offset)
        if b is not None:
            return b
        if not self._keep and self.body.distance(p) > 1.5:
            return A["forward"]
        return NOOP

    def _walk_to_spot(self, slot: int, spot: np.ndarray,
                      avoid: list[tuple[np.ndarray, float]]) -> int:
        """Sets off for a vantage point of `slot`, committed to it for up to SPOT_STEPS."""
        point = np.append(spot, 0.0)
        self._see_spot = (slot, point, self.env.t_in_trial + SPOT_STEPS)
        return self._goto(point, avoid)

    def _see_all(self, slots: list[int], danger: list[Literal]) -> int:
        """Several objects in one view: face the middle of their bearings once they fit in
        the field of view and are in plain sight, else walk to a point farther from them
        from which they do."""
        if min(slots) < 0:
            self.report.lost = True
            return NOOP
        sc = self.env.scene
        pos = sc.object_positions()
        mid = self._view_mid(self.body.xy, pos[slots])
        if mid is not None and all(self._line_of_sight(s) for s in slots):
            a = turn(wrap(mid - self.body.yaw))
            if a is not None:
                return a
            pitches = [pitch_to(self.body, pos[s]) for s in slots]
            b = look(self.env.controller.pitch_target, 0.5 * (min(pitches) + max(pitches)))
            return b if b is not None else NOOP
        spot = self._group_vantage(pos[slots], slots)
        avoid, _ = self._constraints(danger, set(slots))
        centre = np.mean(pos[slots], axis=0)
        return self._goto(centre if spot is None else np.append(spot, 0.0), avoid)

    @staticmethod
    def _view_mid(xy: np.ndarray, points: np.ndarray) -> float | None:
        """The yaw halfway between the bearings of `points` from `xy`, or None when they
        span more of the horizon than the view shows (with a margin for their size)."""
        d = points[:, :2] - xy
        ang = np.arctan2(d[:, 1], d[:, 0])
        ref = float(ang[0])
        rel = np.array([wrap(float(a) - ref) for a in ang])
        lo, hi = float(rel.min()), float(rel.max())
        if hi - lo > 2 * VIEW_HALF_SPAN:
            return None
        return wrap(ref + 0.5 * (lo + hi))

    def _group_vantage(self, points: np.ndarray, slots: list[int]) -> np.ndarray | None:
        """The nearest point (to the avatar) from whose eye height every object is in plain
        sight and all fit in the view: on rings round the objects' centre, farther out for
        objects farther apart."""
        key = (tuple(np.round(points[:, :2], 1).ravel()), self.tiles.tile_of(self.body.xy))
        if key in self._vantages:
            return self._vantages[key]
        centre = np.mean(points[:, :2], axis=0)
        best, best_d = None, np.inf
        edge = self.tiles.size * TILE_SIZE
        here = key[1]
        for r in np.arange(1.5, edge, 0.75):
            for th in np.linspace(0, 2 * np.pi, 24, endpoint=False):
                q = centre + r * np.array([np.cos(th), np.sin(th)])
                if not (0.3 <= q[0] <= edge - 0.3 and 0.3 <= q[1] <= edge - 0.3):
                    continue
                t = self.tiles.tile_of(q)
                if t in self.tiles.walls or t in self.tiles.ramps:
                    continue
                d = self.body.distance(q)
                if d >= best_d or self._view_mid(q, points) is None or self.tiles.path(
                        here, t) is None:
                    continue
                eye = np.array([q[0], q[1], self.tiles.level(t) * LEVEL_HEIGHT + EYE_HEIGHT])
                if all(self._ray_hits(eye, points[i], s) for i, s in enumerate(slots)):
                    best, best_d = q, d
            if best is not None:
                break
        self._vantages[key] = best
        return best

    def _vantage(self, slot: int, around: np.ndarray | None = None,
                 keep: list[int] | None = None) -> np.ndarray | None:
        """The nearest point within a few steps of `around` (the avatar), on its level and
        near every object in `keep` (those it must stay near), from whose eye height the
        object is in plain sight."""
        sc = self.env.scene
        target = sc.object_positions()[slot]
        pos = sc.object_positions()
        centre = self.body.xy if around is None else np.asarray(around, float)
        keep = self._keep if keep is None else keep
        level = self.tiles.level(self.tiles.tile_of(centre))
        best, best_d = None, np.inf
        for r in VANTAGE_RADII:
            for th in np.linspace(0, 2 * np.pi, VANTAGE_DIRECTIONS, endpoint=False):
                q = centre + r * np.array([np.cos(th), np.sin(th)])
                if not self._standable(q, level):
                    continue
                if any(np.linalg.norm(pos[k, :2] - q) > KEEP_NEAR for k in keep):
                    continue
                if not keep and np.linalg.norm(target[:2] - q) < SEE_FROM:
                    continue  # close up, an object with another on top shows only that one
                eye = np.array([q[0], q[1], level * LEVEL_HEIGHT + EYE_HEIGHT])
                if self._ray_hits(eye, target, slot) and r < best_d:
                    best, best_d = q, r
            if best is not None:
                return best
        return None

    def _standable(self, q: np.ndarray, level: int) -> bool:
        """Whether the avatar fits at `q` on `level`: the tiles under its body and a margin
        round it are all of that level and none a wall (a point by a wall or a drop cannot be
        stood on, and a held object would knock against the wall)."""
        edge = self.tiles.size * TILE_SIZE
        for dx, dy in _FOOTPRINT:
            x, y = q[0] + dx, q[1] + dy
            if not (0 <= x <= edge and 0 <= y <= edge):
                return False
            t = self.tiles.tile_of(np.array([x, y]))
            if self.tiles.level(t) != level or t in self.tiles.walls:
                return False
        return True

    def _put_near(self, a: int, b: int, danger: list[Literal], keep: bool = False,
                  gap: float = RELEASE_GAP) -> int:
        """Carries a to within `gap` of b and lets go of it there, or with `keep` (the goal
        also holds a) lowers it beside b instead."""
        if self.env.scene.held != a:
            return self._hold(a, danger)
        avoid, pa, pb = self._carrying(a, b, danger)
        apart = float(np.linalg.norm(pa[:2] - pb[:2]))
        if self.body.distance(pb) > max(1.8, gap + 1.0) or not self._clear(pb, avoid):
            return self._goto(pb, avoid)
        act = turn(self.body.bearing(pb))
        if act is not None:
            return act
        if apart > gap:
            return A["forward"]
        if keep:
            return look(self.env.controller.pitch_target, KEEP_PITCH) or NOOP
        return A["grab"] if self._speed() < 0.3 else NOOP

    def _carrying(self, a: int, b: int, danger: list[Literal]
                  ) -> tuple[list[tuple[np.ndarray, float]], np.ndarray, np.ndarray]:
        """The keep-out circles while carrying a to b, and the two objects' positions."""
        pos = self.env.scene.object_positions()
        return self._constraints(danger, {a, b})[0], pos[a].copy(), pos[b].copy()

    def _put_on(self, a: int, b: int, danger: list[Literal]) -> int:
        if self.env.scene.held != a:
            return self._hold(a, danger)
        avoid, pa, pb = self._carrying(a, b, danger)
        if self.body.distance(pb) > 1.6 or not self._clear(pb, avoid):
            act = look(self.env.controller.pitch_target, PLACE_PITCH)  # high over what is on
            return act if act is not None else self._goto(pb, avoid)  # the way
        act = turn(self.body.bearing(pb), ON_FACE)
        if act is not None:
            return act
        top = pb[2] + SLOT_HALF_SIZE[b]
        bottom = pa[2] - SLOT_HALF_SIZE[a]
        if bottom < top + 0.02:  # lift it; at the head's limit the support itself is
            # lifted (wedged on the held object): step back to free it
            up = self.env.controller.pitch_target > -PITCH_LIMIT + 1e-6
            return A["look_up"] if up else A["backward"]
        # the last few centimetres by stepping, not turning: a turn moves the held object by
        # 0.15 m and can be blocked by a wall the object would swing into; the avatar slides
        # `coast` metres after it stops walking, so it stops walking that much early
        heading = np.array([np.cos(self.body.yaw), np.sin(self.body.yaw)])
        left = np.array([-heading[1], heading[0]])
        along = float((pb[:2] - pa[:2]) @ heading)
        side = float((pb[:2] - pa[:2]) @ left)
        coast = self._stop_distance()
        if self.body.distance(pb) < STAND_OFF:
            return A["backward"]
        if abs(side) > ON_ALIGN + coast:
            return A["strafe_left"] if side > 0 else A["strafe_right"]
        if along > ON_ALIGN + coast and self.body.distance(pb) > STAND_OFF + coast:
            return A["forward"]
        if along < -ON_ALIGN - coast:
            return A["backward"]
        if coast > 0.02:
            return NOOP
        if abs(side) > ON_ALIGN:
            return A["strafe_left"] if side > 0 else A["strafe_right"]
        if abs(along) > ON_ALIGN:
            return A["forward"] if along > 0 else A["backward"]
        if bottom > top + PLACE_DROP:  # lower it first: dropped from high, a sphere rolls off
            return A["look_down"]
        if self._speed(a) > 0.05:  # a moving sphere rolls off
            return NOOP
        self._queue = [NOOP] * SETTLE_STEPS  # let it come to rest before judging the result
        return A["grab"]

    def _undo(self, lit: Literal, danger: list[Literal]) -> int:
        """Makes a negated literal true again: drop, walk away, look away, or separate."""
        sc = self.env.scene
        pos = sc.object_positions()
        if lit.predicate == "hold":
            return self._release_other(-1) or NOOP
        if lit.predicate == "see":
            slots = self._slots(lit.b)
            d = np.mean(pos[slots, :2], axis=0) if slots.size else self.body.xy
            return turn(wrap(self.body.bearing(d) + np.pi), 0.3) or A["look_up"]
        if lit.predicate == "near" and lit.a == AGENT:
            s = self._nearest(lit.b)
            away = self.body.xy - pos[s, :2]
            away = away / (np.linalg.norm(away) + 1e-9)
            avoid, _ = self._constraints(danger, set())
            return self._goto(np.append(self.body.xy + 1.5 * away, 0.0), avoid)
        assert isinstance(lit.a, ObjectType)
        a, b = self._pair(lit)
        if sc.held != a:
            return self._hold(a, [])
        away = pos[a, :2] - pos[b, :2]
        if np.linalg.norm(away) > 1.8:
            return A["grab"]
        target = self.body.xy + 1.5 * away / (np.linalg.norm(away) + 1e-9)
        return walk(self.body, target)

    # ---- walking ---------------------------------------------------------------------------
    def _stop_distance(self) -> float:
        """How far the avatar slides from its current speed once it stops walking: its push
        is limited (scaled with gravity), and a held object adds to the mass it brakes."""
        sc = self.env.scene
        mass = AVATAR_MASS + (float(sc.model.body_mass[sc.slot_body[sc.held]])
                              if sc.held >= 0 else 0.0)
        decel = float(sc.model.actuator_forcerange[0, 1]) / mass
        return self._speed() ** 2 / (2 * decel)

    def _speed(self, slot: int = -1) -> float:
        """Horizontal speed of the avatar, or of object `slot`."""
        sc = self.env.scene
        if slot >= 0:
            return float(np.linalg.norm(sc.data.qvel[sc.slot_qvel[slot]:sc.slot_qvel[slot] + 2]))
        return float(np.linalg.norm(sc.data.qvel[sc.avatar_qvel[:2]]))

    def _line_of_sight(self, slot: int) -> bool:
        """Whether the ray from the eye to the object's centre meets the object first."""
        return self._ray_hits(self.body.eye, self.env.scene.object_positions()[slot], slot)

    def _ray_hits(self, eye: np.ndarray, point: np.ndarray, slot: int) -> bool:
        """Whether some part of the object at `point` is in plain sight from `eye`: its
        centre, or one of the points near its surface that `Scene.visible` probes (an object
        with another on top, or half behind a wall, shows only part of itself)."""
        sc = self.env.scene
        geom = np.zeros(1, np.int32)
        held = int(sc.slot_body[sc.held]) if sc.held >= 0 else -1  # it moves with the view
        rot = sc.data.xmat[sc.slot_body[slot]].reshape(3, 3)
        for probe in SEE_PROBES[slot]:
            vec = point + rot @ probe - eye
            mujoco.mj_ray(sc.model, sc.data, eye, vec / np.linalg.norm(vec), RAY_GROUPS, 1,
                          held, geom)
            if int(geom[0]) == int(sc.slot_geom[slot]):
                return True
        return False

    def _within_reach(self, slot: int) -> bool:
        """Whether the object can be faced and grabbed from here: in sight, and resting on a
        floor at about the avatar's own height (not up a cliff or down a drop)."""
        sc = self.env.scene
        floor = sc.object_positions()[slot, 2] - SLOT_HALF_SIZE[slot]
        return abs(floor - self.body.z) < 0.35 and self._line_of_sight(slot)

    def _clear(self, p: np.ndarray, avoid: list[tuple[np.ndarray, float]]) -> bool:
        """Whether the avatar can walk straight at `p` on its own level."""
        here = self.tiles.tile_of(self.body.xy)
        goal = self.tiles.tile_of(p)
        if here == goal:
            return True
        level = self.tiles.level(here)
        keep_out = [(c, r) for c, r in avoid if np.linalg.norm(np.asarray(p[:2]) - c) > 0.05]
        return self.tiles.straight(self.body.xy, np.asarray(p[:2], float), level, keep_out)

    def _goto(self, p: np.ndarray, avoid: list[tuple[np.ndarray, float]]) -> int:
        """One step along the tile graph towards point p, clear of the `avoid` circles. A
        held object is first lifted (head up), so that it clears ramps and low objects."""
        ctrl = self.env.controller
        if self.env.scene.held >= 0 and ctrl.pitch_target > CARRY_PITCH + 0.01:
            return A["look_up"]
        here = self.tiles.tile_of(self.body.xy)
        goal = self.tiles.tile_of(p)
        keep_out = [(c, r) for c, r in avoid if np.linalg.norm(np.asarray(p[:2]) - c) >= r]
        outside = [(c, r) for c, r in keep_out if np.linalg.norm(self.body.xy - c) >= r]
        closed = {self.tiles.tile_of(c) for c, r in outside if r > BUMP_RADIUS}
        cost = {self.tiles.tile_of(c): 3.0 for c, _ in outside}
        if self.env.scene.held >= 0:  # a carried object drags on ramps: go round if it is short
            for t in self.tiles.ramps:
                cost[t] = cost.get(t, 0.0) + CARRY_RAMP_COST
        path = self.tiles.path(here, goal, cost, closed) or self.tiles.path(here, goal, cost)
        if path is None:
            self.report.no_path += 1
            return A["turn_left"]
        wps = self.tiles.waypoints(path, np.asarray(p[:2], float))
        centre = tile_centre(here)
        if len(path) > 1 and len(wps) > 1 and abs(wps[0][0][0] - centre[0]) < 1e-9 \
                and abs(wps[0][0][1] - centre[1]) < 1e-9:
            wps = wps[1:]  # the centre of the tile it stands on
        target = self.tiles.next_waypoint(self.body.xy, wps, keep_out)
        if len(path) > 1:
            target = self.tiles.ramp_line(self.body.xy, here, path[1], target)
        action = walk(self.body, target)
        if action not in _FORWARD:
            self._trail.clear()
            return action
        self._trail.append(self.body.xy.copy())
        if len(self._trail) > STUCK_STEPS:
            moved = np.linalg.norm(self._trail[-1] - self._trail[-STUCK_STEPS])
            if moved < STUCK_PROGRESS:
                self.report.stuck += 1
                self._trail.clear()
                climbing = here in self.tiles.ramps or (len(path) > 1
                                                        and path[1] in self.tiles.ramps)
                if climbing and self.env.scene.held >= 0 and ctrl.pitch_target > -PITCH_LIMIT:
                    # the carried object drags on the ramp: lift it clear
                    self._queue = [A["look_up"], A["backward"]]
                    return A["look_up"]
                self._queue = list(ESCAPE[1:])
                return ESCAPE[0]
        return action



__all__ = ["CAUSES", "Expert", "TrialReport"]
