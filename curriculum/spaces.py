"""The 3D world's task space, as curricula see it (the lever family's is `ada.bayes.levers`).

A curriculum needs more from a family than fresh tasks: the split (to prove it never emits a
held-out task), JSON (its state file holds tasks), the no-op policy's score (AdA's filter) and
complexity figures (what the curriculum is feeding the agent, over time).

The world's no-op score is measured, not guessed: a headless `WorldEnv` (physics and game
logic, no renderer) plays the no-op action for one trial. One trial suffices because every
trial restarts from the same initial state and physics is deterministic, so a no-op policy
scores the same in each; the frames it costs are reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from worlds.split import Split


class WorldTaskSpace:
    """Tasks of one world family (`worlds.generator.TaskGenerator` with a training split)."""

    def __init__(self, generator: Any) -> None:
        if generator.split is None:
            raise ValueError("WorldTaskSpace needs a generator with a split (held-out tasks "
                             "must be excluded from training)")
        if generator.split.role != "train":
            raise ValueError(f"WorldTaskSpace: the generator's split role is "
                             f"{generator.split.role!r}; a curriculum trains, allowed: 'train'")
        self.generator = generator
        self.split: Split = generator.split
        self._noop_env: Any = None

    def sample(self, rng: np.random.Generator) -> Any:
        return self.generator.sample(rng)

    def task_from_json(self, text: str) -> Any:
        from worlds.task import Task

        return Task.from_json(text)

    def noop_score(self, task: Any) -> tuple[float, int]:
        from worlds.avatar import NOOP
        from worlds.env import WorldEnv

        if self._noop_env is None:  # one compiled scene, reused for every candidate
            self._noop_env = WorldEnv(task, render=False)
        env = self._noop_env
        env.set_task(task)
        env.reset()
        steps = task.episode.trial_steps
        for _ in range(steps):
            env.step(NOOP)
        return float(env.trial_returns[0]) / steps, steps

    def complexity(self, task: Any) -> dict[str, float]:
        from worlds.generator import chain_depth

        rules = task.game.rules
        return {"rule_depth": float(chain_depth(task)), "objects": float(len(task.world.objects)),
                "rules": float(len(rules)), "hidden_rules": float(sum(r.hidden for r in rules)),
                "arena_tiles": float(task.world.terrain.size)}

    def close(self) -> None:
        if self._noop_env is not None:
            self._noop_env.close()
            self._noop_env = None


__all__ = ["WorldTaskSpace"]
