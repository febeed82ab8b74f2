"""Gatys et al.'s neural style and Luan et al.'s Deep Photo Style Transfer on image pixels, the
methods ``gatys`` and ``dpst``.

``gatys``: one stage of content + Gram style (+ TV), no regions, no Laplacian.
``dpst``: stage 1 is segmented Gatys (a Gram matrix per paired region) from the optimiser's start;
stage 2 starts from stage 1's result and adds the photorealism regularisation
``lambda * sum_c V_c^T M V_c`` (Luan et al. 2017). Pixels are optimised in RGB [0, 255] as in the
reference code, so the published weights keep their balance; the Laplacian term sees the image in
[0, 1].
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from photostyle.core.colour import region_colour_transfer
from photostyle.core.config import VGG_LAYERS, DPSTConfig, GatysConfig, NeuralStyleConfig, OptimizerConfig
from photostyle.core.device import resolve_device
from photostyle.core.imageio import long_side_shape, min_long_side, resize_long_side, resize_to
from photostyle.core.laplacian import matting_laplacian, to_torch_sparse
from photostyle.core.losses import LossContext, Objective, weighted_terms
from photostyle.core.methods import MethodInputs, MethodSpec, Progress, StyleResult, quality_at, register_method
from photostyle.core.optimize import initial_image, run_stage, to_image, to_tensor
from photostyle.core.regions import region_weights, strongest_region
from photostyle.core.upsample import upsample_result
from photostyle.core.vgg import VGGFeatures, build_vgg

#: The smallest long side a coarse size of the coarse-to-fine schedule may have.
MIN_LEVEL_SIDE = 64


def last_layer(method: NeuralStyleConfig) -> str:
    """The deepest layer the losses read, so the trunk can be cut there."""
    return max(method.content_layers + method.style_layers, key=VGG_LAYERS.index)


def pixel_scale(method: NeuralStyleConfig, shape: tuple[int, ...]) -> float:
    """The factor of the per-pixel terms' weights at this image size."""
    return method.reference_pixels / (shape[0] * shape[1]) if method.reference_pixels else 1.0


def _masks(inputs: MethodInputs, regions: bool) -> tuple[np.ndarray, np.ndarray]:
    """The region weights the style loss uses: the given pairs, or one whole-image region."""
    if regions and inputs.content_masks is not None and inputs.style_masks is not None:
        return (
            region_weights(inputs.content_masks, inputs.content.shape[:2]),
            region_weights(inputs.style_masks, inputs.style.shape[:2]),
        )
    return (np.ones((1, *inputs.content.shape[:2]), np.float32), np.ones((1, *inputs.style.shape[:2]), np.float32))


def scale_levels(shape: tuple[int, int], scales: int) -> list[tuple[int, int]]:
    """The sizes (H, W) solved coarse to fine: the working size halved ``scales - 1`` times, then
    doubled back; sizes whose long side would fall under ``MIN_LEVEL_SIDE``, or whose short side
    would be too small for the network (a strip, a panorama), are left out."""
    long_side = max(shape)
    smallest = max(MIN_LEVEL_SIDE, min_long_side(shape))
    sides = [round(long_side / 2**k) for k in range(scales - 1, 0, -1)]
    return [long_side_shape(shape, side) for side in sides if side >= smallest] + [tuple(shape)]


def _rescaled(inputs: MethodInputs, shape: tuple[int, int]) -> MethodInputs:
    """The inputs at a smaller content size ``shape``: the style scaled by the same factor, the
    region weights resized, the matting Laplacian built again when the method reads one."""
    factor = shape[0] / inputs.content.shape[0]
    style_side = max(min_long_side(inputs.style.shape[:2]), round(max(inputs.style.shape[:2]) * factor))
    style = resize_long_side(inputs.style, style_side)

    def masks(weights: np.ndarray | None, size: tuple[int, ...]) -> np.ndarray | None:
        if weights is None:
            return None
        resized = resize_to(np.moveaxis(np.asarray(weights, np.float32), 0, -1), size[:2])
        return np.ascontiguousarray(np.moveaxis(resized.reshape(*size[:2], -1), -1, 0))

    content = resize_to(inputs.content, shape)
    laplacian = matting_laplacian(content) if inputs.laplacian is not None else None
    return MethodInputs(
        content,
        style,
        masks(inputs.content_masks, shape),
        masks(inputs.style_masks, style.shape),
        laplacian,
        inputs.nima,
    )


def _solve(
    inputs: MethodInputs,
    method: NeuralStyleConfig,
    optimizer: OptimizerConfig,
    vgg: VGGFeatures,
    dev: torch.device,
    x0: np.ndarray | None,
    progress: Callable[[Progress], None] | None,
    history: list[dict],
    photorealistic: bool,
    label: str = "",
) -> tuple[torch.Tensor, dict[str, dict[str, float]]]:
    """One size's optimisation: from the configured start (``x0`` None: first stage included) or
    from ``x0`` (the coarser size's result carried up: the first stage is left out); returns the
    pixels and each stage's term weights."""
    content, style = to_tensor(inputs.content, dev), to_tensor(inputs.style, dev)
    cmasks, smasks = _masks(inputs, regions=photorealistic)
    ctx = LossContext(
        vgg,
        content,
        style,
        method.content_layers,
        method.style_layers,
        torch.from_numpy(cmasks).to(dev),
        torch.from_numpy(smasks).to(dev),
        nima=inputs.nima,
    )
    scale = pixel_scale(method, inputs.content.shape)
    style_term = "masked_gram" if photorealistic else "gram"
    terms = weighted_terms(
        ctx,
        {
            "content": method.content_weight,
            style_term: method.style_weight,
            "tv": method.tv_weight,
            "nima": method.nima_weight,
        },
        scale,
    )
    objective = Objective(vgg, terms)
    stage = ("segmented" if photorealistic else "gatys") + label
    used = {}
    if x0 is None or not photorealistic:
        transfer = partial(
            region_colour_transfer, inputs.content, inputs.style, strongest_region(cmasks), strongest_region(smasks)
        )
        start = initial_image(content, optimizer, transfer) if x0 is None else to_tensor(x0, dev)
        first = method.first_stage_iterations if isinstance(method, DPSTConfig) else None
        used[stage] = objective.weights()
        x = run_stage(objective, start, optimizer, stage, progress, history, first)
    else:
        x = to_tensor(x0, dev)
    if photorealistic:
        assert isinstance(method, DPSTConfig)
        ctx = dataclasses.replace(ctx, laplacian=to_torch_sparse(inputs.laplacian, dev))
        objective = Objective(vgg, terms + weighted_terms(ctx, {"photorealism": method.photo_weight}, scale))
        used["photorealistic" + label] = objective.weights()
        x = run_stage(objective, x, optimizer, "photorealistic" + label, progress, history)
    return x, used


def _run(
    inputs: MethodInputs,
    method: NeuralStyleConfig,
    optimizer: OptimizerConfig,
    weights: str,
    device: torch.device | str,
    progress: Callable[[Progress], None] | None,
    photorealistic: bool,
) -> StyleResult:
    """Gatys (one stage, whole-image Gram matrices) or, with ``photorealistic``, DPST (a Gram
    matrix per paired region, then a second stage from the first's result with the photorealism
    term added to the same losses), at each of ``optimizer.scales`` sizes, coarse to fine, each
    size starting from the coarser one's result carried up by a local affine colour model. NIMA's
    quality term joins at the working size only (``quality_at``)."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    torch.manual_seed(optimizer.seed)
    start = time.perf_counter()
    vgg = build_vgg(weights, method.pooling, last_layer(method), str(dev))
    levels = scale_levels(inputs.content.shape[:2], optimizer.scales)
    history: list[dict] = []
    used: dict[str, dict[str, float]] = {}
    x0, previous = None, None
    for index, shape in enumerate(levels):
        level = inputs if shape == inputs.content.shape[:2] else _rescaled(inputs, shape)
        if previous is not None:
            x0 = upsample_result(level.content, *previous, device=dev).astype(np.float32) / 255.0
        label = f"@{max(shape)}px" if len(levels) > 1 else ""
        solved = quality_at(method, final=index == len(levels) - 1)
        x, stage_used = _solve(level, solved, optimizer, vgg, dev, x0, progress, history, photorealistic, label)
        used.update(stage_used)
        previous = (level.content, to_image(x))
    return StyleResult(previous[1], history, time.perf_counter() - start, str(dev), used)


def run_gatys(
    inputs: MethodInputs,
    method: GatysConfig,
    optimizer: OptimizerConfig,
    *,
    weights: str,
    device: torch.device | str,
    progress: Callable[[Progress], None] | None = None,
) -> StyleResult:
    """Gatys' neural style: one stage, content + Gram style (+ TV), regions ignored."""
    return _run(inputs, method, optimizer, weights, device, progress, photorealistic=False)


def run_dpst(
    inputs: MethodInputs,
    method: DPSTConfig,
    optimizer: OptimizerConfig,
    *,
    weights: str,
    device: torch.device | str,
    progress: Callable[[Progress], None] | None = None,
) -> StyleResult:
    """DPST: segmented Gatys, then the same losses plus lambda times the photorealism term."""
    return _run(inputs, method, optimizer, weights, device, progress, photorealistic=True)


register_method(MethodSpec("gatys", GatysConfig, run_gatys, description="Gatys et al.'s neural style"))
register_method(
    MethodSpec(
        "dpst",
        DPSTConfig,
        run_dpst,
        needs_regions=True,
        needs_laplacian=True,
        description="Deep Photo Style Transfer (Luan et al. 2017)",
    )
)
