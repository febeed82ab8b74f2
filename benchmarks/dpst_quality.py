"""Quality benchmark on the DPST example pairs: our results against the published DPST results.

For each pair, runs the ``stylize-pair`` flow with hand masks and prints seconds per stage, then
structure, photorealism (matting-Laplacian energy per pixel, x1e4 in the table) and style distance
for our output and for the published result (resized to the working size), and the medians.
Scores are taken at the working size. Examples:

    python benchmarks/dpst_quality.py                       # the default settings
    python benchmarks/dpst_quality.py --compare             # and version 0.2's benchmark settings, side by side
    python benchmarks/dpst_quality.py --preset paper --pairs 1

Its settings flags are the CLI's (``photostyle stylize --help``, ``--preset``). ``--compare`` runs
each pair with version 0.2's benchmark settings too (256 px, 200 + 200 L-BFGS iterations from the
colour-transfer start, photorealism weight 1e4, smooth local affine, output at the working size), one right after the
other, and prints the ratio of the medians' optimisation seconds.
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
from photostyle.core.config import DPST_PHOTO_WEIGHT, StyleConfig  # noqa: E402
from photostyle.core.imageio import load_image, resize_to  # noqa: E402
from photostyle.core.metrics import score_all  # noqa: E402
from photostyle.flows.cli import add_settings_flags, config_from_args  # noqa: E402
from photostyle.flows.stylize_pair import stylize_pair  # noqa: E402
from photostyle.tasks.group import load_pairs  # noqa: E402
from photostyle.tasks.laplacian import load_laplacian  # noqa: E402

PAIRS = (1, 7, 10, 14, 19, 25, 31, 37, 43, 55)
STAGES = ("prepare_content", "segment", "group", "laplacian", "optimize", "finish", "upsample", "score")
METRICS = ("structure", "photorealism", "style_distance")
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dpst"
#: Version 0.2's benchmark settings, which ``--compare`` runs beside the settings asked for.
V02_BENCHMARK = {
    "size": 256,
    "method": {"name": "dpst", "photo_weight": DPST_PHOTO_WEIGHT},
    "optimizer": {"iterations": 200, "init": "transfer", "scales": 1, "tolerance": 0.0},
    "finish": {"postprocess": "affine"},
    "upsample": {"output_size": "working"},
}


def _ref(store: ArtifactStore, stage: str, stages: dict):
    """The stored artifact a sidecar's stage entry points to."""
    found = store.get(stage, stages[stage]["key"])
    if found is None:
        raise RuntimeError(f"artifact {stage}/{stages[stage]['key']} missing from {store.root}")
    return found


def run_flow(
    k: int, args: argparse.Namespace, config: StyleConfig, label: str = "", style_mask: Path | None = None
) -> dict:
    """Run one pair through the ``stylize-pair`` flow with its hand masks (or another style mask);
    its sidecar."""
    data = Path(args.data)
    return stylize_pair(
        content=str(data / "input" / f"in{k}.png"),
        style=str(data / "style" / f"tar{k}.png"),
        output=str(Path(args.out) / f"out{k}{label}.png"),
        content_mask=str(data / "segmentation" / f"in{k}.png"),
        style_mask=str(style_mask or data / "segmentation" / f"tar{k}.png"),
        config=config,
        artifact_root=str(Path(args.out) / "artifacts"),
    )


def score_image(args: argparse.Namespace, stages: dict, image_path: Path) -> dict:
    """Scores of the image at ``image_path``, resized to the working size, over the paired regions
    and with the matting Laplacian of the run whose sidecar ``stages`` are given."""
    store = ArtifactStore(str(Path(args.out) / "artifacts"))
    content = store.read_image(_ref(store, "prepare", {"prepare": stages["prepare_content"]}))
    style = store.read_image(_ref(store, "prepare", {"prepare": stages["prepare_style"]}))
    pairs = load_pairs(store, _ref(store, "group", stages))
    lap = load_laplacian(store, _ref(store, "laplacian", stages))
    image = resize_to(load_image(str(image_path)), content.shape[:2])
    return score_all(content, style, image, lap, pairs.content_masks, pairs.style_masks).to_dict()


def run_pair(k: int, args: argparse.Namespace, config: StyleConfig, label: str = "") -> dict:
    """Run one pair through the flow and score the published DPST result the same way."""
    sidecar = run_flow(k, args, config, label)
    stages = sidecar["stages"]
    theirs = score_image(args, stages, Path(args.data) / "reference" / f"best{k}_t_1000.png")
    seconds = {s: stages[s]["seconds"] if s in stages else 0.0 for s in STAGES}
    return {"pair": k, "seconds": seconds, "ours": sidecar["scores"], "dpst": theirs, "device": sidecar["device"]}


def _fmt_row(label: str, seconds: dict, ours: dict, dpst: dict) -> str:
    secs = " ".join(f"{seconds[s]:7.1f}" for s in STAGES)

    def trio(s: dict) -> str:
        return f"{s['structure']:6.3f} {s['photorealism'] * 1e4:8.3f} {s['style_distance']:7.2f}"

    return f"{label:>6} {secs} | {trio(ours)} | {trio(dpst)}"


def medians(rows: list[dict], key: str, names: tuple[str, ...]) -> dict[str, float]:
    """The median of each of ``names`` in the rows' ``key`` section."""
    return {m: statistics.median(r[key][m] for r in rows) for m in names}


def print_table(rows: list[dict]) -> None:
    """Per-pair rows and the medians."""
    head = " ".join(f"{s[:7]:>7}" for s in STAGES)
    print(f"{'pair':>6} {head} | {'ours: struct photo*1e4 style':>29} | {'DPST: struct photo*1e4 style':>29}")
    for r in rows:
        print(_fmt_row(str(r["pair"]), r["seconds"], r["ours"], r["dpst"]))
    print(
        _fmt_row(
            "median", medians(rows, "seconds", STAGES), medians(rows, "ours", METRICS), medians(rows, "dpst", METRICS)
        )
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="the dpst folder (input, style, segmentation, reference)")
    p.add_argument("--pairs", default=",".join(map(str, PAIRS)), help="comma-separated pair numbers")
    p.add_argument("--out", default="bench-out", help="folder for outputs, artifacts and results.json")
    p.add_argument("--compare", action="store_true", help="also run version 0.2's benchmark settings, pair by pair")
    add_settings_flags(p)
    args = p.parse_args(argv)
    configs = {"": config_from_args(args)}
    if args.compare:
        configs["-v02"] = StyleConfig.model_validate({**V02_BENCHMARK, "device": configs[""].device})
    rows: dict[str, list[dict]] = {label: [] for label in configs}
    start = time.perf_counter()
    for k in (int(x) for x in args.pairs.split(",")):
        for label, config in configs.items():
            rows[label].append(run_pair(k, args, config, label))
        print(f"pair {k} done ({time.perf_counter() - start:.0f} s elapsed)", file=sys.stderr, flush=True)
    for label, config in configs.items():
        print(f"# {config.model_dump_json()} device={rows[label][0]['device']}")
        print_table(rows[label])
    if args.compare:
        new, old = (medians(rows[label], "seconds", ("optimize",))["optimize"] for label in configs)
        print(f"median optimize seconds: {new:.1f} against {old:.1f} with version 0.2's settings ({new / old:.2f}x)")
    results = {
        label or "settings": {"config": configs[label].model_dump(mode="json"), "rows": rows[label]}
        for label in configs
    }
    Path(args.out, "results.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
