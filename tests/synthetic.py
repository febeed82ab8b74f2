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


def two_part_scene(h: int, w: int, split: float, sky: tuple, ground: tuple, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 'sky' above a rough textured 'ground' (the row ``split`` of the height divides
    them); returns the image in [0,1] and its true labels (0 sky, 1 ground)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.empty((h, w, 3))
    for c in range(3):
        img[..., c] = sky[c] + 0.1 * y
    edge = int(h * split)
    texture = rng.random((h - edge, w, 1))
    img[edge:] = np.asarray(ground)[None, None, :] * (0.4 + 0.9 * texture)
    labels = np.zeros((h, w), dtype=np.int32)
    labels[edge:] = 1
    return np.clip(img, 0, 1).astype(np.float32), labels


def smooth_blobs(size: int) -> np.ndarray:
    """Soft waves of colour, with nothing of a sky or a textured ground."""
    y, x = np.mgrid[0:size, 0:size] / size
    return np.stack([0.5 + 0.4 * np.sin(6 * x + c) * np.cos(5 * y - c) for c in range(3)], -1).astype(np.float32)
