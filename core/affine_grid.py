"""The experimental method ``affine_grid``: style transfer by optimising a bilateral grid of 3x4
affine colour maps (HDRNet, Gharbi et al. 2017; bilateral guided upsampling, Chen et al. 2016)
instead of the output pixels, under DPST's losses (content + per-region Gram style + TV).

Each grid node holds a 3x4 matrix ``[A | b]``; a pixel's matrix is the trilinear interpolation of
the nodes at its (x, y, luminance), and its output colour is ``A c + b`` of its content colour c.
The result is a smooth, edge-aware colour map of the content: it cannot add texture or move
edges, needs no matting Laplacian, and the grid applies to the content at any size. It is affine
only where the map does not change along luminance: the matting Laplacian (3x3 windows) counts
the change across an edge whose sides fall in different luminance bins, so a stronger smoothness
weight or fewer bins lower that energy at the price of a weaker style.

The optimised tensor is the grid in output pixel units (0-255, the units VGG reads): a bias of 1
moves the output by one pixel level and a colour coefficient of 1 by at most one, so
``OptimizerConfig.lr`` keeps its meaning of a step on pixel values in [0, 255] (``PIXEL_RANGE``
is that internal scale factor). The smoothness term penalises differences between neighbouring
nodes; a constant grid (one global affine map) costs nothing.

Starts: ``transfer`` fits the grid to the per-region colour transfer (local least squares per
node, one solve: 0.2 s at 256 px on 2 CPU cores); ``content`` and ``noise`` start from the identity
grid (noise has no meaning for a colour map).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import partial
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import ConfigDict, Field

from photostyle.core.colour import region_colour_transfer
from photostyle.core.config import NeuralStyleConfig, OptimizerConfig
from photostyle.core.device import resolve_device
from photostyle.core.losses import LossContext, Objective, weighted_terms
from photostyle.core.methods import MethodInputs, MethodSpec, Progress, StyleResult, register_method
from photostyle.core.neural_style import _masks, _rescaled, last_layer, pixel_scale, scale_levels
from photostyle.core.optimize import run_stage, to_image, to_tensor
from photostyle.core.regions import strongest_region
from photostyle.core.vgg import VGGFeatures, build_vgg

#: Rec. 601 luma weights: the guide's luminance.
LUMA = (0.299, 0.587, 0.114)
#: Coefficients per node: a 3x4 affine colour map, row-major (``[a00 a01 a02 b0 a10 ...]``).
COEFFS = 12
#: The optimised grid's units: output pixel levels (VGG's [0, 255]) per unit of content colour.
PIXEL_RANGE = 255.0
#: Ridge of the per-node least-squares fit to the colour-transfer start, relative to a node's mean
#: pixel weight: pulls nodes with few pixels, or too little colour spread to pin an affine map, to
#: the global map. At 0.1 the start's neighbouring nodes differ by a few pixel levels instead of
#: tens, for 1-2 levels more RMS error against the transfer image (DPST pairs 1, 10, 25 at 256 px).
FIT_RIDGE = 0.1
STAGE = "affine_grid"


class AffineGridConfig(NeuralStyleConfig):
    """A bilateral grid of affine colour maps optimised under DPST's losses (experimental)."""

    model_config = ConfigDict(title="affine_grid")

    name: Literal["affine_grid"] = "affine_grid"
    cells_x: int = Field(16, ge=1, le=128, description="Grid nodes across the image's width.")
    cells_y: int = Field(16, ge=1, le=128, description="Grid nodes down the image's height.")
    luma_bins: int = Field(8, ge=1, le=64, description="Grid nodes along the content's luminance (the bilateral axis).")
    smooth_weight: float = Field(
        1e4,
        ge=0,
        description="Weight of the grid's smoothness: mean squared difference, in pixel levels, of "
        "neighbouring nodes' coefficients along x, y and luminance; 0 turns it off.",
    )


def identity_grid(
    cells_x: int = 16,
    cells_y: int = 16,
    bins: int = 8,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """A grid (1, 12, bins, cells_y, cells_x) whose every node is the identity colour map."""
    eye = torch.eye(3, 4, dtype=dtype, device=device).reshape(1, COEFFS, 1, 1, 1)
    return eye.expand(1, COEFFS, bins, cells_y, cells_x).contiguous()


def global_grid(matrix: torch.Tensor | np.ndarray, cells_x: int = 16, cells_y: int = 16, bins: int = 8) -> torch.Tensor:
    """A grid whose every node holds the same 3x4 affine colour map ``matrix``."""
    m = torch.as_tensor(matrix, dtype=torch.float32).reshape(1, COEFFS, 1, 1, 1)
    return m.expand(1, COEFFS, bins, cells_y, cells_x).contiguous()


def luminance_guide(image: torch.Tensor) -> torch.Tensor:
    """The guide (N, H, W) of an (N, 3, H, W) image in [0, 1]: its Rec. 601 luma, clamped to [0, 1]."""
    weights = image.new_tensor(LUMA).view(1, 3, 1, 1)
    return (image * weights).sum(1).clamp(0.0, 1.0)


def _lookup_coords(guide: torch.Tensor) -> torch.Tensor:
    """grid_sample coordinates (N, 1, H, W, 3) of every pixel: x and y across the image and the
    guide along the luminance axis, all in [-1, 1] (corners on the outer nodes)."""
    n, h, w = guide.shape
    ys = torch.linspace(-1.0, 1.0, h, device=guide.device, dtype=guide.dtype)
    xs = torch.linspace(-1.0, 1.0, w, device=guide.device, dtype=guide.dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    coords = torch.stack([gx.expand(n, h, w), gy.expand(n, h, w), guide * 2.0 - 1.0], dim=-1)
    return coords[:, None]


def slice_grid(grid: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Each pixel's coefficients (N, 12, H, W): the trilinear interpolation of the grid
    (N or 1, 12, D, Gy, Gx) at the pixel's position and guide value (N, H, W) in [0, 1].
    Differentiable in the grid (and the guide)."""
    coords = _lookup_coords(guide)
    if grid.shape[0] != coords.shape[0]:
        grid = grid.expand(coords.shape[0], *grid.shape[1:])
    sliced = F.grid_sample(grid, coords, mode="bilinear", padding_mode="border", align_corners=True)
    return sliced[:, :, 0]


def apply_coefficients(coeffs: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """``A c + b`` per pixel, for coefficients (N, 12, H, W) and colours c (N, 3, H, W)."""
    n, _, h, w = coeffs.shape
    m = coeffs.reshape(n, 3, 4, h, w)
    return (m[:, :, :3] * image[:, None]).sum(2) + m[:, :, 3]


def apply_grid(grid: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """The image (N, 3, H, W), colours in [0, 1], through the grid's affine colour maps, guided by its
    own luminance; the output is in the grid's units ([0, 1] for a plain grid, [0, 255] for one
    scaled by ``PIXEL_RANGE``). Any image size: the grid spans the image whatever its pixel count."""
    return apply_coefficients(slice_grid(grid, luminance_guide(image)), image)


def grid_smoothness(grid: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring nodes' coefficients, summed over the three axes
    (luminance, y, x); an axis of one node adds nothing."""
    total = grid.new_zeros(())
    for axis in (2, 3, 4):
        if grid.shape[axis] > 1:
            total = total + grid.diff(dim=axis).pow(2).mean()
    return total


def _splat(values: torch.Tensor, guide: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """The adjoint of slicing: each node's sum of per-pixel ``values`` (N, C, H, W) weighted by
    the pixel's trilinear weight for that node, as a grid (N, C, *shape)."""
    with torch.enable_grad():
        zeros = values.new_zeros((values.shape[0], values.shape[1], *shape), requires_grad=True)
        (grad,) = torch.autograd.grad((slice_grid(zeros, guide) * values).sum(), zeros)
    return grad


def _ridge_solve(normal: torch.Tensor, rhs: torch.Tensor, prior: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """3x4 maps A minimising ``sum w |A x - t|^2 + lam |A - prior|^2`` from the normal matrices
    ``sum w x x^T`` (..., 4, 4) and ``sum w t x^T`` (..., 3, 4)."""
    eye = torch.eye(4, dtype=normal.dtype, device=normal.device)
    return torch.linalg.solve(normal + lam * eye, (rhs + lam * prior).transpose(-1, -2)).transpose(-1, -2)


def fit_grid(
    source: torch.Tensor, target: torch.Tensor, cells_x: int, cells_y: int, bins: int, ridge: float = FIT_RIDGE
) -> torch.Tensor:
    """A grid mapping ``source`` (1, 3, H, W) in [0, 1] close to ``target`` (same size, [0, 1]):
    per node, the least-squares affine map over the pixels near it (weighted by their trilinear
    weights), ridge-regularised towards the least-squares global map, so that nodes no pixel
    reaches hold the global map. Local fits, not a joint solve: one global affine map is
    recovered exactly (up to the ridge), a spatially varying one approximately."""
    guide = luminance_guide(source)
    ones = torch.ones_like(source[:, :1])
    x = torch.cat([source, ones], 1)  # (1, 4, H, W)
    outer = (x[:, :, None] * x[:, None]).flatten(1, 2)  # (1, 16, H, W)
    cross = (target[:, :, None] * x[:, None]).flatten(1, 2)  # (1, 12, H, W)
    sums = _splat(torch.cat([outer, cross, ones], 1), guide, (bins, cells_y, cells_x))
    normal = sums[:, :16].permute(0, 2, 3, 4, 1).reshape(-1, 4, 4)
    rhs = sums[:, 16:28].permute(0, 2, 3, 4, 1).reshape(-1, 3, 4)
    lam = ridge * sums[:, 28].mean() + 1e-6
    identity = torch.eye(3, 4, dtype=source.dtype, device=source.device)
    overall = _ridge_solve(normal.sum(0), rhs.sum(0), identity, lam)
    coeffs = _ridge_solve(normal, rhs, overall, lam).reshape(1, bins, cells_y, cells_x, COEFFS)
    return coeffs.permute(0, 4, 1, 2, 3).contiguous()


class GridObjective:
    """DPST's losses of the image a grid (in pixel units) makes from the content, plus the grid's
    weighted smoothness; called like ``Objective`` so that ``run_stage`` optimises the grid."""

    def __init__(self, objective: Objective, content: torch.Tensor, smooth_weight: float):
        self.objective = objective
        self.content = content
        self.smooth_weight = smooth_weight

    def weights(self) -> dict[str, float]:
        """Each term's effective weight, the smoothness included."""
        return {**self.objective.weights(), "smoothness": self.smooth_weight}

    def __call__(self, grid: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss of the grid and its weighted terms (as ``Objective``)."""
        loss, terms = self.objective(apply_grid(grid, self.content))
        if self.smooth_weight:
            smooth = self.smooth_weight * grid_smoothness(grid)
            loss = loss + smooth
            terms["smoothness"] = float(smooth.detach())
            terms["total"] += terms["smoothness"]
        return loss, terms


def initial_grid(
    content: torch.Tensor, method: AffineGridConfig, optimizer: OptimizerConfig, transfer: Callable[[], np.ndarray]
) -> torch.Tensor:
    """The starting grid in pixel units: the identity (the content itself) for ``noise`` and
    ``content`` (noise has no meaning for a colour map), the local least-squares fit to the
    per-region colour transfer for ``transfer``."""
    shape = (method.cells_x, method.cells_y, method.luma_bins)
    if optimizer.init == "transfer":
        target = torch.from_numpy(np.ascontiguousarray(transfer().transpose(2, 0, 1)))[None].to(content)
        return fit_grid(content, target, *shape) * PIXEL_RANGE
    return identity_grid(*shape, device=content.device) * PIXEL_RANGE


def _level_objective(
    inputs: MethodInputs, method: AffineGridConfig, vgg: VGGFeatures, dev: torch.device
) -> tuple[GridObjective, Callable[[], np.ndarray]]:
    """The objective of a grid at the inputs' size, and the per-region colour transfer there."""
    pixels, style = to_tensor(inputs.content, dev), to_tensor(inputs.style, dev)
    cmasks, smasks = _masks(inputs, regions=True)
    ctx = LossContext(
        vgg,
        pixels,
        style,
        method.content_layers,
        method.style_layers,
        torch.from_numpy(cmasks).to(dev),
        torch.from_numpy(smasks).to(dev),
    )
    weights = {"content": method.content_weight, "masked_gram": method.style_weight, "tv": method.tv_weight}
    terms = weighted_terms(ctx, weights, pixel_scale(method, inputs.content.shape))
    transfer = partial(
        region_colour_transfer, inputs.content, inputs.style, strongest_region(cmasks), strongest_region(smasks)
    )
    return GridObjective(Objective(vgg, terms), pixels / 255.0, method.smooth_weight), transfer


def run_affine_grid(
    inputs: MethodInputs,
    method: AffineGridConfig,
    optimizer: OptimizerConfig,
    *,
    weights: str,
    device: torch.device | str,
    progress: Callable[[Progress], None] | None = None,
) -> StyleResult:
    """Optimise the grid under content + per-region Gram style + TV (+ smoothness) from the
    identity or the colour-transfer fit, at each of ``optimizer.scales`` sizes coarse to fine;
    the grid needs no carrying up between sizes, since it applies to the content at any size.
    The result is the content through the lowest-loss grid of the finest size."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    torch.manual_seed(optimizer.seed)
    start = time.perf_counter()
    vgg = build_vgg(weights, method.pooling, last_layer(method), str(dev))
    inputs = dataclasses.replace(inputs, laplacian=None)  # not read; a coarser size would rebuild it
    levels = scale_levels(inputs.content.shape[:2], optimizer.scales)
    history: list[dict] = []
    used: dict[str, dict[str, float]] = {}
    grid: torch.Tensor | None = None
    for shape in levels:
        level = inputs if shape == inputs.content.shape[:2] else _rescaled(inputs, shape)
        objective, transfer = _level_objective(level, method, vgg, dev)
        if grid is None:
            grid = initial_grid(objective.content, method, optimizer, transfer)
        stage = STAGE + (f"@{max(shape)}px" if len(levels) > 1 else "")
        used[stage] = objective.weights()
        grid = run_stage(objective, grid, optimizer, stage, progress, history)
    with torch.no_grad():
        image = to_image(apply_grid(grid, objective.content))
    return StyleResult(image, history, time.perf_counter() - start, str(dev), used)


register_method(
    MethodSpec(
        "affine_grid",
        AffineGridConfig,
        run_affine_grid,
        needs_regions=True,
        needs_laplacian=False,
        description="experimental: a bilateral grid of affine colour maps optimised under the DPST losses",
    )
)
