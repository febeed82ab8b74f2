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
from photostyle.core.laplacian import to_torch_sparse
from photostyle.core.losses import LossContext, Objective, weighted_terms
from photostyle.core.methods import MethodInputs, MethodSpec, Progress, StyleResult, register_method
from photostyle.core.optimize import initial_image, run_stage, to_image, to_tensor
from photostyle.core.regions import region_weights, strongest_region
from photostyle.core.vgg import build_vgg


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
    term added to the same losses)."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    torch.manual_seed(optimizer.seed)
    start = time.perf_counter()
    vgg = build_vgg(weights, method.pooling, last_layer(method), str(dev))
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
    )
    scale = pixel_scale(method, inputs.content.shape)
    style_term = "masked_gram" if photorealistic else "gram"
    terms = weighted_terms(
        ctx, {"content": method.content_weight, style_term: method.style_weight, "tv": method.tv_weight}, scale
    )
    history: list[dict] = []
    objective = Objective(vgg, terms)
    transfer = partial(
        region_colour_transfer, inputs.content, inputs.style, strongest_region(cmasks), strongest_region(smasks)
    )
    stage = "segmented" if photorealistic else "gatys"
    used = {stage: objective.weights()}
    x = run_stage(objective, initial_image(content, optimizer, transfer), optimizer, stage, progress, history)
    if photorealistic:
        assert isinstance(method, DPSTConfig)
        ctx = dataclasses.replace(ctx, laplacian=to_torch_sparse(inputs.laplacian, dev))
        objective = Objective(vgg, terms + weighted_terms(ctx, {"photorealism": method.photo_weight}, scale))
        used["photorealistic"] = objective.weights()
        x = run_stage(objective, x, optimizer, "photorealistic", progress, history)
    return StyleResult(to_image(x), history, time.perf_counter() - start, str(dev), used)


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
