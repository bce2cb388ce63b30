"""Kickstarting: the student is pulled toward a teacher's policy on its own trajectories, with a
weight annealed in frames; weight 0 changes nothing; a checkpoint teacher of another size loads;
the expert's choices reach the trajectory; a resumed run continues the schedule."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from ada.acting import PolicyStep, SingleEnvActing
from ada.config import TrainConfig
from ada.learning.checkpoint import save_checkpoint
from ada.learning.kickstart import KickstartConfig, kickstart_terms, one_hot_logits
from ada.learning.learner import Learner
from ada.policies import ExpertPolicy
from ada.runtime.actor import Actor
from ada.runtime.teacher import make_teacher
from ada.runtime.weights import InlineWeightSource, cpu_state
from ada.trainer import Trainer
from ada.validation import ConfigError
from agents.agent import Agent, agent_config

torch.set_num_threads(1)
BANDIT = {"kind": "bandit", "horizon": 10}


def bandit_config(out: Path, frames: int, kickstart: dict | None = None, **agent) -> TrainConfig:
    return TrainConfig.from_dict({
        "agent": {"size": "tiny", **agent}, "env": BANDIT,
        "algo": {"learning_rate": 1e-3, "kickstart": kickstart or {}},
        "runtime": {"envs_per_actor": 16, "unroll_length": 10}, "total_frames": frames,
        "out_dir": str(out), "progress": False, "log_every": 10, "checkpoint_every": 100,
        "name": "ks", "seed": 0})


@pytest.fixture(scope="module")
def teacher_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixed bandit teacher (tiny, width 32) whose choices depend strongly on what it has seen:
    a random network with its policy head scaled up, so each state has a clear favourite."""
    from ada.envs import env_specs

    out = tmp_path_factory.mktemp("teacher")
    cfg = bandit_config(out, 160)
    torch.manual_seed(3)
    agent = Agent(*env_specs(cfg.env), cfg.agent)
    with torch.no_grad():
        for p in agent.policy.parameters():
            p.mul_(30.0)
    return save_checkpoint(out / "checkpoints" / "ckpt_00000000.pt",
                           learner=Learner(agent, cfg.algo, 1).state_dict(), actors=[],
                           config=cfg.to_dict(), step=0)


def train(cfg: TrainConfig) -> Trainer:
    trainer = Trainer(cfg)
    try:
        trainer.run()
    finally:
        trainer.close()
    return trainer


def test_schedule_holds_then_anneals_to_zero() -> None:
    ks = KickstartConfig(teacher="expert", weight=2.0, hold_frames=100, anneal_frames=400)
    assert [ks.weight_at(f) for f in (0, 100, 300, 500, 10**6)] == [2.0, 2.0, 1.0, 0.0, 0.0]
    assert KickstartConfig().weight_at(0) == 0.0  # no teacher, no term


def test_kl_of_a_one_hot_teacher_is_the_cross_entropy() -> None:
    student = torch.randn(3, 2, 5)
    teacher = torch.as_tensor(one_hot_logits(np.array([1, 4, 0, 2, 2, 3]), 5)).reshape(3, 2, 5)
    kl, agree = kickstart_terms(student, teacher, None)
    ce = -torch.log_softmax(student, -1).gather(-1, teacher.argmax(-1, keepdim=True)).mean()
    assert float(kl) == pytest.approx(float(ce), rel=1e-6)
    assert float(agree) == pytest.approx(float((student.argmax(-1) == teacher.argmax(-1))
                                               .float().mean()))


class Alternating(SingleEnvActing):
    """A fixed teacher whose choice depends on what happened: the other arm than last time."""

    def initial_state(self, batch_size: int) -> None:
        return None

    def step(self, obs, state, first, rngs) -> PolicyStep:
        prev = np.asarray(obs["prev_action"])
        return PolicyStep(np.where(prev.sum(-1) > 0, 1 - prev.argmax(-1), 0).astype(np.int64),
                          None)


def agreement_after(updates: int, weight: float) -> list[float]:
    """Kickstarts a tiny bandit student toward `Alternating` on its own unrolls; the learner's
    per-batch agreement with the teacher."""
    from ada.envs import make_env_batch
    from ada.learning.learner import VTraceConfig

    cfg = bandit_config(Path("unused"), 160)
    env = make_env_batch(cfg.env, 16, seed=0)
    torch.manual_seed(0)
    agent = Agent(env.observation_spec(), env.action_spec(), cfg.agent)
    algo = VTraceConfig(learning_rate=1e-3, kickstart=KickstartConfig(
        teacher="alternating", weight=weight, hold_frames=10**9))
    learner = Learner(agent, algo, updates)
    weights = InlineWeightSource(0, cpu_state(agent))
    actor = Actor(env, copy.deepcopy(agent), weights, 10, seed=0, teacher=Alternating())
    out = []
    try:
        for _ in range(updates):
            out.append(learner.step(actor.unroll())["kickstart/agreement"])
            weights.publish(learner.version, cpu_state(learner.agent))
    finally:
        env.close()
    return out


def test_kickstarting_makes_the_student_agree_with_a_fixed_teacher() -> None:
    kicked = agreement_after(60, 1.0)  # measured: 0.52 at the start, 1.0 from update 20
    assert np.mean(kicked[:5]) < 0.75 and np.mean(kicked[-10:]) > 0.95, kicked[::20]
    # weight 0: the same run, RL alone, logs the agreement but is not pulled toward the teacher
    alone = agreement_after(60, 0.0)
    assert np.mean(alone[-10:]) < 0.8, alone[::20]


def test_a_run_kickstarted_by_a_checkpoint_of_another_size(teacher_checkpoint: Path,
                                                           tmp_path: Path) -> None:
    ks = {"teacher": str(teacher_checkpoint.parents[1]), "weight": 1.0, "anneal_frames": 10**6}
    run = train(bandit_config(tmp_path, 40 * 160, ks, width=48))
    assert run.learner.agent.config.width == 48
    assert run.history[-1]["kickstart/agreement"] > 0.9
    assert run.history[-1]["kickstart/loss"] < run.history[0]["kickstart/loss"]


def test_weight_zero_leaves_the_learner_bit_for_bit(teacher_checkpoint: Path,
                                                    tmp_path: Path) -> None:
    frames = 4 * 160
    plain = train(bandit_config(tmp_path / "plain", frames))
    zero = train(bandit_config(tmp_path / "zero", frames,
                               {"teacher": str(teacher_checkpoint), "weight": 0.0}))
    a, b = plain.learner.agent.state_dict(), zero.learner.agent.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_an_expert_teacher_at_weight_zero_leaves_world_training_bit_for_bit(
        tmp_path: Path) -> None:
    def cfg(out: str, kickstart: dict) -> TrainConfig:
        return TrainConfig.from_dict({
            "agent": {"size": "tiny"}, "env": {"kind": "world", "family": "tiny",
                                               "image_size": 16},
            "algo": {"kickstart": kickstart}, "runtime": {"envs_per_actor": 2,
                                                          "unroll_length": 8},
            "total_frames": 3 * 16, "out_dir": str(tmp_path / out), "progress": False,
            "log_every": 1, "name": "ks_world"})

    plain = train(cfg("plain", {}))
    zero = train(cfg("zero", {"teacher": "expert", "weight": 0.0}))
    a, b = plain.learner.agent.state_dict(), zero.learner.agent.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(h["actor/teacher_s"] == 0 for h in zero.history)  # never needed, never asked
    # a schedule that ends: the expert is asked while its weight is above 0, then no more
    ending = train(cfg("ending", {"teacher": "expert", "weight": 1.0, "anneal_frames": 32}))
    asked = [h["actor/teacher_s"] > 0 for h in ending.history]
    weights = [h["kickstart/weight"] for h in ending.history]
    assert asked == [True, True, False] and weights == [1.0, 0.5, 0.0]
    assert "kickstart/agreement" in ending.history[1]
    assert "kickstart/agreement" not in ending.history[2]


def test_a_resumed_run_continues_the_schedule(teacher_checkpoint: Path, tmp_path: Path) -> None:
    ks = {"teacher": str(teacher_checkpoint), "weight": 1.0, "anneal_frames": 40 * 160}
    train(bandit_config(tmp_path, 20 * 160, ks))
    resumed = train(bandit_config(tmp_path, 30 * 160, ks))
    assert resumed.learner.frames == 30 * 160
    # its first logged window, updates 21-30, trained from frames 20 * 160 to 29 * 160: the mean
    # weight is 1 - 24.5 / 40 (a schedule restarted at 0 would log 1 - 4.5 / 40)
    first = resumed.history[0]
    assert first["update"] == 30
    assert first["kickstart/weight"] == pytest.approx(1.0 - 24.5 / 40)


def test_a_teacher_that_reads_other_observations_is_a_config_error(
        teacher_checkpoint: Path, tmp_path: Path) -> None:
    cfg = TrainConfig.from_dict({
        "agent": {"size": "tiny"}, "env": {"kind": "world", "family": "tiny", "image_size": 16},
        "algo": {"kickstart": {"teacher": str(teacher_checkpoint)}},
        "runtime": {"envs_per_actor": 1, "unroll_length": 2}, "total_frames": 2,
        "out_dir": str(tmp_path), "progress": False})
    with pytest.raises(ConfigError, match=r"^algo.kickstart.teacher: the teacher reads "):
        Trainer(cfg)
    with pytest.raises(ConfigError, match=r"^algo.kickstart.teacher: '/\S*/nowhere' does not "
                                          r"exist"):
        Trainer(TrainConfig.from_dict({**cfg.to_dict(), "algo": {
            "kickstart": {"teacher": "nowhere"}}}))
    with pytest.raises(ConfigError, match=r"^algo.kickstart.teacher: 'expert' needs "
                                          r"env.kind=world"):
        TrainConfig.from_dict({"env": BANDIT, "algo": {"kickstart": {"teacher": "expert"}}})
    with pytest.raises(ConfigError, match=r"^algo.kickstart.anneal_frames: 0 is not allowed"):
        TrainConfig.from_dict({"env": BANDIT, "algo": {"kickstart": {"anneal_frames": 0}}})


def test_a_checkpoint_teacher_of_another_size_gives_logits(teacher_checkpoint: Path) -> None:
    from ada.envs import env_specs

    cfg = bandit_config(teacher_checkpoint.parent, 160)
    teacher = make_teacher(KickstartConfig(teacher=str(teacher_checkpoint)),
                           env_specs(cfg.env)[0])
    assert teacher.agent.config.width == 32
    obs = {k: np.zeros((3, *s.shape), s.dtype) for k, s in env_specs(cfg.env)[0].items()}
    step = teacher.step(obs, None, np.ones(3, bool), np.random.default_rng(0))
    assert step.logits.shape == (3, 2) and np.isfinite(step.logits).all()


def test_the_expert_teacher_ships_its_choices_without_touching_the_agents_actions(
        make_hold_task) -> None:
    from worlds.env import WorldEnv
    from worlds.env_batch import SerialEnvBatch

    task = make_hold_task(trials=2, trial_steps=6)

    def actor(teacher, demo_prob: float = 0.0) -> Actor:
        batch = SerialEnvBatch([WorldEnv(task, image_size=16) for _ in range(3)])
        torch.manual_seed(0)
        agent = Agent(batch.observation_spec(), batch.action_spec(), agent_config("tiny"))
        return Actor(batch, agent, InlineWeightSource(0, cpu_state(agent)), 12, seed=1,
                     teacher=teacher, demo_prob=demo_prob,
                     demonstrator=ExpertPolicy() if demo_prob else None)

    plain, taught, shown = actor(None), actor(ExpertPolicy()), actor(ExpertPolicy(), 1.0)
    try:
        a, b, c = plain.unroll(), taught.unroll(), shown.unroll()
    finally:
        for x in (plain, taught, shown):
            x.env.close()
    assert a.teacher_logits is None and b.teacher_logits.shape == (12, 3, 13)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.behaviour_logits, b.behaviour_logits)
    # where the expert also acted (the demonstration trial), the teacher chose what it did
    np.testing.assert_array_equal(c.teacher_logits[:6].argmax(-1), c.actions[:6])
    assert (c.teacher_logits.max(-1) == 0.0).all()  # one-hot: all mass on one action
