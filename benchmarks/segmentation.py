"""Automatic segmentation against the hand masks of the DPST example pairs.

1. Regions: for each pair, the automatic regions (segment + group, as the pipeline pairs them)
   against the hand masks: mIoU after the best one-to-one matching of regions (intersections and
   unions summed over content and style, since region k must mean the same in both). Beside it,
   ``nested_miou``'s two figures: the mIoU with finer regions forgiven (each automatic region
   joined to the hand region it mostly covers) and with coarser ones forgiven, and for each part
   which pairs under 0.7 miss by granularity and which by regions that cut across the hand ones.
2. Proxy (``--proxy``, seconds a pair): each content region's Lab mean and spread matched to its
   style region's (the colour-transfer start of ``dpst``), once with the automatic regions, once
   with the hand masks and once with the whole images as one region; the style distance of each
   result over the hand regions, as a ratio to the hand masks'. It moves with the full runs' style
   distance (it overstates changes) and is the quick way to try segmentation settings. It sees
   nothing of photorealism.
   ``--short N`` (minutes for the ten pairs): ``dpst`` itself, N + N iterations from the
   colour-transfer start at half the size, with the automatic regions (downsized, soft borders as
   the optimize stage gives them) and with the hand masks; photorealism and style distance over
   the hand regions as ratios auto / hand. At ``--size 256 --short 50`` it ranked the ten pairs'
   full-run ratios with Spearman 0.88 (photorealism) and 0.95 (style distance), measured before
   soft borders. Small changes to the regions can move one pair's ratios by 10-30 %, so read it
   as a median over the ten pairs.
3. Quality (``--quality``): the ``stylize-pair`` flow run twice per pair, with the hand masks and
   with none (automatic segmentation), both outputs scored the same way: structure,
   photorealism (matting-Laplacian energy per pixel) and style distance measured over the *hand*
   regions, so the two runs are judged by one yardstick. Prints ratios auto / hand and medians.
   ``--variants hand`` makes only the hand-mask runs (e.g. ahead of a change to the segmenter).
4. Repeats: ``--jitter SEED`` first adds seeded noise of up to one grey level to the content
   photos (a copy under ``--out``), a second sample of every pair: one run's ratios move by
   10-30 % when a few percent of its labels change. ``--combine DIR,DIR,...`` then takes the
   runs' results.json together: per pair the median ratio over the runs, the median of those
   over the pairs, and how far the hand-mask runs moved between runs (the benchmark's own noise).

    python benchmarks/segmentation.py --size 350
    python benchmarks/segmentation.py --size 256 --proxy [--regions 4]
    python benchmarks/segmentation.py --size 256 --short 50
    python benchmarks/segmentation.py --size 256 --quality --iterations 200
    python benchmarks/segmentation.py --size 256 --quality --iterations 200 --jitter 1 --out J1
    python benchmarks/segmentation.py --combine bench-out/segmentation,J1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from pictures import contact_sheet

from photostyle.flows.prefect_env import apply_prefect_defaults

apply_prefect_defaults()
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from photostyle.core.colour import region_colour_transfer  # noqa: E402
from photostyle.core.config import StyleConfig  # noqa: E402
from photostyle.core.imageio import decode_image, encode_image, load_image, resize_long_side  # noqa: E402
from photostyle.core.laplacian import matting_laplacian  # noqa: E402
from photostyle.core.masks import LabelMap, fit_mask, load_mask  # noqa: E402
from photostyle.core.metrics import matched_miou, nested_miou, score_all, style_distance  # noqa: E402
from photostyle.core.regions import RegionPairs, optimisation_masks, pair_regions, single_region  # noqa: E402
from photostyle.core.segmentation import SegmentInputs, group_pair, segmenter_for  # noqa: E402
from photostyle.flows.cli import add_settings_flags, config_from_args  # noqa: E402

#: The thirty pairs in shared/data/dpst; the first ten are the tuning part (the rules were chosen
#: on them), the other twenty the held-out part, reported apart.
TUNING = (1, 7, 10, 14, 19, 25, 31, 37, 43, 55)
HELD_OUT = (6, 9, 11, 13, 20, 22, 24, 30, 32, 33, 35, 36, 39, 41, 44, 48, 52, 56, 57, 58)
PAIRS = TUNING + HELD_OUT
#: The benchmark's settings unless flags say otherwise; results are scored at the working size.
BASE = {"size": 350, "optimizer": {"iterations": 200, "init": "transfer"}, "upsample": {"output_size": "working"}}
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dpst"


def hand_labels(data: Path, k: int, shapes: list[tuple[int, int]]) -> list[LabelMap]:
    """The pair's hand masks at the given (content, style) shapes, over one shared list of names."""
    maps = []
    for prefix, sub, shape in (("in", "input", shapes[0]), ("tar", "style", shapes[1])):
        photo = load_image(str(data / sub / f"{prefix}{k}.png"))
        mask_uri = str(data / "segmentation" / f"{prefix}{k}.png")
        maps.append(fit_mask(load_mask(mask_uri), photo.shape[:2], shape, mask_uri))
    names = sorted(set(maps[0].names) | set(maps[1].names))
    index = {n: i for i, n in enumerate(names)}
    return [LabelMap(np.array([index[n] for n in m.names], dtype=np.int32)[m.labels], names) for m in maps]


def prepared(path: Path, size: int) -> np.ndarray:
    """The photo as the prepare stage stores it: resized, then rounded to 8 bits (the flow's
    segmentation sees these pixels)."""
    return decode_image(encode_image(resize_long_side(load_image(str(path)), size)), str(path))


def jittered_data(data: Path, out: Path, seed: int, pairs: list[int]) -> Path:
    """A copy of the dpst folder whose content photos carry seeded noise of up to one grey level
    (styles and masks linked as they are): a second sample of a pair, since a run's ratios move by
    10-30 % when a few percent of its labels change."""
    from PIL import Image

    root = out / f"jitter{seed}"
    for sub in ("style", "segmentation"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for f in sorted((data / sub).iterdir()):
            if not (root / sub / f.name).exists():
                (root / sub / f.name).symlink_to(f.resolve())
    (root / "input").mkdir(parents=True, exist_ok=True)
    for k in pairs:
        photo = np.asarray(Image.open(data / "input" / f"in{k}.png").convert("RGB"), dtype=np.int16)
        noise = np.random.default_rng([seed, k]).integers(-1, 2, size=photo.shape, dtype=np.int16)
        Image.fromarray(np.clip(photo + noise, 0, 255).astype(np.uint8)).save(root / "input" / f"in{k}.png")
    return root


def transfer_distance(images: list[np.ndarray], regions: RegionPairs, hand: RegionPairs) -> float:
    """Style distance over the hand regions of the per-region colour transfer on ``regions``."""
    out = region_colour_transfer(images[0], images[1], regions.content_masks, regions.style_masks)
    return style_distance(out, images[1], hand.content_masks, hand.style_masks)


def proxy_ratios(images: list[np.ndarray], auto: RegionPairs, truth: list[LabelMap]) -> dict:
    """Colour-transfer proxy: style distance with automatic regions and with one whole-image
    region, each over the hand masks' (both measured over the hand regions)."""
    hand = pair_regions(*truth)
    whole = pair_regions(single_region(images[0].shape[:2]), single_region(images[1].shape[:2]))
    base = transfer_distance(images, hand, hand)
    return {
        "auto": transfer_distance(images, auto, hand) / base,
        "one_region": transfer_distance(images, whole, hand) / base,
    }


def downsized(regions: RegionPairs, shapes: list[tuple[int, int]]) -> RegionPairs:
    """Paired regions brought to smaller (content, style) shapes (nearest)."""
    maps = [
        LabelMap(m.argmax(0).astype(np.int32), list(regions.names))
        for m in (regions.content_masks, regions.style_masks)
    ]
    small = pair_regions(*(fit_mask(m, m.labels.shape, shape, "regions") for m, shape in zip(maps, shapes)))
    small.soft_borders = regions.soft_borders
    return small


def short_ratios(
    images: list[np.ndarray], auto: RegionPairs, data: Path, k: int, iterations: int, config: StyleConfig
) -> dict:
    """Short ``dpst`` proxy: photorealism and style distance (over the hand regions) of a short run
    at half the size with the automatic regions, each over the same run's with the hand masks'."""
    from photostyle.core.stylize import stylize

    small = [resize_long_side(im, max(im.shape[:2]) // 2) for im in images]
    shapes = [im.shape[:2] for im in small]
    hand = pair_regions(*hand_labels(data, k, shapes))
    laplacian = matting_laplacian(small[0])
    short = StyleConfig.model_validate(
        {"device": config.device, "optimizer": {"iterations": iterations, "init": "transfer"}}
    )
    scores = {}
    for name, regions in (("hand", hand), ("auto", downsized(auto, shapes))):
        masks = optimisation_masks(regions, small[0], small[1])  # as the optimize stage takes them
        out = stylize(small[0], small[1], short, *masks, laplacian).image
        scores[name] = score_all(small[0], small[1], out, laplacian, hand.content_masks, hand.style_masks)
    return {m: getattr(scores["auto"], m) / getattr(scores["hand"], m) for m in ("photorealism", "style_distance")}


def region_row(data: Path, k: int, config: StyleConfig, device: str, proxy: bool = False, short: int = 0) -> dict:
    """mIoU of the automatic regions of pair ``k`` against its hand masks, at ``size`` (and the
    colour-transfer proxy ratios with ``proxy``, the short ``dpst`` ratios with ``short``
    iterations)."""
    images = [prepared(data / sub / f"{p}{k}.png", config.size) for p, sub in (("in", "input"), ("tar", "style"))]
    start = time.perf_counter()
    segmentation = config.segmentation
    inputs = SegmentInputs(content=images[0], style=images[1], vgg_weights=config.weights, device=device)
    seg = segmenter_for(False, segmentation).segment(inputs, segmentation)
    pairs, merges = group_pair(seg, segmentation.grouping)
    seconds = time.perf_counter() - start
    truth = hand_labels(data, k, [im.shape[:2] for im in images])
    auto = [pairs.content_masks.argmax(0), pairs.style_masks.argmax(0)]
    hand = [t.labels for t in truth]
    miou, _ = matched_miou(auto, hand)
    finer, coarser = nested_miou(auto, hand)
    row = {
        "pair": k,
        "miou": miou,
        "finer": finer,
        "coarser": coarser,
        "auto_regions": len(pairs.names),
        "hand_regions": len(truth[0].names),
        "source": seg.source,
        "detail": seg.detail,
        "merges": merges,
        "seconds": seconds,
    }
    if proxy:
        row["proxy"] = proxy_ratios(images, pairs, truth)
    if short:
        row["short"] = short_ratios(images, pairs, data, k, short, config)
    return row


def quality_row(data: Path, k: int, args: argparse.Namespace) -> dict:
    """Scores of the flow's outputs with hand masks and with automatic segmentation."""
    from photostyle.core.artifacts import ArtifactStore
    from photostyle.flows.stylize_pair import stylize_pair
    from photostyle.tasks.laplacian import load_laplacian
    from photostyle.tasks.publish import result_stage

    root = str(Path(args.out) / "artifacts")
    store = ArtifactStore(root)
    scores, ratios = {}, {}
    for variant in args.variants.split(","):
        masks = (
            {
                "content_mask": str(data / "segmentation" / f"in{k}.png"),
                "style_mask": str(data / "segmentation" / f"tar{k}.png"),
            }
            if variant == "hand"
            else {}
        )
        out = Path(args.out) / variant / f"out{k}.png"
        sidecar = stylize_pair(
            content=str(data / "input" / f"in{k}.png"),
            style=str(data / "style" / f"tar{k}.png"),
            output=str(out),
            config=args.config,
            artifact_root=root,
            **masks,
        )
        stages = sidecar["stages"]
        content = store.read_image(store.get("prepare", stages["prepare_content"]["key"]))
        style = store.read_image(store.get("prepare", stages["prepare_style"]["key"]))
        lap = load_laplacian(store, store.get("laplacian", stages["laplacian"]["key"]))
        truth = hand_labels(data, k, [content.shape[:2], style.shape[:2]])
        hand = pair_regions(*truth)
        result = result_stage(stages)
        output = store.read_image(store.get(result, stages[result]["key"]))
        scores[variant] = score_all(content, style, output, lap, hand.content_masks, hand.style_masks).to_dict()
        scores[variant]["regions"] = len(sidecar["regions"])
        scores[variant]["seconds"] = sum(s["seconds"] or 0 for s in stages.values())
    for metric in ("structure", "photorealism", "style_distance"):
        if len(scores) == 2:
            ratios[metric] = scores["auto"][metric] / scores["hand"][metric]
    return {"pair": k, "scores": scores, "ratios": ratios}


def print_regions(rows: list[dict]) -> None:
    """One line per pair and the median mIoU."""
    proxy, short = all("proxy" in r for r in rows), all("short" in r for r in rows)
    extra = (f" {'proxy auto/hand':>15} {'one/hand':>8}" if proxy else "") + (
        f" {'short photo':>11} {'style':>6}" if short else ""
    )
    print(
        f"{'pair':>6} {'mIoU':>6} {'finer':>6} {'coarser':>7} {'auto':>5} {'hand':>5} {'seconds':>8}{extra}  "
        "source, choice, correspondence, disagreement by count"
    )
    for r in rows:
        disagreement = r["detail"].get("disagreement") or {}
        extra = (f" {r['proxy']['auto']:15.3f} {r['proxy']['one_region']:8.3f}" if proxy else "") + (
            f" {r['short']['photorealism']:11.3f} {r['short']['style_distance']:6.3f}" if short else ""
        )
        print(
            f"{r['pair']:>6} {r['miou']:6.3f} {r['finer']:6.3f} {r['coarser']:7.3f} {r['auto_regions']:>5} "
            f"{r['hand_regions']:>5} {r['seconds']:8.2f}{extra}"
            f"  {r['source']} {r['detail'].get('chosen', '-')} {r['detail'].get('correspondence', '-')} "
            f"{' '.join(f'{k}:{v:.3f}' for k, v in disagreement.items())}"
        )
    values = [r["miou"] for r in rows]
    print(
        f"{'median':>6} {statistics.median(values):6.3f}   (mean {statistics.mean(values):.3f}, "
        f"min {min(values):.3f}, pairs >= 0.6: {sum(v >= 0.6 for v in values)}/{len(values)})"
    )
    for name, part in parts(rows).items():
        print(part_line(name, part, lambda r: r["miou"], "mIoU", worst=min))
        print(f"  {granularity(part)}")
    if proxy:
        ratios = [r["proxy"]["auto"] for r in rows]
        print(
            f"proxy style distance auto/hand: median {statistics.median(ratios):.3f}, "
            f"mean {statistics.mean(ratios):.3f}, "
            f"pairs within 10%: {sum(v <= 1.1 for v in ratios)}/{len(ratios)}; one region/hand: median "
            f"{statistics.median(r['proxy']['one_region'] for r in rows):.3f}"
        )
    if short:
        med = {m: statistics.median(r["short"][m] for r in rows) for m in ("photorealism", "style_distance")}
        print(
            f"short dpst auto/hand: median photorealism {med['photorealism']:.3f}, "
            f"style distance {med['style_distance']:.3f}"
        )


def granularity(rows: list[dict]) -> str:
    """How the pairs under an mIoU of 0.7 miss: regions that nest in the hand ones, finer or
    coarser (``nested_miou`` of 0.9 or more one way), or regions that cut across them."""
    low = [r for r in rows if r["miou"] < 0.7]
    finer = [r["pair"] for r in low if r["finer"] >= 0.9]
    coarser = [r["pair"] for r in low if r["coarser"] >= 0.9 and r["pair"] not in finer]
    across = [r["pair"] for r in low if r["pair"] not in finer + coarser]
    return (
        f"under 0.7: {len(low)} pairs; finer than the hand masks {finer}, coarser {coarser}, "
        f"across them {across}; medians finer {statistics.median(r['finer'] for r in rows):.3f}, "
        f"coarser {statistics.median(r['coarser'] for r in rows):.3f}"
    )


def parts(rows: list[dict]) -> dict[str, list[dict]]:
    """The rows of each part present: tuning and held out."""
    found = {
        "tuning": [r for r in rows if r["pair"] in TUNING],
        "held out": [r for r in rows if r["pair"] not in TUNING],
    }
    return {name: part for name, part in found.items() if part}


def part_line(name: str, rows: list[dict], value, label: str, worst=max) -> str:
    """``name``: median of ``value(row)`` over the rows and the worst pair."""
    values = {r["pair"]: value(r) for r in rows}
    k = worst(values, key=values.get)
    median = statistics.median(values.values())
    return f"{name} ({len(rows)} pairs): {label} median {median:.3f}, worst pair {k} ({values[k]:.3f})"


def print_quality(rows: list[dict]) -> None:
    """Per-pair scores with hand masks and automatic regions, the ratios and their medians."""
    print(
        f"{'pair':>6} | {'hand: struct photo*1e4 style':>29} | {'auto: struct photo*1e4 style':>29} | "
        f"{'ratio auto/hand: photo style':>28}"
    )
    for r in rows:
        h, a, q = r["scores"]["hand"], r["scores"]["auto"], r["ratios"]
        print(
            f"{r['pair']:>6} | {h['structure']:6.3f} {h['photorealism'] * 1e4:8.3f} {h['style_distance']:7.2f}"
            f"       | {a['structure']:6.3f} {a['photorealism'] * 1e4:8.3f} {a['style_distance']:7.2f}"
            f"       | {q['photorealism']:13.3f} {q['style_distance']:7.3f}"
        )
    med = {m: statistics.median(r["ratios"][m] for r in rows) for m in ("photorealism", "style_distance")}
    mh = {m: statistics.median(r["scores"]["hand"][m] for r in rows) for m in ("photorealism", "style_distance")}
    ma = {m: statistics.median(r["scores"]["auto"][m] for r in rows) for m in ("photorealism", "style_distance")}
    for name, part in parts(rows).items():
        for m in ("photorealism", "style_distance"):
            print(part_line(name, part, lambda r, m=m: r["ratios"][m], f"{m} auto/hand"))
    print(
        f"median ratios: photorealism {med['photorealism']:.3f}, style distance {med['style_distance']:.3f}; "
        f"medians hand vs auto: photorealism*1e4 {mh['photorealism'] * 1e4:.3f} vs {ma['photorealism'] * 1e4:.3f}, "
        f"style distance {mh['style_distance']:.3f} vs {ma['style_distance']:.3f}"
    )


def worst_picture(
    quality: list[dict], regions: list[dict], data: Path, out: Path, target: Path, count: int = 5
) -> None:
    """The ``count`` pairs with the highest style distance ratio auto / hand: content, style, the
    result with the hand masks and with the automatic regions, each row captioned with its part,
    mIoU and ratios."""
    miou = {r["pair"]: r["miou"] for r in regions}
    worst = sorted(quality, key=lambda r: -r["ratios"]["style_distance"])[:count]
    rows = [
        [data / "input" / f"in{r['pair']}.png", data / "style" / f"tar{r['pair']}.png"]
        + [out / variant / f"out{r['pair']}.png" for variant in ("hand", "auto")]
        for r in worst
    ]
    captions = [
        f"pair {r['pair']} ({'tuning' if r['pair'] in TUNING else 'held out'}): mIoU {miou[r['pair']]:.2f}, "
        f"auto/hand style distance {r['ratios']['style_distance']:.2f}, "
        f"photorealism {r['ratios']['photorealism']:.2f}"
        for r in worst
    ]
    contact_sheet(rows, ["content", "style", "hand masks", "automatic regions"], target, 200, captions)


def combine(folders: list[str]) -> dict:
    """The quality runs in ``folders`` (results.json each, e.g. one without jitter and others with
    it) taken together: per pair, the median of its auto/hand ratios over the runs that have both
    halves; and how far the hand-mask runs themselves move between runs (each over the first run
    with hand masks), the benchmark's noise. A ``--variants hand`` run adds to the drift only."""
    runs = [json.loads(Path(f, "results.json").read_text()) for f in folders]
    by_pair = [{r["pair"]: r for r in run["quality"]} for run in runs]
    pairs = [k for k in by_pair[0] if all(k in b for b in by_pair)]
    rows = []
    for k in pairs:
        row = {"pair": k}
        rated = [b[k]["ratios"] for b in by_pair if b[k]["ratios"]]
        hands = [b[k]["scores"]["hand"] for b in by_pair if "hand" in b[k]["scores"]]
        for m in ("photorealism", "style_distance"):
            row[m] = [r[m] for r in rated]
            row[f"hand_{m}"] = [h[m] / hands[0][m] for h in hands[1:]]
        rows.append(row)
    return {"runs": folders, "rows": rows}


def print_combined(combined: dict) -> None:
    """Per pair: the ratios of every run, their median, and the hand runs' drift; then medians."""
    rows = combined["rows"]
    print(f"# {len(combined['runs'])} quality runs: {', '.join(combined['runs'])}")
    print(
        f"{'pair':>6} | {'photo auto/hand per run':>24} {'median':>7} | "
        f"{'style auto/hand per run':>24} {'median':>7} | hand drift photo style"
    )

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):7.3f}" if values else f"{'-':>7}"

    for r in rows:
        cells = [" ".join(f"{v:.3f}" for v in r[m]) for m in ("photorealism", "style_distance")]
        drift = " ".join(f"{p:.3f}/{s:.3f}" for p, s in zip(r["hand_photorealism"], r["hand_style_distance"]))
        print(
            f"{r['pair']:>6} | {cells[0]:>24} {med(r['photorealism'])} | "
            f"{cells[1]:>24} {med(r['style_distance'])} | {drift}"
        )
    for m in ("photorealism", "style_distance"):
        drift = [abs(v - 1) for r in rows for v in r[f"hand_{m}"]]
        moved = f"hand runs move by a median {statistics.median(drift) * 100 if drift else 0:.1f} % between runs"
        if not rows or not all(r[m] for r in rows):
            print(f"{m}: {moved}")
            continue
        per_run = [statistics.median(r[m][i] for r in rows) for i in range(min(len(r[m]) for r in rows))]
        pooled = statistics.median(statistics.median(r[m]) for r in rows)
        print(
            f"{m}: median over pairs of the per-pair medians {pooled:.3f}; per run "
            f"{' '.join(f'{v:.3f}' for v in per_run)}; {moved}"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="the dpst folder (input, style, segmentation)")
    p.add_argument("--pairs", default=",".join(map(str, PAIRS)), help="comma-separated pair numbers")
    p.add_argument("--proxy", action="store_true", help="also the colour-transfer proxy of the style distance")
    p.add_argument(
        "--short",
        type=int,
        default=0,
        metavar="N",
        help="also short dpst runs (N + N iterations at half the size), auto vs hand masks",
    )
    p.add_argument("--quality", action="store_true", help="also run the flow with hand and automatic masks")
    p.add_argument(
        "--variants",
        default="hand,auto",
        choices=["hand,auto", "hand", "auto"],
        help="which quality runs to make (the ratios need both)",
    )
    p.add_argument(
        "--jitter",
        type=int,
        default=0,
        metavar="SEED",
        help="add seeded noise of up to one grey level to the content photos (0: none)",
    )
    p.add_argument("--out", default="bench-out/segmentation", help="folder for outputs and results.json")
    p.add_argument(
        "--picture", default="", help="where the five worst pairs' picture goes (default: worst.jpg in --out)"
    )
    p.add_argument(
        "--combine",
        default="",
        metavar="DIR,DIR,...",
        help="only combine earlier --quality runs' results.json (first without jitter)",
    )
    add_settings_flags(p)
    args = p.parse_args(argv)
    args.config = config_from_args(args, BASE)
    if args.combine:
        combined = combine(args.combine.split(","))
        print_combined(combined)
        Path(args.out).mkdir(parents=True, exist_ok=True)
        Path(args.out, "combined.json").write_text(json.dumps(combined, indent=2))
        return 0
    from photostyle.core.device import resolve_device

    config = args.config
    data, device = Path(args.data), str(resolve_device(config.device))
    pairs = [int(x) for x in args.pairs.split(",")]
    if args.jitter:
        data = jittered_data(data, Path(args.out), args.jitter, pairs)
    regions = [region_row(data, k, config, device, args.proxy, args.short) for k in pairs]
    print(f"# automatic regions vs hand masks, size={config.size} device={device}")
    print_regions(regions)
    results = {"args": {**vars(args), "config": config.model_dump(mode="json")}, "regions": regions}
    if args.quality:
        start, quality = time.perf_counter(), []
        for k in pairs:
            quality.append(quality_row(data, k, args))
            print(f"pair {k} done ({time.perf_counter() - start:.0f} s elapsed)", file=sys.stderr, flush=True)
        print(f"# dpst with hand vs automatic masks, {config.model_dump_json()}; style distance over the hand regions")
        if all(r["ratios"] for r in quality):
            print_quality(quality)
            worst_picture(quality, regions, data, Path(args.out), Path(args.picture or Path(args.out, "worst.jpg")))
        results["quality"] = quality
    Path(args.out).mkdir(parents=True, exist_ok=True)
    Path(args.out, "results.json").write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
