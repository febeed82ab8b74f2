"""Graded synthetic distortions of TID2013's kinds and of style transfer's own artifacts, and the
score distribution each level stands for: the training set of the bundled NIMA model.

Each distortion takes an HxWx3 float32 RGB image in [0, 1], a level 1..5 (5 the strongest) and a
numpy random generator, and returns the distorted image in [0, 1]. Level 0 is the photo itself.
The levels of each kind were set so that level 5 is an obvious defect at the analysis size (long
side 512), as TID2013's fifth level is. ``painterly`` needs a short Gatys result of the same image,
given as ``painted`` (``scripts/train_nima.py`` makes it).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from photostyle.core.colour import lab_to_rgb, rgb_to_lab

LEVELS = 5
#: The mean opinion score of each level (0 = the undistorted photo), TID2013-like on NIMA's 1..10.
LEVEL_MEANS = (8.0, 6.8, 5.6, 4.4, 3.2, 2.0)
#: The spread of the raters' scores around a level's mean.
LEVEL_SPREAD = 1.3

Distortion = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


def score_distribution(level: int) -> np.ndarray:
    """The score distribution (10,) of a level: a normal around its mean, on the buckets 1..10."""
    buckets = np.arange(1, 11)
    weights = np.exp(-0.5 * ((buckets - LEVEL_MEANS[level]) / LEVEL_SPREAD) ** 2)
    return (weights / weights.sum()).astype(np.float32)


def _pick(values: tuple[float, ...], level: int) -> float:
    if not 1 <= level <= LEVELS:
        raise ValueError(f"level must be 1..{LEVELS}, not {level}")
    return values[level - 1]


def _encode(image: np.ndarray, fmt: str, **options: object) -> np.ndarray:
    """The image after a round trip through Pillow's encoder ``fmt``."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, fmt, **options)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float32) / 255.0


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] float to uint8, rounded."""
    return (np.clip(image, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def noise(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """Additive white Gaussian noise (TID2013 #1)."""
    sigma = _pick((0.02, 0.04, 0.07, 0.11, 0.16), level)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 1)


def blur(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur (TID2013 #8)."""
    sigma = _pick((0.8, 1.4, 2.2, 3.4, 5.0), level)
    return ndimage.gaussian_filter(image, (sigma, sigma, 0))


def jpeg(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """JPEG compression (TID2013 #10)."""
    return _encode(image, "JPEG", quality=int(_pick((30, 15, 8, 4, 1), level)))


def jpeg2000(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """JPEG 2000 compression (TID2013 #11), at a compression ratio."""
    ratio = _pick((15, 30, 60, 110, 200), level)
    return _encode(image, "JPEG2000", quality_mode="rates", quality_layers=[ratio])


def quantisation(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """Quantisation of each channel to a few levels (TID2013 #7)."""
    steps = _pick((24, 12, 7, 5, 3), level) - 1
    return np.round(image * steps) / steps


def contrast(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """Contrast change (TID2013 #17): lightness pulled toward its mean."""
    factor = _pick((0.6, 0.42, 0.3, 0.2, 0.12), level)
    lab = rgb_to_lab(image)
    lab[..., 0] = lab[..., 0].mean() + (lab[..., 0] - lab[..., 0].mean()) * factor
    return np.clip(lab_to_rgb(lab), 0, 1)


def saturation(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """Change of colour saturation (TID2013 #18): chroma amplified until colours clip, as an
    overstyled result's."""
    factor = _pick((1.6, 2.2, 3.0, 4.0, 5.5), level)
    lab = rgb_to_lab(image)
    lab[..., 1:] *= factor
    return np.clip(lab_to_rgb(lab), 0, 1)


def blocks(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """Local block-wise distortions (TID2013 #16): a share of 16 x 16 blocks replaced by their
    mean colour, shifted."""
    share = _pick((0.04, 0.09, 0.16, 0.26, 0.4), level)
    out = image.copy()
    h, w = image.shape[:2]
    for top in range(0, h - 15, 16):
        for left in range(0, w - 15, 16):
            if rng.random() < share:
                block = out[top : top + 16, left : left + 16]
                block[...] = block.mean((0, 1)) + rng.normal(0, 0.08, 3)
    return np.clip(out, 0, 1)


def halos(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """Halos along edges, as strong local contrast or a poor edge-aware filter leaves: unsharp
    masking with a wide radius."""
    amount = _pick((0.6, 1.2, 2.0, 3.0, 4.5), level)
    smooth = ndimage.gaussian_filter(image, (6, 6, 0))
    return np.clip(image + amount * (image - smooth), 0, 1)


def streaks(image: np.ndarray, level: int, rng: np.random.Generator) -> np.ndarray:
    """Streaks: noise smeared along one direction, as unconverged optimisations leave."""
    amplitude = _pick((0.03, 0.06, 0.1, 0.15, 0.22), level)
    field = rng.normal(0, 1, image.shape).astype(np.float32)
    sigma = (0.5, 12, 0) if rng.random() < 0.5 else (12, 0.5, 0)
    field = ndimage.gaussian_filter(field, sigma)
    field /= field.std() + 1e-8
    return np.clip(image + amplitude * field, 0, 1)


def painterly(image: np.ndarray, level: int, rng: np.random.Generator, painted: np.ndarray) -> np.ndarray:
    """Painterly texture: the image blended with a short Gatys run's result of it."""
    alpha = _pick((0.2, 0.4, 0.6, 0.8, 1.0), level)
    return np.clip((1 - alpha) * image + alpha * painted, 0, 1)


#: The kinds that need only the image.
DISTORTIONS: dict[str, Distortion] = {
    "noise": noise,
    "blur": blur,
    "jpeg": jpeg,
    "jpeg2000": jpeg2000,
    "quantisation": quantisation,
    "contrast": contrast,
    "saturation": saturation,
    "blocks": blocks,
    "halos": halos,
    "streaks": streaks,
}
#: Every kind, ``painterly`` last.
KINDS = (*DISTORTIONS, "painterly")


def distort(
    image: np.ndarray, kind: str, level: int, rng: np.random.Generator, painted: np.ndarray | None = None
) -> np.ndarray:
    """``image`` with distortion ``kind`` at ``level`` (0: the image itself)."""
    if level == 0:
        return image
    if kind == "painterly":
        if painted is None:
            raise ValueError("painterly needs the painted image")
        return painterly(image, level, rng, painted)
    return DISTORTIONS[kind](image, level, rng).astype(np.float32)
