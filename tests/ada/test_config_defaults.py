"""One source of defaults: the YAML group files restate the code's defaults, never disagree.

Hydra needs every key in the YAML (an override of a missing key would need `+`), so the files
list every field; the dataclasses (and the agent size presets) are the source. A group option
that exists to change defaults (runtime=ray, curriculum=noop) names the fields it changes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from ada.config import RuntimeConfig
from ada.envs import env_kind
from ada.learning.learner import VTraceConfig
from agents.agent import AGENT_SIZES
from curriculum.config import CurriculumConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def load(group: str, name: str) -> dict[str, Any]:
    return yaml.safe_load((CONFIGS / group / f"{name}.yaml").read_text())


def differences(values: dict[str, Any], defaults: dict[str, Any], where: str) -> set[str]:
    """The fields of `values` that differ from `defaults` (an unknown field fails)."""
    out = set()
    for key, value in values.items():
        assert key in defaults, f"{where}: {key} is not a field"
        default = defaults[key]
        if isinstance(default, tuple):
            default = list(default)
        if isinstance(value, dict) and isinstance(default, dict):
            out |= {f"{key}.{k}" for k in differences(value, default, f"{where}.{key}")}
        elif value != default:
            out.add(key)
    return out


def test_the_default_runtime_is_the_code_default_and_ray_names_what_it_changes() -> None:
    code = dataclasses.asdict(RuntimeConfig())
    assert differences(load("runtime", "inline"), code, "runtime/inline") == set()
    assert differences(load("runtime", "ray"), code, "runtime/ray") == {
        "backend", "num_actors", "envs_per_actor"}


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONFIGS / "agent").glob("*.yaml")))
def test_every_agent_file_is_its_size_preset(name: str) -> None:
    values = load("agent", name)
    size = values.pop("size")
    assert size == name, "each agent file is the preset of its own name"
    preset = dataclasses.asdict(AGENT_SIZES[size])
    assert set(values) == set(preset)
    assert differences(values, preset, f"agent/{name}") == set()


def test_the_learner_and_env_files_are_the_code_defaults() -> None:
    algo = load("algo", "vtrace")
    assert algo.pop("name") == "vtrace"
    assert differences(algo, dataclasses.asdict(VTraceConfig()), "algo/vtrace") == set()
    for path in sorted((CONFIGS / "env").glob("*.yaml")):
        values = load("env", path.stem)
        defaults = dataclasses.asdict(env_kind(values["kind"]).config())
        assert differences(values, defaults, f"env/{path.stem}") == set(), path.stem


def test_curricula_restate_the_code_defaults_except_noops_small_buffer() -> None:
    code = dataclasses.asdict(CurriculumConfig())
    for name in ("uniform", "plr", "noop_plr"):
        assert differences(load("curriculum", name), code, name) == {"kind"} - (
            {"kind"} if name == "uniform" else set()), name
    assert differences(load("curriculum", "noop"), code, "noop") == {
        "kind", "plr.capacity", "plr.min_fill"}
