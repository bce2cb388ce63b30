"""Writes a fixed benchmark of train and held-out test tasks for one family, as JSONL.

    python tools/make_benchmark.py --family default --n-train 1000 --n-test 200 --seed 0 \
        --out benchmark/

Writes OUT/train.jsonl and OUT/test.jsonl (one canonical Task JSON per line) and
OUT/manifest.json (family config, seed, split and its id, counts). Test tasks come from the
held-out side of the split, train tasks never do, so a score on test.jsonl measures
generalisation. Files are written to a temporary name and renamed, so a crash never leaves a
truncated benchmark behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from worlds.generator import TaskGenerator, load_family
from worlds.split import Split
from worlds.task import Task


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def to_jsonl(tasks: list[Task]) -> str:
    return "".join(t.to_json() + "\n" for t in tasks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write train/test task sets (JSONL) for a family.")
    ap.add_argument("--family", default="default",
                    help="a family name under configs/world/ or a path to a YAML file")
    ap.add_argument("--n-train", type=int, default=1000)
    ap.add_argument("--n-test", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0,
                    help="train tasks use this seed, test tasks seed + 1")
    ap.add_argument("--heldout-fraction", type=float, default=Split.heldout_fraction)
    ap.add_argument("--salt", default=Split.salt)
    ap.add_argument("--out", type=Path, default=Path("benchmark"))
    args = ap.parse_args(argv)
    if args.n_train < 0 or args.n_test < 0:
        ap.error("--n-train and --n-test must be >= 0")

    family = load_family(args.family)
    split = Split(heldout_fraction=args.heldout_fraction, salt=args.salt)
    train = TaskGenerator(family, split.with_role("train")).generate(args.seed, args.n_train)
    test = (TaskGenerator(family, split.with_role("test")).generate(args.seed + 1, args.n_test)
            if args.n_test else [])
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out / "train.jsonl", to_jsonl(train))
    atomic_write(args.out / "test.jsonl", to_jsonl(test))
    manifest = {
        "family": family.to_dict(), "seed": args.seed,
        "split": {"name": split.name, "heldout_fraction": split.heldout_fraction,
                  "salt": split.salt, "split_id": split.split_id},
        "n_train": len(train), "n_test": len(test),
    }
    atomic_write(args.out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    print(f"family {family.name}: {len(train)} train, {len(test)} test tasks -> {args.out}/ "
          f"(split {split.name}, id {split.split_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
