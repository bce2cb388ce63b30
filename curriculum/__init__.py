"""What to train on next: uniform sampling, AdA's no-op filter, Prioritized Level Replay.

`make_curriculum(CurriculumConfig, TaskSpace)` builds one; the env calls its `sample(rng)` at
every episode start and the trainer feeds finished episodes to `update(task_id, stats)`.
"""

from curriculum.base import Curriculum, CurriculumError, CurriculumStateError, EpisodeStats
from curriculum.config import CurriculumConfig, NoopFilterConfig, PLRConfig
from curriculum.factory import make_curriculum

__all__ = ["Curriculum", "CurriculumConfig", "CurriculumError", "CurriculumStateError",
           "EpisodeStats", "NoopFilterConfig", "PLRConfig", "make_curriculum"]
