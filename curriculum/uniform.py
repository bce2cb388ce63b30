"""The uniform curriculum: every episode plays a fresh task from the family's generator.

It is the baseline the others must beat, and what training does without a curriculum; it still
logs the complexity of what it samples and the outcome shares, so curves are comparable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from curriculum.base import Curriculum, CurriculumStateError, EpisodeStats


class UniformCurriculum(Curriculum):
    name = "uniform"

    def sample(self, rng: np.random.Generator) -> Any:
        self._count("candidates")
        return self._emit(self.space.sample(rng))

    def update(self, task_id: str, stats: EpisodeStats) -> None:
        self._record_outcome(stats)

    def _state(self) -> dict[str, Any]:
        return {"totals": dict(self.totals)}

    def _load_state(self, state: Mapping[str, Any]) -> None:
        if "totals" not in state:
            raise CurriculumStateError("curriculum state.state: missing field 'totals'")
        self.totals = Counter({str(k): int(v) for k, v in state["totals"].items()})


__all__ = ["UniformCurriculum"]
