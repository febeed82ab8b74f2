"""Laplacian pyramids of image tensors: the parameterisation STROTSS optimises.

A pyramid of ``levels`` levels holds ``levels`` band-pass images, finest first, each the
difference between an image and its half-size version brought back up, then the coarsest
residual. Collapsing it adds the levels back coarse to fine, so it reconstructs the image exactly
(up to floating-point rounding) whatever the resampling; bilinear resampling on the pixels'
corners follows the STROTSS authors' code. Optimising the levels instead of the pixels lets a
gradient step move large areas at once, which is what makes the coarse structure of a style
reachable in a few hundred RMSprop steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resample(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A (N,C,H,W) tensor resized bilinearly to ``size`` (H, W), corners aligned."""
    return F.interpolate(image, size=size, mode="bilinear", align_corners=True)


def build_pyramid(image: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """The Laplacian pyramid of a (N,C,H,W) image: ``levels`` band-pass levels, finest first,
    then the low-pass residual (``levels + 1`` tensors); sides halve down to 1 pixel at least."""
    pyramid = []
    current = image
    for _ in range(levels):
        height, width = current.shape[-2:]
        smaller = resample(current, (max(height // 2, 1), max(width // 2, 1)))
        pyramid.append(current - resample(smaller, (height, width)))
        current = smaller
    pyramid.append(current)
    return pyramid


def collapse(pyramid: list[torch.Tensor]) -> torch.Tensor:
    """The image a Laplacian pyramid (as ``build_pyramid`` makes it) represents."""
    image = pyramid[-1]
    for level in reversed(pyramid[:-1]):
        image = level + resample(image, tuple(level.shape[-2:]))
    return image
