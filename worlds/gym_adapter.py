"""A thin Gymnasium view of `WorldEnv`, for tools and baselines written against Gymnasium.

The dm_env `WorldEnv` stays the reference: this adapter adds no behaviour, only translates. Its
observation space is derived from `WorldEnv.observation_spec()` field by field (dtype and bounds
kept exactly), so an observation's values pass through unchanged and `space.contains(obs)` holds
for every observation the env can emit. One shape differs: the scalar fields (`prev_action`,
`prev_reward`, 0-d in dm_env) are shape (1,) here, because Stable-Baselines3, the library users
of this adapter train with, rejects 0-d Boxes in its `check_env` and its policies' input
preprocessing. The multi-trial episode is one Gymnasium episode: trial boundaries are inside it
(the agent's memory must survive them), and its end is `terminated=True`, because dm_env ends it
with discount 0 (a true end, not a time-out).

Nothing is registered with `gymnasium.register`: construct `GymWorldEnv` directly.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from dm_env import specs
from gymnasium import spaces

from worlds.avatar import NUM_ACTIONS
from worlds.env import TaskSource, WorldEnv
from worlds.task import Task


def spec_to_space(spec: specs.Array) -> spaces.Box:
    """The Box with exactly `spec`'s dtype, shape and bounds. Unbounded float specs become
    (-inf, inf); unbounded integer specs take their dtype's full range."""
    dtype = np.dtype(spec.dtype)
    if isinstance(spec, specs.BoundedArray):
        low = np.broadcast_to(np.asarray(spec.minimum, dtype), spec.shape)
        high = np.broadcast_to(np.asarray(spec.maximum, dtype), spec.shape)
    elif np.issubdtype(dtype, np.floating):
        low = np.full(spec.shape, -np.inf, dtype)
        high = np.full(spec.shape, np.inf, dtype)
    elif np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        low, high = np.full(spec.shape, info.min, dtype), np.full(spec.shape, info.max, dtype)
    else:
        raise TypeError(f"spec {spec.name!r}: dtype {dtype} has no Box equivalent")
    return spaces.Box(low=low.copy(), high=high.copy(), shape=spec.shape, dtype=dtype)


SCALAR_SHAPE = (1,)  # what a 0-d dm_env field becomes in the Gymnasium observation


def gym_space(spec: specs.Array) -> spaces.Box:
    """`spec_to_space(spec)`, with a 0-d spec given shape `SCALAR_SHAPE` (same dtype, bounds)."""
    box = spec_to_space(spec)
    if box.shape != ():
        return box
    return spaces.Box(low=box.low.reshape(SCALAR_SHAPE), high=box.high.reshape(SCALAR_SHAPE),
                      shape=SCALAR_SHAPE, dtype=box.dtype)


class GymWorldEnv(gymnasium.Env):
    """`WorldEnv` as a `gymnasium.Env` with a Dict observation space and Discrete actions.

    `reset(options={"task": task})` switches task (no recompilation); otherwise the fixed task,
    or a fresh one from `task_source` seeded by `reset(seed=...)`. `info` carries "trial"
    (0-based) and "goal_holds", both describing the state of the returned observation: on the
    step that ends a trial that is already the next trial's initial state, while `reward` is
    still the one earned at the end of the finished trial.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, task: Task | None = None, *, task_source: TaskSource | None = None,
                 seed: int = 0, image_size: int = 64, render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: {render_mode!r} is not one of "
                             f"{[None, *self.metadata['render_modes']]}")
        self.render_mode = render_mode
        self.env = WorldEnv(task, task_source=task_source, seed=seed, image_size=image_size)
        self.observation_space = spaces.Dict(
            {k: gym_space(s) for k, s in self.env.observation_spec().items()})
        self._shapes = {k: box.shape for k, box in self.observation_space.spaces.items()}
        self.action_space = spaces.Discrete(NUM_ACTIONS)
        self._last_rgb: np.ndarray | None = None
        self._done = True
        if task is not None:
            self._sync_metadata()

    def _sync_metadata(self) -> None:
        """render_fps follows the task's control rate, so a recorded video plays in real time."""
        if self.env.task is not None:
            self.metadata = {**self.metadata, "render_fps": self.env.task.episode.control_hz}

    def _obs(self, observation: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        # WorldEnv shares read-only token arrays between steps; copies keep callers that write
        # into observations (buffers, frame stacks) from failing or aliasing. Scalars become
        # shape (1,) to match the observation space.
        obs = {k: np.array(v, copy=True).reshape(self._shapes[k]) for k, v in observation.items()}
        self._last_rgb = obs["rgb"]
        return obs

    def _info(self) -> dict[str, Any]:
        return {"trial": self.env.trial, "t_in_trial": self.env.t_in_trial,
                "goal_holds": self.env.goal_holds}

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray],
                                                              dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self.env.rng = np.random.default_rng(seed)
        options = options or {}
        unknown = sorted(set(options) - {"task"})
        if unknown:
            raise ValueError(f"options: unknown key(s) {unknown}; allowed keys are ['task']")
        if "task" in options:
            task = options["task"]
            if not isinstance(task, Task):
                raise TypeError(f"options['task']: expected a worlds.task.Task, got "
                                f"{type(task).__name__}")
            self.env.set_task(task)
        ts = self.env.reset()
        self._sync_metadata()
        self._done = False
        return self._obs(ts.observation), self._info()

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool,
                                         dict[str, Any]]:
        if self._done:
            raise RuntimeError("step(): the episode has ended (or never started); call reset()")
        ts = self.env.step(int(action))
        last = ts.last()
        terminated = last and float(ts.discount) == 0.0
        truncated = last and not terminated
        self._done = last
        return self._obs(ts.observation), float(ts.reward), terminated, truncated, self._info()

    def render(self) -> np.ndarray | None:
        """The agent's first-person frame of the last observation (rgb_array mode)."""
        if self.render_mode != "rgb_array":
            return None
        if self._last_rgb is None:
            raise RuntimeError("render(): call reset() first")
        return self._last_rgb.copy()

    def close(self) -> None:
        self.env.close()
        super().close()
