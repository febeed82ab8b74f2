"""Loss terms of the pixel optimisation, registered by name in ``LOSSES``: content, Gram style,
per-region (masked) Gram style, total variation and photorealism.

A method builds its objective from term names and weights (``Objective``); each term computes its
targets once and its value per step, and the loss history reports every term's weighted value.
A new term is a ``LossSpec`` registered with ``register_loss``.

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

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch

from photostyle.core.laplacian import photorealism_loss
from photostyle.core.registry import Registry

if TYPE_CHECKING:
    from photostyle.core.vgg import VGGFeatures


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


def region_style_loss(
    features: torch.Tensor, masks: torch.Tensor, target_grams: list[torch.Tensor], areas: list[float] | None = None
) -> torch.Tensor:
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


@dataclass
class LossContext:
    """What terms compute their targets from, on the optimisation's device: images as (1,3,H,W)
    pixel values in [0, 255], region weights (K,H,W) or None, the content's matting Laplacian as
    a torch sparse matrix or None."""

    vgg: VGGFeatures
    content: torch.Tensor
    style: torch.Tensor
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    content_masks: torch.Tensor | None = None
    style_masks: torch.Tensor | None = None
    laplacian: torch.Tensor | None = None
    nima: object | None = None


class LossTerm(Protocol):
    """One term: the VGG layers it reads from the output, and its value for the output pixels."""

    layers: tuple[str, ...]

    def __call__(self, image: torch.Tensor, features: dict[str, torch.Tensor]) -> torch.Tensor: ...


@dataclass(frozen=True)
class LossSpec:
    """A registered term. ``per_pixel``: the term sums over pixels while VGG terms average, so its
    weight holds at a reference pixel count and is rescaled with the image's."""

    name: str
    build: Callable[[LossContext], LossTerm]
    per_pixel: bool = False
    description: str = ""


LOSSES: Registry[LossSpec] = Registry("loss term")


def register_loss(spec: LossSpec) -> LossSpec:
    """Make a loss term available to methods under ``spec.name``."""
    return LOSSES.register(spec)


class ContentTerm:
    """Mean squared difference of the output's and the content's features, summed over layers."""

    def __init__(self, ctx: LossContext):
        self.layers = ctx.content_layers
        with torch.no_grad():
            self.targets = {k: v[0] for k, v in ctx.vgg(ctx.content, self.layers).items()}

    def __call__(self, image: torch.Tensor, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(content_loss(features[n][0], self.targets[n]) for n in self.layers)


class GramTerm:
    """Gatys' style loss: mean squared Gram difference to the whole style image, summed over layers."""

    def __init__(self, ctx: LossContext):
        self.layers = ctx.style_layers
        with torch.no_grad():
            feats = ctx.vgg(ctx.style, self.layers)
            self.targets = {n: gram(feats[n][0]) for n in self.layers}

    def __call__(self, image: torch.Tensor, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(style_loss(features[n][0], self.targets[n]) for n in self.layers)


class MaskedGramTerm:
    """DPST's augmented style loss: region k of the output takes the Gram of style region k, with
    the masks carried down to every layer (``VGGFeatures.region_masks``)."""

    def __init__(self, ctx: LossContext):
        if ctx.content_masks is None or ctx.style_masks is None:
            raise ValueError("the masked Gram loss needs region masks for both images")
        self.layers = ctx.style_layers
        with torch.no_grad():
            feats = ctx.vgg(ctx.style, self.layers)
            style_masks = ctx.vgg.region_masks(ctx.style_masks, self.layers)
            self.targets = {n: [gram(feats[n][0], m) for m in style_masks[n]] for n in self.layers}
        self.masks = ctx.vgg.region_masks(ctx.content_masks, self.layers)
        self.areas = {n: mask_areas(m) for n, m in self.masks.items()}

    def __call__(self, image: torch.Tensor, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(
            region_style_loss(features[n][0], self.masks[n], self.targets[n], self.areas[n]) for n in self.layers
        )


class TVTerm:
    """Total variation of the output pixels."""

    layers: tuple[str, ...] = ()

    def __init__(self, ctx: LossContext):
        pass

    def __call__(self, image: torch.Tensor, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return tv_loss(image[0])


class PhotorealismTerm:
    """DPST's photorealism regulariser ``sum_c V_c^T M V_c`` on the output in [0, 1]."""

    layers: tuple[str, ...] = ()

    def __init__(self, ctx: LossContext):
        if ctx.laplacian is None:
            raise ValueError("the photorealism loss needs the content's matting Laplacian")
        self.laplacian = ctx.laplacian

    def __call__(self, image: torch.Tensor, features: dict[str, torch.Tensor]) -> torch.Tensor:
        return photorealism_loss(image[0] / 255.0, self.laplacian)


class NimaTerm:
    """NIMA's quality term (Automated DPST): 10 minus the mean score the model predicts for the
    output, differentiable through the model."""

    layers: tuple[str, ...] = ()

    def __init__(self, ctx: LossContext):
        if ctx.nima is None:
            raise ValueError("the NIMA term needs a NIMA model")
        self.nima = ctx.nima

    def __call__(self, image: torch.Tensor, features: dict[str, torch.Tensor]) -> torch.Tensor:
        from photostyle.core.nima import quality_loss

        return quality_loss(self.nima, image / 255.0)


for _spec in (
    LossSpec("content", ContentTerm, description="content features (Gatys)"),
    LossSpec("gram", GramTerm, description="Gram matrices of the whole style image (Gatys)"),
    LossSpec("masked_gram", MaskedGramTerm, description="Gram matrices per paired region (DPST)"),
    LossSpec("tv", TVTerm, per_pixel=True, description="total variation"),
    LossSpec("photorealism", PhotorealismTerm, per_pixel=True, description="matting Laplacian (DPST)"),
    LossSpec("nima", NimaTerm, description="10 minus NIMA's mean score (Automated DPST)"),
):
    register_loss(_spec)


@dataclass
class WeightedTerm:
    """A term of an objective, with its effective weight."""

    name: str
    weight: float
    term: LossTerm


def weighted_terms(ctx: LossContext, weights: dict[str, float], pixel_scale: float = 1.0) -> list[WeightedTerm]:
    """The named terms with their weights, per-pixel ones rescaled by ``pixel_scale``; a term
    weighted 0 is left out."""
    terms = []
    for name, weight in weights.items():
        spec = LOSSES.get(name)
        if weight == 0:
            continue
        terms.append(WeightedTerm(name, weight * pixel_scale if spec.per_pixel else weight, spec.build(ctx)))
    return terms


class Objective:
    """The weighted sum of terms; one call returns the total and each term's weighted value."""

    def __init__(self, vgg: VGGFeatures, terms: list[WeightedTerm]):
        self.vgg = vgg
        self.terms = list(terms)
        self.layers = tuple(dict.fromkeys(layer for t in self.terms for layer in t.term.layers))

    def weights(self) -> dict[str, float]:
        """Each term's effective weight."""
        return {t.name: t.weight for t in self.terms}

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss of pixels ``x`` (1,3,H,W in [0,255]) and its weighted terms (read back in one go)."""
        features = self.vgg(x, self.layers) if self.layers else {}
        total: torch.Tensor | None = None
        parts = []
        for t in self.terms:
            part = t.weight * t.term(x, features)
            total = part if total is None else total + part
            parts.append(part.detach())
        if total is None:
            raise ValueError("an objective needs at least one term with a weight")
        values = torch.stack([total.detach(), *parts]).tolist()
        return total, dict(zip(["total", *(t.name for t in self.terms)], values))
