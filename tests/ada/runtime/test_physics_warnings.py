"""Episode records from the world carry its MuJoCo warning count (to curricula and TensorBoard)."""

from __future__ import annotations

import dataclasses

import numpy as np

from worlds.env import WorldEnv
from worlds.env_batch import SerialEnvBatch
from worlds.family import load_family
from worlds.generator import TaskGenerator


def test_episode_record_carries_the_warning_count():
    base = TaskGenerator(load_family("tiny")).generate(seed=0, n=1)[0]
    task = dataclasses.replace(base, episode=dataclasses.replace(base.episode, trials=1,
                                                                  trial_steps=3))
    env = WorldEnv(task, render=False, physics_warnings="count")
    batch = SerialEnvBatch([env])
    try:
        batch.reset()
        sc = env.scene
        sc.data.qvel[sc._slot_qvel_idx[int(np.flatnonzero(sc.present)[0])]] = 1e12
        episodes = []
        for _ in range(3):
            episodes += batch.step(np.zeros(1, np.int64)).episodes
        assert len(episodes) == 1 and episodes[0].physics_warnings >= 1
        batch.reset()
        for _ in range(3):
            episodes += batch.step(np.zeros(1, np.int64)).episodes
        assert episodes[1].physics_warnings == 0
    finally:
        batch.close()
