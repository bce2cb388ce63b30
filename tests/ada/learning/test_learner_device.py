"""The learner's device and precision path: the code `runtime.device=cuda` runs (learner on its
device, actors on CPU with published CPU copies of the weights), exercised on CPU so CI checks
it without a GPU, and the bfloat16 autocast learner."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ada.config import TrainConfig
from ada.learning.learner import Learner, VTraceConfig
from ada.trainer import Trainer
from ada.validation import ConfigError

torch.set_num_threads(1)


def world_cfg(tmp_path, **runtime) -> TrainConfig:
    return TrainConfig.from_dict({
        "agent": {"size": "tiny"}, "env": {"kind": "world", "family": "tiny", "image_size": 16},
        "runtime": {"envs_per_actor": 2, "unroll_length": 5, **runtime}, "total_frames": 30,
        "out_dir": str(tmp_path), "progress": False, "log_every": 1, "name": "device"})


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_actors_act_on_published_cpu_copies_of_the_learners_weights(tmp_path, dtype) -> None:
    trainer = Trainer(world_cfg(tmp_path, device="cpu", learner_dtype=dtype))
    try:
        trainer.run()
        [actor] = trainer.runtime.actors  # type: ignore[attr-defined]
        version, published = trainer.runtime.weights.latest()  # type: ignore[attr-defined]
        assert version == trainer.learner.version == 3
        learner_state = trainer.learner.agent.state_dict()
        acting = actor.agent.state_dict()  # the weights of the last unroll (version 2)
        for k, v in published.items():
            assert v.device.type == "cpu" and acting[k].device.type == "cpu"
            assert v.data_ptr() != learner_state[k].data_ptr()  # a copy, never shared
            assert acting[k].data_ptr() != learner_state[k].data_ptr()
            assert torch.equal(v, learner_state[k].cpu())
        assert actor.version == 2
    finally:
        trainer.close()
    assert trainer.learner.updates == 3
    assert all(np.isfinite(v) for h in trainer.history for v in h.values())


def test_bfloat16_learner_computes_close_to_float32(make_hold_task) -> None:
    from ada.runtime.actor import Actor
    from ada.runtime.weights import InlineWeightSource, cpu_state
    from agents.agent import Agent, agent_config
    from worlds.env import WorldEnv
    from worlds.env_batch import SerialEnvBatch

    task = make_hold_task(trials=2, trial_steps=6)
    batch = SerialEnvBatch([WorldEnv(task, image_size=16) for _ in range(2)])
    torch.manual_seed(0)
    agent = Agent(batch.observation_spec(), batch.action_spec(), agent_config("tiny"))
    try:
        traj = Actor(batch, agent, InlineWeightSource(0, cpu_state(agent)), 12, seed=0).unroll()
    finally:
        batch.close()
    cfg = VTraceConfig(popart=False)
    full = Learner(copy.deepcopy(agent), cfg, 10)
    half = Learner(copy.deepcopy(agent), cfg, 10, dtype="bfloat16")
    (_, m32, _), (l16, m16, _) = full.loss(traj), half.loss(traj)
    assert l16.dtype == torch.float32 and torch.isfinite(l16)
    assert m16["loss/value"] == pytest.approx(m32["loss/value"], rel=0.05, abs=1e-3)
    assert m16["policy/entropy"] == pytest.approx(m32["policy/entropy"], rel=0.02)
    metrics = half.step(traj)
    assert all(np.isfinite(v) for v in metrics.values())
    assert all(p.dtype == torch.float32 for p in half.agent.parameters())
    with pytest.raises(ConfigError, match=r"^runtime.learner_dtype: 'float16' is not allowed"):
        TrainConfig.from_dict({"runtime": {"learner_dtype": "float16"}})
