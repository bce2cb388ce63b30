"""Where ada's config tree is, in a checkout and in an installed distribution.

The Hydra config tree (train.yaml, render.yaml, evaluate.yaml, their groups, and the world
families under world/) stays at the repository's top level, configs/, where the README's paths
point, and ships inside the distribution as the package `ada.configs` (pyproject.toml maps that
package onto configs/), so a non-editable `pip install .` finds it without the source tree.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[1]


def config_dir() -> Path:
    """The config tree that belongs to this copy of `ada`.

    From a checkout (run from source, or an editable install) it is the checkout's own configs/,
    even if some other copy of ada is installed too, so code and configs always come from the
    same tree; from an installed distribution it is the package `ada.configs`."""
    source = _CHECKOUT / "configs"
    if (source / "train.yaml").is_file() and (_CHECKOUT / "pyproject.toml").is_file():
        return source
    return Path(str(importlib.resources.files("ada.configs")))
