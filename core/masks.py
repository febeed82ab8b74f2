"""Region masks: DPST colour masks and integer label PNGs, as label maps.

DPST masks use 9 flat colours but are anti-aliased, so edges hold in-between colours. Each pixel
goes to the nearest palette colour, choosing only among the colours that really occur in the mask
(a colour occurs when it fills at least one 5x5 block): otherwise the grey half-way between black
and white, or the light blue between blue and green, would appear as thin spurious regions along
every edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from photostyle.core.errors import InputError
from photostyle.core.imageio import open_image, read_bytes

#: DPST's mask colours, in order: (name, RGB).
PALETTE: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("blue", (0, 0, 255)),
    ("green", (0, 255, 0)),
    ("black", (0, 0, 0)),
    ("white", (255, 255, 255)),
    ("red", (255, 0, 0)),
    ("yellow", (255, 255, 0)),
    ("grey", (128, 128, 128)),
    ("lightblue", (0, 255, 255)),
    ("purple", (255, 0, 255)),
)
PALETTE_NAMES: tuple[str, ...] = tuple(name for name, _ in PALETTE)
PALETTE_RGB: np.ndarray = np.array([rgb for _, rgb in PALETTE], dtype=np.int32)

#: Half-width of the square block a colour must fill somewhere to count as present.
CORE_RADIUS = 2

#: Relative aspect-ratio tolerance for a mask drawn at another scale than its photo.
ASPECT_TOLERANCE = 0.01

#: Largest per-dimension size difference accepted as "the same size" (off-by-one exports).
SIZE_SLACK = 2


@dataclass
class LabelMap:
    """Per-pixel region labels (HxW int32, 0..K-1) and the name of each region."""

    labels: np.ndarray
    names: list[str]

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the label map."""
        return tuple(self.labels.shape[:2])  # type: ignore[return-value]


def _nearest(rgb: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Index (into ``colours``) of the nearest colour for each pixel; ties go to the first."""
    best_dist = None
    best = np.zeros(rgb.shape[:2], dtype=np.int32)
    channels = [rgb[..., c].astype(np.int32) for c in range(3)]
    for k, colour in enumerate(colours):
        dist = sum((channels[c] - int(colour[c])) ** 2 for c in range(3))
        if best_dist is None:
            best_dist = dist
            continue
        closer = dist < best_dist
        best[closer] = k
        np.minimum(best_dist, dist, out=best_dist)
    return best


def _core(labels: np.ndarray, radius: int) -> np.ndarray:
    """Pixels whose whole (2r+1)^2 neighbourhood has their own label (edges replicated)."""
    height, width = labels.shape
    padded = np.pad(labels, radius, mode="edge")
    centre = padded[:, radius : radius + width]
    rows_uniform = np.ones(padded.shape[0:1] + (width,), dtype=bool)
    for dx in range(-radius, radius + 1):
        rows_uniform &= padded[:, radius + dx : radius + dx + width] == centre
    core = np.ones((height, width), dtype=bool)
    own = labels
    for dy in range(-radius, radius + 1):
        rows = slice(radius + dy, radius + dy + height)
        core &= rows_uniform[rows] & (centre[rows] == own)
    return core


def palette_labels(rgb: np.ndarray) -> LabelMap:
    """Label map of a DPST colour mask (HxWx3 uint8): nearest present palette colour per pixel."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected an HxWx3 colour mask, got shape {rgb.shape}")
    rgb = rgb[..., :3]
    nearest = _nearest(rgb, PALETTE_RGB)
    core = _core(nearest, CORE_RADIUS)
    present = np.unique(nearest[core])
    if present.size == 0:  # no region is 5x5 anywhere (tiny mask): plain nearest colour
        present = np.unique(nearest)
    labels = _nearest(rgb, PALETTE_RGB[present]) if present.size < len(PALETTE) else nearest
    return LabelMap(labels.astype(np.int32, copy=False), [PALETTE_NAMES[k] for k in present])


def integer_labels(values: np.ndarray) -> LabelMap:
    """Label map of an integer label image: each distinct value is a region, in increasing order."""
    uniq, inverse = np.unique(np.asarray(values), return_inverse=True)
    labels = inverse.reshape(values.shape).astype(np.int32)
    return LabelMap(labels, [f"label_{int(v)}" for v in uniq])


def _palette_image_is_colour_mask(img: Image.Image) -> bool:
    """Whether an indexed ('P') image only uses exact DPST colours (a colour mask saved indexed)."""
    used = np.unique(np.asarray(img))
    palette = np.asarray(img.getpalette("RGB") or [], dtype=np.int32).reshape(-1, 3)
    if used.size == 0 or used.max() >= len(palette):
        return False
    exact = (palette[used][:, None, :] == PALETTE_RGB[None]).all(-1).any(-1)
    return bool(exact.all()) and used.size >= 2


def decode_mask(data: bytes, uri: str) -> LabelMap:
    """Decode a colour mask (RGB/RGBA) or an integer label PNG ('P', 'L', 'I', 'I;16')."""
    img = open_image(data, uri)
    mode = img.mode
    try:
        if mode == "P" and not _palette_image_is_colour_mask(img):
            return integer_labels(np.asarray(img))
        if mode in ("L", "I", "1") or mode.startswith("I;16"):
            return integer_labels(np.asarray(img))
        if mode == "LA":
            return integer_labels(np.asarray(img)[..., 0])
        if mode in ("RGBA", "RGBa", "PA", "P"):
            return palette_labels(np.asarray(img.convert("RGBA"))[..., :3])
        return palette_labels(np.asarray(img.convert("RGB")))
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a float or LAB image
        raise InputError(uri, f"unsupported mask image mode {mode} ({exc})") from None


def load_mask(uri: str, storage_options: dict | None = None) -> LabelMap:
    """Read and decode the mask at a local path or fsspec URL."""
    return decode_mask(read_bytes(uri, storage_options), uri)


def nearest_index(src: int, dst: int) -> np.ndarray:
    """Source index sampled by each of ``dst`` outputs under nearest-neighbour resizing."""
    return np.minimum(((np.arange(dst) + 0.5) * src / dst).astype(np.int64), src - 1)


def _pad_or_crop(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Labels brought to ``shape`` by cropping or repeating the last row/column."""
    height, width = shape
    rows = np.minimum(np.arange(height), labels.shape[0] - 1)
    cols = np.minimum(np.arange(width), labels.shape[1] - 1)
    return labels[rows][:, cols]


def fit_mask(mask: LabelMap, photo_shape: tuple[int, int], target_shape: tuple[int, int], uri: str) -> LabelMap:
    """Check a mask matches its photo (H, W), then resize it to ``target_shape`` (nearest).

    A mask within 2 px of the photo's size is padded/cropped to it (aligned top-left); one with
    the same aspect ratio within 1% is taken as drawn at another scale. Regions that vanish
    at the target size are dropped.
    """
    h, w = mask.labels.shape
    big_h, big_w = photo_shape
    if h < 1 or w < 1:
        raise InputError(uri, f"mask is {w}x{h} but the photo is {big_w}x{big_h}")
    labels = mask.labels
    if abs(h - big_h) <= SIZE_SLACK and abs(w - big_w) <= SIZE_SLACK:
        labels = _pad_or_crop(labels, (big_h, big_w))
    elif abs((w / h) / (big_w / big_h) - 1.0) > ASPECT_TOLERANCE:
        raise InputError(uri, f"mask is {w}x{h} but the photo is {big_w}x{big_h}")
    th, tw = target_shape
    if th < 1 or tw < 1:
        raise ValueError(f"target shape must be positive, got {target_shape}")
    resized = labels[nearest_index(labels.shape[0], th)][:, nearest_index(labels.shape[1], tw)]
    kept = np.unique(resized)
    if kept.size == len(mask.names) and (kept.size == 0 or kept[-1] == kept.size - 1):
        return LabelMap(np.ascontiguousarray(resized, dtype=np.int32), list(mask.names))
    remap = np.zeros(max(len(mask.names), int(kept.max()) + 1), dtype=np.int32)
    remap[kept] = np.arange(kept.size, dtype=np.int32)
    return LabelMap(remap[resized], [mask.names[k] for k in kept])
