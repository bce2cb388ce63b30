"""Acting memoises goal / rules encodings per distinct row: same outputs, each row encoded once,
fresh after new weights, never used under autograd (the learner)."""

from __future__ import annotations

import numpy as np
import torch
from dm_env import specs

from agents.encoders import ObservationEncoder

SPEC = {"goal": specs.BoundedArray((6,), np.int32, 0, 19, name="goal"),
        "proprio": specs.Array((3,), np.float32, name="proprio")}


def _obs(rows: np.ndarray) -> dict[str, torch.Tensor]:
    n = len(rows)
    return {"goal": torch.as_tensor(rows, dtype=torch.int32)[None],
            "proprio": torch.zeros(1, n, 3)}


def test_memo_gives_the_same_features_and_encodes_each_row_once() -> None:
    torch.manual_seed(0)
    enc = ObservationEncoder(SPEC, None, 16, token_dim=8, token_queries=2).eval()
    rows = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 0, 0, 0, 0], [1, 2, 3, 0, 0, 0],
                     [0, 0, 0, 0, 0, 0]])
    with torch.inference_mode():
        plain = enc(_obs(rows))
        enc.memoise_tokens()
        memo = enc.token_memos["goal"]
        first, again = enc(_obs(rows)), enc(_obs(rows[::-1].copy()))
    torch.testing.assert_close(first, plain, rtol=0, atol=1e-6)
    torch.testing.assert_close(again, plain.flip(1), rtol=0, atol=1e-6)
    assert memo.encoded == 3  # three distinct rows, encoded once over both calls
    # new weights (an actor syncing) empty the memo: the features follow the weights
    with torch.no_grad():
        for p in enc.tokens["goal"].parameters():
            p.add_(0.5)
    with torch.inference_mode():
        enc.token_memos = None
        moved = enc(_obs(rows))
        enc.token_memos = {"goal": memo}
        remembered = enc(_obs(rows))
    torch.testing.assert_close(remembered, moved, rtol=0, atol=1e-6)
    assert not torch.allclose(moved, plain) and memo.encoded == 6
    # under autograd (the learner) the memo is not consulted
    out = enc(_obs(rows))
    out.sum().backward()
    assert memo.encoded == 6 and enc.tokens["goal"].token.weight.grad is not None
