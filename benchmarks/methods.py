"""The methods side by side on the DPST example pairs: gatys, dpst and strotss (with and without the
finishing step), each at the same working size with the hand masks, pair by pair in one run.

Prints, per method, the medians of structure, photorealism (x1e4) and style distance (scored as in
``dpst_quality.py``, at the working size) and of the optimisation seconds, and writes a picture of
the first three pairs (content, style, then each method's result) to ``--picture``. Examples:

    python benchmarks/methods.py                                   # ten dev pairs, 256 px
    python benchmarks/methods.py --pairs 1,10,25 --size 128 --picture docs/methods.jpg

Each method runs with its own defaults (``photostyle stylize --help``) apart from ``--size``;
``--iterations`` caps every method's iterations per stage and size when given.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from dpst_quality import DEFAULT_DATA, METRICS, PAIRS, run_flow, score_image
from pictures import contact_sheet

from photostyle.core.config import StyleConfig

#: label -> partial settings; every method's other settings are its defaults. The first runs the
#: segment, group and Laplacian stages whose hand regions and Laplacian score every method.
METHODS = {
    "dpst": {"method": {"name": "dpst"}},
    "gatys": {"method": {"name": "gatys"}},
    "strotss": {"method": {"name": "strotss"}},
    "strotss, no finishing": {"method": {"name": "strotss"}, "finish": {"postprocess": "none"}},
}


def configs(size: int, iterations: int | None, device: str) -> dict[str, StyleConfig]:
    """Each method's settings at the working size, scored there (no upsample stage)."""
    out = {}
    for label, partial in METHODS.items():
        settings = {**partial, "size": size, "device": device, "upsample": {"output_size": "working"}}
        if iterations is not None:
            settings["optimizer"] = {"iterations": iterations}
        out[label] = StyleConfig.model_validate(settings)
    return out


def method_row(k: int, args: argparse.Namespace, config: StyleConfig, label: str) -> dict:
    """One method's run of pair ``k``: its sidecar's stages, optimisation seconds and device."""
    sidecar = run_flow(k, args, config, label)
    stages = sidecar["stages"]
    return {"pair": k, "stages": stages, "optimize_s": stages["optimize"]["seconds"], "device": sidecar["device"]}


def table_row(label: str, rows: list[dict], key: str, seconds: str) -> str:
    """A markdown row of the medians of the three scores in the rows' ``key`` section."""
    med = {m: statistics.median(r[key][m] for r in rows) for m in METRICS}
    scores = f"{med['structure']:.3f} | {med['photorealism'] * 1e4:.2f} | {med['style_distance']:.2f}"
    return f"| {label} | {scores} | {seconds} |"


def picture(rows: dict[str, list[dict]], data: Path, out: Path, labels: list[str], target: Path) -> None:
    """A grid: one row per pair (its first three), columns content, style, then each method."""
    pairs = [r["pair"] for r in rows[labels[0]][:3]]
    grid = [
        [data / "input" / f"in{k}.png", data / "style" / f"tar{k}.png"]
        + [out / f"out{k}-{labels.index(label)}.png" for label in labels]
        for k in pairs
    ]
    contact_sheet(grid, ["content", "style", *labels], target)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="the dpst folder (input, style, segmentation, reference)")
    p.add_argument("--pairs", default=",".join(map(str, PAIRS)), help="comma-separated pair numbers")
    p.add_argument("--out", default="bench-out/methods", help="folder for outputs, artifacts and results.json")
    p.add_argument("--size", type=int, default=256, help="working size, long side, for every method")
    p.add_argument("--iterations", type=int, help="cap on every method's iterations per stage and size")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--picture", default="bench-out/methods/methods.jpg", help="where the picture goes")
    args = p.parse_args(argv)
    settings = configs(args.size, args.iterations, args.device)
    labels = list(settings)
    rows: dict[str, list[dict]] = {label: [] for label in labels}
    start = time.perf_counter()
    for k in (int(x) for x in args.pairs.split(",")):
        for i, label in enumerate(labels):
            rows[label].append(method_row(k, args, settings[label], f"-{i}"))
        reference = rows[labels[0]][-1]["stages"]
        for i, label in enumerate(labels):
            rows[label][-1]["ours"] = score_image(args, reference, Path(args.out) / f"out{k}-{i}.png")
        rows[labels[0]][-1]["dpst"] = score_image(
            args, reference, Path(args.data) / "reference" / f"best{k}_t_1000.png"
        )
        print(f"pair {k} done ({time.perf_counter() - start:.0f} s elapsed)", file=sys.stderr, flush=True)
    print(f"# {args.size} px, pairs {args.pairs}, device {rows[labels[0]][0]['device']}")
    print("| method | structure | photorealism x1e4 | style distance | optimize seconds |")
    print("|---|---|---|---|---|")
    for label in labels:
        secs = statistics.median(r["optimize_s"] for r in rows[label])
        print(table_row(label, rows[label], "ours", f"{secs:.1f}"))
    print(table_row("published DPST", rows[labels[0]], "dpst", ""))
    picture(rows, Path(args.data), Path(args.out), labels, Path(args.picture))
    results = {label: {"config": settings[label].model_dump(mode="json"), "rows": rows[label]} for label in labels}
    Path(args.out, "results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
