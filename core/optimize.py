"""The pixel optimiser: L-BFGS or Adam on an image's pixel values in [0, 255], keeping the
lowest-loss image, and the starting images it can take."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from photostyle.core.interrupt import check_interrupted
from photostyle.core.methods import Progress

if TYPE_CHECKING:
    from photostyle.core.config import OptimizerConfig
    from photostyle.core.losses import Objective

#: DPST initialises stage 1 with this much Gaussian noise (0-255 units) around the mean pixel.
NOISE_STD = 1e-4
#: ImageNet's mean pixel (RGB, 0-255), DPST's noise start.
MEAN_PIXEL_RGB = (123.68, 116.779, 103.939)
#: Past gradients L-BFGS keeps (neural-style / DPST: 100).
LBFGS_HISTORY = 100


def to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 [0,1] array to a (1,3,H,W) tensor of pixel values in [0,255]."""
    pixels = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()
    return pixels.to(device) * 255.0


def to_image(pixels: torch.Tensor) -> np.ndarray:
    """(1,3,H,W) pixel values in [0,255] to an HxWx3 float32 array in [0,1]."""
    return (pixels[0] / 255.0).clamp(0, 1).permute(1, 2, 0).detach().cpu().numpy().astype(np.float32)


def initial_image(
    content: torch.Tensor, optimizer: OptimizerConfig, transfer: Callable[[], np.ndarray] | None = None
) -> torch.Tensor:
    """The first stage's starting pixels.

    ``noise``: DPST's (mean pixel plus tiny Gaussian noise); ``content``: the content photo;
    ``transfer``: the content with each region's colour statistics matched to the style's,
    computed by the ``transfer`` callable only when needed. ``optimizer.start_noise`` adds
    Gaussian noise of that standard deviation, drawn from the seed, to any of them.
    """
    gen = torch.Generator().manual_seed(optimizer.seed)
    if optimizer.init == "content":
        start = content.clone()
    elif optimizer.init == "transfer":
        if transfer is None:
            raise ValueError("init 'transfer' needs the style image")
        start = to_tensor(transfer(), content.device)
    else:
        noise = torch.randn(content.shape, generator=gen) * NOISE_STD
        start = (torch.tensor(MEAN_PIXEL_RGB).view(1, 3, 1, 1) + noise).to(content.device)
    if optimizer.start_noise > 0:
        jitter = torch.randn(content.shape, generator=gen) * optimizer.start_noise
        start = (start + jitter.to(content.device)).clamp(0, 255)
    return start


class Converged(Exception):
    """Raised inside an optimiser step to end a stage that has stopped improving."""


def converged(bests: list[float], optimizer: OptimizerConfig) -> bool:
    """Whether the lowest loss so far improved by less than ``optimizer.tolerance`` (relative)
    over the last ``optimizer.patience`` steps; never with a tolerance of 0."""
    if optimizer.tolerance <= 0 or len(bests) <= optimizer.patience:
        return False
    before, now = bests[-1 - optimizer.patience], bests[-1]
    return before - now < optimizer.tolerance * abs(now)


def run_stage(
    objective: Objective,
    x0: torch.Tensor,
    optimizer: OptimizerConfig,
    stage: str,
    progress: Callable[[Progress], None] | None,
    history: list[dict],
    iterations: int | None = None,
) -> torch.Tensor:
    """Optimise pixels from ``x0`` for ``iterations`` steps (default ``optimizer.iterations``), or
    until the loss stops improving (``optimizer.tolerance``); return the lowest-loss image. Every
    step appends its loss and weighted terms to ``history``."""
    total = optimizer.iterations if iterations is None else iterations
    x = x0.clone().requires_grad_(True)
    best = {"loss": float("inf"), "x": x0.clone()}
    bests: list[float] = []

    def closure() -> torch.Tensor:
        check_interrupted()
        if converged(bests, optimizer) or len(bests) >= total:
            raise Converged
        opt.zero_grad()
        loss, terms = objective(x)
        loss.backward()
        value = terms.pop("total")
        if value < best["loss"]:
            best["loss"], best["x"] = value, x.detach().clone()
        bests.append(best["loss"])
        history.append({"stage": stage, "iteration": len(bests), "loss": value, **terms})
        if progress is not None:
            progress(Progress(stage, len(bests), total, value, terms))
        return loss

    if total < 1:
        return x0.clone()
    try:
        if optimizer.algorithm == "lbfgs":
            opt = torch.optim.LBFGS(
                [x],
                lr=optimizer.lr,
                max_iter=total,
                max_eval=total,
                tolerance_grad=-1,
                tolerance_change=-1,
                history_size=LBFGS_HISTORY,
            )
            opt.step(closure)
        else:
            opt = torch.optim.Adam([x], lr=optimizer.lr)
            for _ in range(total):
                opt.step(closure)
    except Converged:
        pass
    return best["x"]


def kept_step(history: list[dict]) -> dict | None:
    """The history entry of the image a run keeps: the lowest loss of its last stage
    (``run_stage`` returns the lowest-loss image, and L-BFGS may end on a worse step); None for an
    empty history."""
    if not history:
        return None
    last = history[-1]["stage"]
    return min((h for h in history if h["stage"] == last), key=lambda h: h["loss"])


def kept_loss(history: list[dict]) -> float | None:
    """The loss of the image a run keeps (``kept_step``); None for an empty history."""
    kept = kept_step(history)
    return None if kept is None else kept["loss"]
