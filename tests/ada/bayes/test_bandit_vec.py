"""VectorBandit's known-arm warm-up curriculum (step equality with BanditEnv: test_actor.py)."""

from __future__ import annotations

import numpy as np
import pytest

from ada.bayes.bandit import BanditFamily
from ada.bayes.bandit_vec import VectorBandit

FAMILY = BanditFamily.directed_exploration(p_known=0.6, horizon=5)


def test_known_arm_moves_from_start_to_family_p_then_stays() -> None:
    vec = VectorBandit(FAMILY, 4, seed=0, known_p_start=0.5, warmup_frames=40)
    vec.reset()
    np.testing.assert_allclose(vec.probs[:, 0], 0.5)
    seen = []
    for _ in range(30):  # 120 frames: episodes of 5 pulls restart every 20 frames
        out = vec.step(np.zeros(4, int))
        if out.first.any():
            seen.append(vec.probs[0, 0])
    # linear in frames stepped: 20 -> 0.55, 40 and later -> 0.6 (the family's p)
    np.testing.assert_allclose(seen[:3], [0.55, 0.6, 0.6])
    np.testing.assert_allclose(seen[-1], 0.6)
    assert vec.frames == 120
    # the unknown arm is still drawn from its prior, not touched by the warm-up
    assert len(np.unique(vec.probs[:, 1])) == 4


def test_warmup_frames_survive_state_dict_round_trip() -> None:
    vec = VectorBandit(FAMILY, 2, seed=1, known_p_start=0.5, warmup_frames=100)
    vec.reset()
    for _ in range(10):
        vec.step(np.ones(2, int))
    other = VectorBandit(FAMILY, 2, seed=9, known_p_start=0.5, warmup_frames=100)
    other.load_state_dict(vec.state_dict())
    assert other.frames == vec.frames == 20
    np.testing.assert_allclose(other.known_p(), vec.known_p())
    assert 0.5 < vec.known_p()[0] < 0.6


def test_without_warmup_known_arm_is_the_family_p() -> None:
    vec = VectorBandit(FAMILY, 3, seed=0)
    vec.reset()
    np.testing.assert_allclose(vec.probs[:, 0], 0.6)


@pytest.mark.parametrize("kwargs,match", [
    ({"known_p_start": 1.5}, r"known_p_start: 1\.5"),
    ({"warmup_frames": -1}, r"warmup_frames: -1"),
])
def test_bad_warmup_arguments_name_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VectorBandit(FAMILY, 2, **kwargs)
