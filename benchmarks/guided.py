"""A user-guided run: the user's masks decide which style region each content region takes its
style from. One DPST example pair runs twice with the same method: with its hand masks (sky to sky,
ground to ground), then with the style mask's two regions swapped (the content's sky to the
style's ground and the other way round), made here from the hand mask, never stored.

Prints, for each run, the mean Lab colour of each content region of the result and its distance to
the mean colour of each style region, and draws content, masks and both results to ``--picture``:

    python benchmarks/guided.py                      # pair 14, strotss, 256 px (from the repository root)
    python benchmarks/guided.py --method dpst --picture /tmp/guided-dpst.jpg
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from dpst_quality import DEFAULT_DATA, run_flow
from methods import configs
from pictures import contact_sheet
from PIL import Image

from photostyle.core.colour import rgb_to_lab
from photostyle.core.imageio import load_image, resize_to
from photostyle.core.masks import palette_labels


def swapped_mask(path: Path, target: Path) -> None:
    """The two-region DPST mask at ``path`` with its two colours exchanged, written to ``target``."""
    rgb = np.asarray(Image.open(path).convert("RGB"))
    labels = palette_labels(rgb)
    if len(labels.names) != 2:
        raise SystemExit(f"{path}: a swap needs exactly two regions, found {labels.names}")
    colours = [rgb[labels.labels == k].reshape(-1, 3).mean(0).round().astype(np.uint8) for k in (0, 1)]
    Image.fromarray(np.where((labels.labels == 0)[..., None], colours[1], colours[0])).save(target)


def region_colours(image: np.ndarray, mask_path: Path) -> tuple[list[str], np.ndarray]:
    """Names and mean Lab colours of the regions of a DPST mask over an image."""
    labels = palette_labels(np.asarray(Image.open(mask_path).convert("RGB")))
    small = resize_to(labels.labels.astype(np.float32)[..., None], image.shape[:2])[..., 0].round().astype(int)
    lab = rgb_to_lab(image)
    return labels.names, np.stack([lab[small == k].mean(0) for k in range(len(labels.names))])


def report(name: str, result: Path, content_mask: Path, style: np.ndarray, style_mask: Path) -> None:
    """Each content region's mean colour in the result and its Lab distance to each style region's."""
    names, ours = region_colours(load_image(str(result)), content_mask)
    style_names, theirs = region_colours(style, style_mask)
    print(f"{name}: Lab distance of each content region's mean colour to each style region's (hand labels)")
    for n, colour in zip(names, ours):
        distances = ", ".join(f"{s} {np.linalg.norm(colour - t):.1f}" for s, t in zip(style_names, theirs))
        print(f"  content {n}: {distances}")


def picture(tiles: list[tuple[str, Path]], target: Path, tile: int = 220) -> None:
    """The images side by side, each with its caption."""
    contact_sheet([[path for _, path in tiles]], [caption for caption, _ in tiles], target, tile)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="the dpst folder")
    p.add_argument("--pair", type=int, default=14, help="a pair whose masks have two regions")
    p.add_argument("--method", default="strotss", choices=("strotss", "dpst"))
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--out", default="bench-out/methods", help="outputs and artifacts (shared with methods.py)")
    p.add_argument("--picture", default="docs/strotss-guided.jpg")
    args = p.parse_args(argv)
    data, out, k = Path(args.data), Path(args.out), args.pair
    config = configs(args.size, None, args.device)[args.method]
    out.mkdir(parents=True, exist_ok=True)
    hand = run_flow(k, args, config, f"-guided-{args.method}")
    swapped = out / f"tar{k}-swapped.png"
    swapped_mask(data / "segmentation" / f"tar{k}.png", swapped)
    flipped = run_flow(k, args, config, f"-guided-{args.method}-swapped", swapped)
    style = load_image(str(data / "style" / f"tar{k}.png"))
    hand_mask = data / "segmentation" / f"tar{k}.png"
    report("hand masks", Path(hand["output"]), data / "segmentation" / f"in{k}.png", style, hand_mask)
    report("style regions swapped", Path(flipped["output"]), data / "segmentation" / f"in{k}.png", style, hand_mask)
    picture(
        [
            ("content", data / "input" / f"in{k}.png"),
            ("content mask", data / "segmentation" / f"in{k}.png"),
            ("style", data / "style" / f"tar{k}.png"),
            ("style mask (hand)", hand_mask),
            (f"{args.method}, hand masks", Path(hand["output"])),
            ("style mask, swapped", swapped),
            (f"{args.method}, swapped", Path(flipped["output"])),
        ],
        Path(args.picture),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
