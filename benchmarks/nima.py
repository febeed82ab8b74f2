"""NIMA on the DPST example pairs: the bundled model's scores of the published DPST results against
plain Gatys results of the same pair (at the project's defaults, and at the settings Gatys is
published with: noise start, 1000 L-BFGS iterations at one scale, no early stop), and the effect
of ``--nima-weight`` on DPST (the same pairs with and without the quality term, one right after
the other, in one run).

Every image is scored at the working size (the published results resized to it) with the hand
regions and Laplacian of the plain DPST run. Shares its artifacts with ``methods.py`` (the same
out folder), so runs already made there are reused. Example:

    python benchmarks/nima.py                                  # ten dev pairs, W = 1e5
    python benchmarks/nima.py --pairs 1,10 --nima-weight 3e5
    python benchmarks/nima.py --models "new/technical.pt#sha256=$(cut -c1-64 new/technical.pt.sha256)"

``--models`` checks a retrained model before it replaces the bundled one: only the Gatys runs at
the project's defaults are made, and each model (the bundled one first) says how far it puts the
published DPST results above them. A model trained on the synthetic distortions alone can rank
their levels well and still mind a painted texture less.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from dpst_quality import DEFAULT_DATA, PAIRS, run_flow, score_image

from photostyle.core.config import StyleConfig
from photostyle.core.imageio import load_image, resize_to
from photostyle.core.nima import load_nima, nima_scores

COLUMNS = ("nima_mean", "structure", "photorealism", "style_distance")
#: The Gatys run at the settings it is published with.
GATYS_OWN = "gatys, its own settings"
#: The Gatys run at the project's defaults, the one ``--models`` compares against.
GATYS_DEFAULTS = "gatys, no finishing"


def settings(size: int, device: str, weight: float, own_gatys: bool = True) -> dict[str, StyleConfig]:
    """The runs of a pair: DPST with and without the quality term, and plain Gatys (no finishing)
    at the project's defaults and at its own published settings."""
    base = {"size": size, "device": device, "upsample": {"output_size": "working"}}
    runs = {
        "dpst": {"method": {"name": "dpst"}},
        f"dpst, nima weight {weight:g}": {"method": {"name": "dpst", "nima_weight": weight}},
        GATYS_DEFAULTS: {"method": {"name": "gatys"}, "finish": {"postprocess": "none"}},
        GATYS_OWN: {
            "method": {"name": "gatys"},
            "finish": {"postprocess": "none"},
            "optimizer": {"init": "noise", "iterations": 1000, "scales": 1, "tolerance": 0.0},
        },
    }
    if not own_gatys:
        del runs[GATYS_OWN]
    return {label: StyleConfig.model_validate({**base, **partial}) for label, partial in runs.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="the dpst folder")
    p.add_argument("--pairs", default=",".join(map(str, PAIRS)), help="comma-separated pair numbers")
    p.add_argument("--out", default="bench-out/methods", help="outputs and artifacts (shared with methods.py)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--nima-weight", type=float, default=1e5, help="W of the quality term W x (10 - mean)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument(
        "--no-own-gatys", action="store_true", help="leave out Gatys at its own settings (6-14 min a pair on 2 cores)"
    )
    p.add_argument(
        "--models",
        default="",
        help="comma-separated NIMA weights (URI#sha256=HEX) to compare with the bundled model on the published"
        " DPST results against the Gatys runs at the project's defaults; only those runs are made",
    )
    args = p.parse_args(argv)
    if args.models:
        return compare_models(args, [load_nima()] + [load_nima(spec) for spec in args.models.split(",")])
    runs = settings(args.size, args.device, args.nima_weight, not args.no_own_gatys)
    model = load_nima()
    rows: dict[str, list[dict]] = {label: [] for label in [*runs, "published DPST"]}
    for k in (int(x) for x in args.pairs.split(",")):
        sidecars = {label: run_flow(k, args, config, f"-nima{i}") for i, (label, config) in enumerate(runs.items())}
        reference = sidecars["dpst"]["stages"]
        shape = load_image(sidecars["dpst"]["output"]).shape[:2]
        for label, sidecar in sidecars.items():
            image = load_image(sidecar["output"])
            row = score_image(args, reference, Path(sidecar["output"])) | nima_scores(model, image)
            rows[label].append({"pair": k, **row, "optimize_s": sidecar["stages"]["optimize"]["seconds"]})
        published = Path(args.data) / "reference" / f"best{k}_t_1000.png"
        image = resize_to(load_image(str(published)), shape)
        rows["published DPST"].append(
            {"pair": k, **score_image(args, reference, published), **nima_scores(model, image)}
        )
        line = ", ".join(f"{label} {r[-1]['nima_mean']:.2f}" for label, r in rows.items())
        print(f"pair {k}: NIMA mean {line}", file=sys.stderr, flush=True)
    print(f"# {args.size} px, pairs {args.pairs}, NIMA model {model.model_id}")
    print("| run | NIMA mean | structure | photorealism x1e4 | style distance | optimize seconds |")
    print("|---|---|---|---|---|---|")
    for label, rs in rows.items():
        med = {c: statistics.median(r[c] for r in rs) for c in COLUMNS}
        secs = f"{statistics.median(r['optimize_s'] for r in rs):.1f}" if "optimize_s" in rs[0] else ""
        print(
            f"| {label} | {med['nima_mean']:.2f} | {med['structure']:.3f} | {med['photorealism'] * 1e4:.2f} "
            f"| {med['style_distance']:.2f} | {secs} |"
        )
    for label in [r for r in runs if r.startswith("gatys")]:
        above = sum(p["nima_mean"] > g["nima_mean"] for p, g in zip(rows["published DPST"], rows[label]))
        print(f"published DPST above {label} on {above} of {len(rows['dpst'])} pairs")
    Path(args.out, "nima.json").write_text(json.dumps(rows, indent=2))
    return 0


def compare_models(args: argparse.Namespace, models: list) -> int:
    """Each model's gap between the published DPST result and the Gatys result (project defaults,
    no finishing) of every pair: how many pairs it puts the published result above, the smallest
    and the median gap, and every pair's. A model named twice (the bundled one again) is listed once."""
    models = list({m.model_id: m for m in models}.values())
    runs = settings(args.size, args.device, args.nima_weight)
    label = f"-nima{list(runs).index(GATYS_DEFAULTS)}"  # the file name the full benchmark gives this run
    pairs = [int(x) for x in args.pairs.split(",")]
    gaps: dict[str, list[float]] = {m.model_id: [] for m in models}
    for k in pairs:
        result = load_image(run_flow(k, args, runs[GATYS_DEFAULTS], label)["output"])
        published = resize_to(load_image(str(Path(args.data) / "reference" / f"best{k}_t_1000.png")), result.shape[:2])
        for m in models:
            gaps[m.model_id].append(nima_scores(m, published)["nima_mean"] - nima_scores(m, result)["nima_mean"])
        print(f"pair {k}: " + ", ".join(f"{i} {g[-1]:+.2f}" for i, g in gaps.items()), file=sys.stderr, flush=True)
    print(f"# {args.size} px, NIMA mean of the published DPST result less that of {GATYS_DEFAULTS}")
    print("| model | published above | smallest gap | median gap | " + " | ".join(map(str, pairs)) + " |")
    print("|---|---|---|---|" + "---|" * len(pairs))
    for model_id, g in gaps.items():
        row = " | ".join(f"{x:+.2f}" for x in g)
        above = sum(x > 0 for x in g)
        print(f"| {model_id} | {above} of {len(g)} | {min(g):+.2f} | {statistics.median(g):+.2f} | {row} |")
    Path(args.out, "nima-models.json").write_text(json.dumps(gaps, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
