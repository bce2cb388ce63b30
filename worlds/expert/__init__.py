"""The privileged expert: a symbolic planner over rules and goals above a first-person motor
level (see `worlds.expert.expert`)."""

from worlds.expert.expert import CAUSES, Expert, TrialReport
from worlds.expert.symbolic import Plan, SymbolicPlanner

__all__ = ["CAUSES", "Expert", "Plan", "SymbolicPlanner", "TrialReport"]
