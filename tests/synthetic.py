"""Synthetic photo-like test images shared by the test modules."""

from __future__ import annotations

import numpy as np


def natural_like(h: int = 24, w: int = 32, seed: int = 0, quantise: bool = False) -> np.ndarray:
    """A smooth synthetic photo: colour gradients, a disc, a rectangle, a little noise, in [0,1].

    ``quantise`` rounds to 8-bit levels and returns float32, like a decoded PNG.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.2 + 0.6 * x, 0.3 + 0.4 * y, 0.5 + 0.3 * np.sin(6 * x * y)], axis=-1)
    img[(x - 0.5) ** 2 + (y - 0.35) ** 2 < 0.03] = [0.9, 0.2, 0.1]
    img[int(h * 0.6) : int(h * 0.85), int(w * 0.1) : int(w * 0.4)] = [0.1, 0.7, 0.3]
    img += rng.normal(0.0, 0.01, img.shape)
    img = np.clip(img, 0.0, 1.0)
    return (np.round(img * 255) / 255).astype(np.float32) if quantise else img
