"""The driver's task feed (ada.runtime.task_feed): top-ups, consumption, checkpoint state."""

from __future__ import annotations

import numpy as np
import pytest

from ada.bayes.levers import LeverFamily, LeverTask, LeverTaskGenerator, LeverTaskSpace
from ada.runtime.task_feed import TaskFeed
from curriculum import make_curriculum
from curriculum.config import CurriculumConfig
from worlds.split import Split


def feed(target: int = 5) -> TaskFeed:
    space = LeverTaskSpace(LeverTaskGenerator(LeverFamily(), Split(name="levers",
                                                                    heldout_fraction=0.2)))
    return TaskFeed(make_curriculum(CurriculumConfig(), space), num_actors=2, target=target,
                    seed=4, use_grad_flags=False)


def ids(items: list) -> list[str]:
    return [t.task_id for t, _ in items]


def test_the_feed_keeps_what_was_not_consumed_and_tops_up_in_order() -> None:
    f = feed()
    first = f.top_up(0, version=0)
    assert len(first) == 5 and all(flag for _, flag in first) and f.samples == 5
    f.consumed(0, 3)
    again = f.top_up(0, version=1)
    assert ids(again)[:2] == ids(first)[3:] and f.samples == 8
    with pytest.raises(RuntimeError, match="reports 6 tasks consumed but was sent 5"):
        f.consumed(0, 6)


def test_state_round_trip_continues_the_same_stream() -> None:
    a = feed()
    a.top_up(0, 0)
    a.top_up(1, 0)
    a.consumed(1, 2)
    state = a.state_dict()
    b = feed()
    b.load_state_dict(state, LeverTask.from_json)
    assert {i: [t.task_id for t in q] for i, q in b.queues.items()} == \
        {i: [t.task_id for t in q] for i, q in a.queues.items()}
    assert ids(b.top_up(1, 9)) == ids(a.top_up(1, 9))  # the restored RNG, not a reseed
    assert b.samples == a.samples
    with pytest.raises(ValueError, match="2 actor queues, the run has 3"):
        TaskFeed(None, 3, 1, 0, False).load_state_dict(state, LeverTask.from_json)
    assert isinstance(a.rng, np.random.Generator)
