"""Neural style losses: content, Gram style, per-region (masked) Gram style, total variation.

Normalisations follow the reference implementations that the published settings were tuned for
(neural-style / DPST: content weight 5, style weight 100, TV 1e-3 on 0-255 pixels). They equal the
papers' formulas up to constant factors, which the weights absorb:
- content: mean squared feature difference (Gatys' ``1/2 sum (F[O]-F[I])^2`` divided by half the
  number of elements);
- style: Gram ``G = F F^T / (C H W)``, loss = mean squared Gram difference, which is Gatys'
  ``1/(4 N^2 M^2) sum (G[O]-G[S])^2`` times ``4 / N^2`` (N channels; a per-layer constant);
- DPST's augmented style loss: per region c, features multiplied by the region mask, Gram divided
  by ``C H W mean(mask)``, squared difference weighted by ``mean(mask)``.
"""

from __future__ import annotations

import torch


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the output's and the content's features."""
    return torch.mean((features - target) ** 2)


def gram(features: torch.Tensor, mask: torch.Tensor | None = None, area: float | None = None) -> torch.Tensor:
    """Gram matrix (C,C) of (C,H,W) features, optionally of the features weighted by a mask (H,W).

    Normalised by ``C*H*W*mean(mask)`` so a region's Gram does not depend on its area; pass
    ``area`` (the mask's mean) when it is known, to avoid a device synchronisation.
    """
    c = features.shape[0]
    f = features.reshape(c, -1)
    norm = f.shape[1] * c
    if mask is not None:
        f = f * mask.reshape(1, -1)
        area = float(mask.mean()) if area is None else area
        if area > 0:
            norm = norm * area
    return (f @ f.t()) / norm


def style_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Gatys' style loss: mean squared difference of Gram matrices."""
    return torch.mean((gram(features) - target_gram) ** 2)


def region_style_loss(features: torch.Tensor, masks: torch.Tensor, target_grams: list[torch.Tensor],
                      areas: list[float] | None = None) -> torch.Tensor:
    """DPST's augmented style loss over K regions: masks (K,H,W) at this layer's resolution.

    Region k of the output is matched to ``target_grams[k]``, the Gram of style region k; each
    region's term is weighted by its area fraction (``areas``, computed when not given), so one
    full-image region reduces to ``style_loss``.
    """
    if areas is None:
        areas = mask_areas(masks)
    total = features.new_zeros(())
    for mask, target, area in zip(masks, target_grams, areas):
        if area <= 0:
            continue
        total = total + torch.mean((gram(features, mask, area) - target) ** 2) * area
    return total


def mask_areas(masks: torch.Tensor) -> list[float]:
    """Area fraction (mean) of each of K masks (K,H,W), read back once."""
    return masks.reshape(masks.shape[0], -1).mean(1).tolist()


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation ``1/2 sum (dx^2 + dy^2)`` of a (C,H,W) image, as in neural-style / DPST."""
    core = image[:, :-1, :-1]
    dx = core - image[:, :-1, 1:]
    dy = core - image[:, 1:, :-1]
    return 0.5 * (dx.pow(2).sum() + dy.pow(2).sum())
