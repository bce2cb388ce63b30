"""The Ray backend: remote actors, driver-side curriculum, actor restarts, resume, config.

Ray starts once for the module (2 logical CPUs, 2 actors per run) so the tests stay well under a
minute on a 2-core machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ada.config import ConfigError, TrainConfig
from ada.runtime.task_feed import TaskQueue, TaskQueueEmptyError, queue_target
from ada.trainer import Trainer

ray = pytest.importorskip("ray")

TINY: dict[str, Any] = {"agent": {"size": "tiny", "memory_length": 10},
                        "algo": {"learning_rate": 1e-3, "discount": 1.0},
                        "checkpoint_every": 1000, "log_every": 1, "progress": False}
LEVERS = {"kind": "levers", "n_levers": 4, "horizon": 10}


@pytest.fixture(scope="module", autouse=True)
def ray_session() -> Iterator[None]:
    torch.set_num_threads(1)
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


def config(tmp_path: Path, updates: int, env: dict[str, Any], envs: int = 4, unroll: int = 10,
           **kw: Any) -> TrainConfig:
    runtime = {"backend": "ray", "num_actors": 2, "envs_per_actor": envs,
               "unroll_length": unroll, **kw.pop("runtime", {})}
    return TrainConfig.from_dict({**TINY, "env": env, "runtime": runtime,
                                  "total_frames": updates * 2 * envs * unroll,
                                  "out_dir": str(tmp_path), **kw})


def optimiser_steps(trainer: Trainer) -> set[int]:
    return {int(s["step"]) for s in trainer.learner.optimizer.state.values()}


def test_ray_bandit_trains_counts_frames_and_syncs_weights(tmp_path: Path) -> None:
    trainer = Trainer(config(tmp_path, 4, {"kind": "bandit", "horizon": 5}, unroll=5))
    try:
        out = trainer.run()
        versions = trainer.runtime.actor_versions()
    finally:
        trainer.close()
    assert out["updates"] == 4 and out["frames"] == 4 * 2 * 4 * 5
    lags = [h["policy_lag"] for h in trainer.history]
    assert len(lags) == 4 and min(lags) >= 0
    for key in ("actor_wait_s", "learner_s", "publish_s", "actor/env_s", "actor/inference_s"):
        assert all(h[key] >= 0 for h in trainer.history), key
    assert trainer.history[-1]["actor/inference_s"] > 0
    # relaunched unrolls carry the newest weights: after the last publish (lock-step) or,
    # with overlap (the default), the weights from before the last learner step
    assert versions == [4 - int(trainer.cfg.runtime.overlap)] * 2
    assert trainer.history[-1]["runtime/actor_restarts"] == 0
    assert not hasattr(trainer.runtime, "hosts")  # nothing steps envs in the driver


def test_ray_levers_envs_play_only_the_drivers_curriculum_tasks(tmp_path: Path) -> None:
    cur = {"kind": "noop_plr", "plr": {"capacity": 64, "min_fill": 0.5}}
    trainer = Trainer(config(tmp_path, 5, LEVERS, curriculum=cur))
    curriculum, emitted, updated, played = trainer.curriculum, [], [], []
    sample, update = curriculum.sample, curriculum.update

    def recording_sample(rng: np.random.Generator) -> Any:
        task = sample(rng)
        emitted.append(task)
        return task

    def recording_update(task_id: str, stats: Any) -> None:
        updated.append(task_id)
        update(task_id, stats)

    curriculum.sample, curriculum.update = recording_sample, recording_update
    collect = trainer.runtime.collect

    def collecting() -> Any:
        batch, metrics = collect()
        played.extend(e.task_id for e in batch.episodes)
        return batch, metrics

    trainer.runtime.collect = collecting
    try:
        trainer.run()
    finally:
        trainer.close()
    ids = [t.task_id for t in emitted]
    assert played and set(played) <= set(ids)
    assert all(played.count(t) <= ids.count(t) for t in set(played))
    assert updated == played  # every finished episode reached curriculum.update, once
    split = trainer.space.split
    assert not any(split.is_heldout(t.split_key) for t in emitted)
    assert trainer.runtime.samples == len(emitted)
    assert trainer.history[-1]["curriculum/buffer_size"] > 0


def test_killed_actor_is_replaced_and_nothing_is_lost(tmp_path: Path) -> None:
    cfg = config(tmp_path, 6, LEVERS, curriculum={"kind": "plr", "plr": {"capacity": 32}},
                 runtime={"max_actor_restarts": 1})
    trainer = Trainer(cfg)
    try:
        trainer.run(max_updates=2)
        runtime = trainer.runtime
        old = runtime.handles[0]
        pid = ray.get(old.pid.remote())
        sent: list[list[str]] = []  # the task queues sent to actor 0, in order
        restarted_at: list[int] = []
        top_up, restart = runtime.feed.top_up, runtime._restart

        def recording_top_up(actor_id: int, version: int) -> Any:
            tasks = top_up(actor_id, version)
            if actor_id == 0:
                sent.append([t.task_id for t, _ in tasks])
            return tasks

        def recording_restart(actor_id: int, err: BaseException) -> None:
            restarted_at.append(len(sent))
            restart(actor_id, err)

        runtime.feed.top_up, runtime._restart = recording_top_up, recording_restart
        ray.kill(old)  # mid-run: its next unroll is in flight
        trainer.run(max_updates=2)
        assert trainer.learner.updates == 4
        assert trainer.history[-1]["runtime/actor_restarts"] == 1
        assert ray.get(runtime.handles[0].pid.remote()) != pid
        # the queue sent with the request that died goes whole to the replacement
        [i] = restarted_at
        assert i >= 1 and sent[i][:len(sent[i - 1])] == sent[i - 1] and sent[i - 1]
        assert trainer.learner.frames == 4 * cfg.frames_per_update
        assert optimiser_steps(trainer) == {4}  # no lost or doubled update
        ray.kill(trainer.runtime.handles[1])  # one restart is all this run allows
        with pytest.raises(RuntimeError, match=r"runtime\.max_actor_restarts=1"):
            trainer.run()
        # (actor 1's in-flight unroll may have finished before the kill: one more update)
        assert trainer.learner.updates in (4, 5)
        assert optimiser_steps(trainer) == {trainer.learner.updates}
    finally:
        trainer.close()


def test_an_actor_that_cannot_be_built_fails_at_once(tmp_path: Path) -> None:
    """A constructor error is deterministic: no restarts, the cause is in the message."""
    import dataclasses

    from ada.runtime.ray_runtime import RayRuntime

    cfg = config(tmp_path, 1, {"kind": "bandit"}, runtime={"num_actors": 1})
    broken = dataclasses.replace(cfg.runtime)
    object.__setattr__(broken, "unroll_length", 0)  # past validation: `Actor` refuses it
    runtime = RayRuntime(dataclasses.replace(cfg, runtime=broken), {})
    try:
        with pytest.raises(RuntimeError, match=r"actor 0 could not be built(.|\n)*"
                                               r"unroll_length: 0"):
            runtime.collect()
        assert runtime.restarts == 0
    finally:
        runtime.close()


def test_ray_resume_restores_learner_optimiser_and_curriculum(tmp_path: Path) -> None:
    cur = {"kind": "plr", "plr": {"capacity": 32, "min_fill": 0.25, "no_grad_new": True}}
    a = Trainer(config(tmp_path, 6, LEVERS, curriculum=cur))
    try:
        a.run(max_updates=3)
        state, steps = a.curriculum.state_dict(), optimiser_steps(a)
        assert any(h.get("learn/masked_fraction", 0.0) > 0 for h in a.history)  # robust PLR
    finally:
        a.close()
    b = Trainer(config(tmp_path, 6, LEVERS, curriculum=cur))
    try:
        assert b.maybe_resume() is not None
        assert b.learner.updates == 3 and optimiser_steps(b) == steps == {3}
        assert b.curriculum.state_dict() == state
        out = b.run()  # resume=auto again: the same checkpoint, then on to the target
        assert out["updates"] == 6 and optimiser_steps(b) == {6}
    finally:
        b.close()


def test_task_queue_never_samples_and_keeps_flags_per_task() -> None:
    class T:
        def __init__(self, task_id: str) -> None:
            self.task_id = task_id

    q = TaskQueue(actor_id=3, record_flags=True)
    q.load([(T("a"), False), (T("b"), True), (T("a"), True)])
    assert [q(None).task_id for _ in range(3)] == ["a", "b", "a"] and q.consumed == 3
    assert [q.grad_allowed("a"), q.grad_allowed("b"), q.grad_allowed("a")] == [False, True, True]
    with pytest.raises(TaskQueueEmptyError, match="actor 3: the task queue"):
        q(None)
    assert queue_target(8, 20, 10) == 8 * 3


@pytest.mark.parametrize("runtime,match", [
    ({"backend": "rayy"}, r"runtime\.backend: 'rayy'.*\['inline', 'ray'\]"),
    ({"max_actor_restarts": -1}, r"runtime\.max_actor_restarts: -1.*integers >= 0"),
    ({"max_actor_restarts": "many"}, r"runtime\.max_actor_restarts: 'many'"),
    ({"actor_cpus": 0}, r"runtime\.actor_cpus: 0.*> 0"),
    ({"address": ""}, r"runtime\.address: ''.*'auto'"),
])
def test_bad_runtime_values_fail_naming_the_field(runtime: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig.from_dict({"runtime": runtime})


def test_ray_runtime_config_composes() -> None:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    configs = Path(__file__).resolve().parents[3] / "configs"
    with initialize_config_dir(str(configs), version_base="1.3"):
        cfg = compose("train", overrides=["runtime=ray", "env=world"])
    container: Any = OmegaConf.to_container(cfg, resolve=False)
    container["out_dir"] = "outputs/test"
    rt = TrainConfig.from_dict(container).runtime
    assert rt.backend == "ray" and rt.num_actors == 2 and rt.envs_per_actor == 8
    assert rt.address is None and rt.max_actor_restarts >= 1


def _task_stream(cfg: TrainConfig) -> tuple[list[str], list[str], dict[str, torch.Tensor]]:
    """(tasks the curriculum emitted, tasks the episodes played, final weights) of one run."""
    trainer = Trainer(cfg)
    emitted: list[str] = []
    played: list[str] = []
    sample, collect = trainer.curriculum.sample, trainer.collect

    def recording(rng: np.random.Generator) -> Any:
        task = sample(rng)
        emitted.append(task.task_id)
        return task

    def collecting() -> Any:
        batch, metrics = collect()
        played.extend(str(e.task_id) for e in batch.episodes)
        return batch, metrics

    trainer.curriculum.sample = recording  # type: ignore[method-assign]
    trainer.collect = collecting  # type: ignore[method-assign]
    try:
        trainer.run()
    finally:
        trainer.close()
    weights = {k: v.clone() for k, v in trainer.learner.agent.state_dict().items()}
    return emitted, played, weights


def test_inline_with_one_actor_is_rays_lock_step_task_stream(tmp_path: Path) -> None:
    """The driver's curriculum pushes the tasks on both backends: one actor, no overlap, the
    same seeds, and Ray samples, plays and learns exactly what inline does."""
    cur = {"kind": "plr", "plr": {"capacity": 16, "min_fill": 0.25, "no_grad_new": True}}
    runs = {}
    for backend in ("inline", "ray"):
        cfg = TrainConfig.from_dict({
            **TINY, "env": LEVERS, "curriculum": cur, "seed": 3, "total_frames": 8 * 4 * 10,
            "out_dir": str(tmp_path / backend), "resume": "never",
            "runtime": {"backend": backend, "num_actors": 1, "envs_per_actor": 4,
                        "unroll_length": 10, "overlap": False}})
        runs[backend] = _task_stream(cfg)
    (e_in, p_in, w_in), (e_ray, p_ray, w_ray) = runs["inline"], runs["ray"]
    assert len(set(e_in)) > 8 and len(p_in) >= 8 * 4 - 4  # a real stream, not one task
    # Ray has already sent the request for the unroll after the last update: its extra draws
    # are that top-up, at most one queue's worth; everything before is inline's stream
    assert e_ray[:len(e_in)] == e_in and len(e_ray) - len(e_in) <= queue_target(4, 10, 10)
    assert p_in == p_ray
    for k in w_in:
        torch.testing.assert_close(w_in[k], w_ray[k], rtol=0, atol=0, msg=k)


def test_worker_nice_sets_the_actor_processes_niceness(tmp_path: Path) -> None:
    import os

    trainer = Trainer(config(tmp_path, 1, {"kind": "bandit", "horizon": 5}, unroll=5,
                             runtime={"worker_nice": 17}))
    try:
        pids = [ray.get(h.pid.remote()) for h in trainer.runtime.handles]
        assert [os.getpriority(os.PRIO_PROCESS, p) for p in pids] == [17, 17]
    finally:
        trainer.close()
