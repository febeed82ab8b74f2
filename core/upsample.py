"""The working-size result carried to the photo's own resolution by a local affine colour model
(the ``upsample`` stage).

A photorealistic result is, locally, an affine function of the content's colours. So the model is
fitted where the style was solved, at the working size: for every working pixel the 3x4 map
``[a | b]`` that best sends the content's colours to the result's over a small window (ridge
regularised least squares, then averaged over the window: He et al.'s guided filter coefficients;
the ridge pulls each map toward the one global map of the whole image, not toward zero, so a
window without contrast takes the image's colour mapping instead of flattening its detail).
The coefficient maps are smooth; they are interpolated bilinearly to the target resolution and
applied to the full-resolution content, whose own edges and detail they keep (He and Sun's fast
guided filter, the edge-aware affine model of DPST's and FastPhotoStyle's finishing steps).

A model of local affine maps cannot paint: any texture the optimisation left that is not a colour
function of the content is not carried over. The full-resolution image is made in strips of rows,
so memory grows with the output itself (3 bytes a pixel), not with the coefficients.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from photostyle.core.filters import global_affine, guided_coefficients

#: Window radius of the fit, in working-size pixels: small, so the model follows the result closely.
DEFAULT_RADIUS = 2
#: Ridge on the colour part of each local fit (colours in [0, 1]): keeps flat areas' maps tame.
DEFAULT_EPS = 1e-4
#: Full-resolution rows made at once: bounds the interpolated coefficients' memory.
STRIP_ROWS = 256


def fit_affine_model(
    content: np.ndarray, result: np.ndarray, radius: int = DEFAULT_RADIUS, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """The local affine colour model (h, w, 3, 4) float32 that maps the working-size ``content``
    to the working-size ``result`` (both h x w x 3 in [0, 1])."""
    if content.shape != result.shape or content.ndim != 3 or content.shape[2] != 3:
        raise ValueError(f"content {content.shape} and result {result.shape} must both be HxWx3")
    prior = global_affine(result, content)[:, :3]
    return guided_coefficients(result, content, radius=radius, eps=eps, prior=prior).astype(np.float32)


def apply_affine_model(
    coeffs: np.ndarray,
    content: np.ndarray,
    device: torch.device | str = "cpu",
    strip_rows: int = STRIP_ROWS,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The model ``coeffs`` (h, w, 3, 4) applied to ``content`` (H x W x 3, uint8 or float in
    [0, 1], any size): H x W x 3 uint8. Coefficients are interpolated bilinearly with pixel centres
    aligned; rows are processed ``strip_rows`` at a time; ``progress(done_rows, H)`` after each."""
    h, w = coeffs.shape[:2]
    height, width = content.shape[:2]
    grid = torch.from_numpy(np.ascontiguousarray(coeffs.reshape(h, w, 12).transpose(2, 0, 1)))[None].to(device)
    xs = ((torch.arange(width, device=device, dtype=torch.float32) + 0.5) / width) * 2.0 - 1.0
    scale = 1.0 / 255.0 if content.dtype == np.uint8 else 1.0
    out = np.empty((height, width, 3), dtype=np.uint8)
    for y0 in range(0, height, strip_rows):
        y1 = min(height, y0 + strip_rows)
        ys = ((torch.arange(y0, y1, device=device, dtype=torch.float32) + 0.5) / height) * 2.0 - 1.0
        where = torch.stack(torch.meshgrid(ys, xs, indexing="ij")[::-1], dim=-1)[None]
        maps = F.grid_sample(grid, where, mode="bilinear", padding_mode="border", align_corners=False)[0]
        maps = maps.reshape(3, 4, y1 - y0, width)
        colours = torch.from_numpy(np.array(content[y0:y1])).to(device).float().permute(2, 0, 1) * scale
        strip = torch.einsum("ijyx,jyx->iyx", maps[:, :3], colours) + maps[:, 3]
        strip = (strip * 255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0)
        out[y0:y1] = strip.cpu().numpy()
        if progress is not None:
            progress(y1, height)
    return out


def upsample_result(
    content_full: np.ndarray,
    content: np.ndarray,
    result: np.ndarray,
    radius: int = DEFAULT_RADIUS,
    eps: float = DEFAULT_EPS,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """The working-size ``result`` of the working-size ``content`` carried to ``content_full``'s
    resolution (H x W x 3 uint8). Where the sizes are equal the result is returned as it is."""
    if content_full.shape[:2] == result.shape[:2]:
        return np.clip(np.rint(result * 255.0), 0, 255).astype(np.uint8)
    return apply_affine_model(fit_affine_model(content, result, radius, eps), content_full, device)
