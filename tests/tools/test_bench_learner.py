"""tools/bench_learner.py: the device option refuses a device that is not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_gpu_is_one_clear_error() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "bench_learner.py"), "--device",
                          "cuda", "--quick"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().endswith("--device cuda: torch sees no CUDA device "
                                       "(torch.cuda.is_available() is False)")
