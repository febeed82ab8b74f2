"""float32 against bfloat16 passes (``--precision``) on the DPST pairs with their hand masks.

For each pair, the method runs at the working size with the project's defaults twice, once per
precision (the order alternating from pair to pair, so neither always runs first), through the core
functions alone (no Prefect). Prints, per pair and in median, the seconds of the optimisation and
finishing step and the finished result's structure, photorealism (x1e4) and style distance over
the hand regions, and the ratio of the times. Example:

    python benchmarks/precision.py                       # dpst on the ten dev pairs, 256 px
    python benchmarks/precision.py --method strotss --size 128 --pairs 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from dpst_quality import DEFAULT_DATA, PAIRS
from segmentation import hand_labels, prepared

from photostyle.core.config import StyleConfig
from photostyle.core.laplacian import matting_laplacian
from photostyle.core.metrics import score_all
from photostyle.core.regions import pair_regions
from photostyle.core.stylize import stylize

PRECISIONS = ("float32", "bfloat16")


def run_pair(k: int, args: argparse.Namespace) -> dict[str, tuple[float, float, float, float]]:
    """Pair ``k`` in each precision: seconds, structure, photorealism x1e4, style distance."""
    images = [prepared(args.data / sub / f"{p}{k}.png", args.size) for p, sub in (("in", "input"), ("tar", "style"))]
    regions = pair_regions(*hand_labels(args.data, k, [im.shape[:2] for im in images]))
    masks = regions.content_masks, regions.style_masks
    laplacian = matting_laplacian(images[0])
    rows = {}
    for precision in PRECISIONS if k % 2 else PRECISIONS[::-1]:
        config = StyleConfig.model_validate(
            {"device": args.device, "method": args.method, "optimizer": {"precision": precision}}
        )
        began = time.perf_counter()
        result = stylize(images[0], images[1], config, *masks, laplacian)
        seconds = time.perf_counter() - began
        scores = score_all(images[0], images[1], result.image, laplacian, *masks)
        rows[precision] = (seconds, scores.structure, scores.photorealism * 1e4, scores.style_distance)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the dpst folder (input, style, segmentation)")
    p.add_argument("--pairs", default=",".join(map(str, PAIRS)), help="comma-separated pair numbers")
    p.add_argument("--method", default="dpst", help="the method, at its defaults")
    p.add_argument("--size", type=int, default=256, help="working size, long side")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = p.parse_args(argv)
    results = {}
    print("pair precision seconds structure photo*1e4 style", flush=True)
    for k in (int(x) for x in args.pairs.split(",")):
        results[k] = run_pair(k, args)
        for precision, row in results[k].items():
            print(f"{k:4d} {precision:9s} {row[0]:7.1f} {row[1]:9.3f} {row[2]:9.2f} {row[3]:5.2f}", flush=True)
    for precision in PRECISIONS:
        medians = [statistics.median(r[precision][i] for r in results.values()) for i in range(4)]
        print(f"median {precision:9s} " + " ".join(f"{m:.3f}" for m in medians))
    ratios = [r["bfloat16"][0] / r["float32"][0] for r in results.values()]
    print(f"seconds bfloat16 / float32: median {statistics.median(ratios):.2f}, {min(ratios):.2f}-{max(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
