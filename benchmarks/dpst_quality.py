"""Quality benchmark on the DPST example pairs: our results against the published DPST results.

For each pair, runs the ``stylize-pair`` flow with hand masks at ``--size`` and prints seconds per
stage, then structure, photorealism (matting-Laplacian energy per pixel, x1e4 in the table) and
style distance for our output and for the published result (resized to the same size), and the
medians. Example:

    python benchmarks/dpst_quality.py --size 256 --iterations 200 --init content

Its settings flags are the CLI's (``photostyle stylize --help``), with these defaults: 256 px,
200 iterations per stage from the colour-transfer start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from photostyle.flows.prefect_env import apply_prefect_defaults

apply_prefect_defaults()
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from photostyle.core.artifacts import ArtifactStore  # noqa: E402
from photostyle.core.imageio import load_image, resize_to  # noqa: E402
from photostyle.core.metrics import score_all  # noqa: E402
from photostyle.flows.cli import add_settings_flags, config_from_args  # noqa: E402
from photostyle.flows.stylize_pair import stylize_pair  # noqa: E402
from photostyle.tasks.group import load_pairs  # noqa: E402
from photostyle.tasks.laplacian import load_laplacian  # noqa: E402

PAIRS = (1, 7, 10, 14, 19, 25, 31, 37, 43, 55)
STAGES = ("prepare_content", "segment", "group", "laplacian", "optimize", "finish", "score")
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dpst"
#: The benchmark's settings unless flags say otherwise.
BASE = {"size": 256, "optimizer": {"iterations": 200, "init": "transfer"}}


def _ref(store: ArtifactStore, stage: str, stages: dict):
    """The stored artifact a sidecar's stage entry points to."""
    found = store.get(stage, stages[stage]["key"])
    if found is None:
        raise RuntimeError(f"artifact {stage}/{stages[stage]['key']} missing from {store.root}")
    return found


def run_pair(k: int, args: argparse.Namespace) -> dict:
    """Run one pair through the flow and score the published DPST result the same way."""
    data = Path(args.data)
    out = Path(args.out) / f"out{k}.png"
    sidecar = stylize_pair(
        content=str(data / "input" / f"in{k}.png"),
        style=str(data / "style" / f"tar{k}.png"),
        output=str(out),
        content_mask=str(data / "segmentation" / f"in{k}.png"),
        style_mask=str(data / "segmentation" / f"tar{k}.png"),
        config=args.config,
        artifact_root=str(Path(args.out) / "artifacts"),
    )
    store = ArtifactStore(str(Path(args.out) / "artifacts"))
    stages = sidecar["stages"]
    content = store.read_image(_ref(store, "prepare", {"prepare": stages["prepare_content"]}))
    style = store.read_image(_ref(store, "prepare", {"prepare": stages["prepare_style"]}))
    pairs = load_pairs(store, _ref(store, "group", stages))
    lap = load_laplacian(store, _ref(store, "laplacian", stages))
    published = resize_to(load_image(str(data / "reference" / f"best{k}_t_1000.png")), content.shape[:2])
    theirs = score_all(content, style, published, lap, pairs.content_masks, pairs.style_masks).to_dict()
    seconds = {s: stages[s]["seconds"] if s in stages else 0.0 for s in STAGES}
    return {"pair": k, "seconds": seconds, "ours": sidecar["scores"], "dpst": theirs, "device": sidecar["device"]}


def _fmt_row(label: str, seconds: dict, ours: dict, dpst: dict) -> str:
    secs = " ".join(f"{seconds[s]:7.1f}" for s in STAGES)

    def trio(s: dict) -> str:
        return f"{s['structure']:6.3f} {s['photorealism'] * 1e4:8.3f} {s['style_distance']:7.2f}"

    return f"{label:>6} {secs} | {trio(ours)} | {trio(dpst)}"


def print_table(rows: list[dict]) -> None:
    """Per-pair rows and the medians."""
    head = " ".join(f"{s[:7]:>7}" for s in STAGES)
    print(f"{'pair':>6} {head} | {'ours: struct photo*1e4 style':>29} | {'DPST: struct photo*1e4 style':>29}")
    for r in rows:
        print(_fmt_row(str(r["pair"]), r["seconds"], r["ours"], r["dpst"]))
    med = lambda key, sub: {m: statistics.median(r[key][m] for r in rows) for m in sub}  # noqa: E731
    metrics = ("structure", "photorealism", "style_distance")
    print(_fmt_row("median", med("seconds", STAGES), med("ours", metrics), med("dpst", metrics)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="the dpst folder (input, style, segmentation, reference)")
    p.add_argument("--pairs", default=",".join(map(str, PAIRS)), help="comma-separated pair numbers")
    p.add_argument("--out", default="bench-out", help="folder for outputs, artifacts and results.json")
    add_settings_flags(p)
    args = p.parse_args(argv)
    args.config = config_from_args(args, BASE)
    rows = []
    start = time.perf_counter()
    for k in (int(x) for x in args.pairs.split(",")):
        rows.append(run_pair(k, args))
        print(f"pair {k} done ({time.perf_counter() - start:.0f} s elapsed)", file=sys.stderr, flush=True)
    print(f"# {args.config.model_dump_json()} device={rows[0]['device']}")
    print_table(rows)
    settings = args.config.model_dump(mode="json")
    Path(args.out, "results.json").write_text(json.dumps({"config": settings, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
