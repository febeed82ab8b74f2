"""The finishing step after the optimisation (the ``finish`` stage).

``affine``: DPST's smooth local affine post-process (``cuda_utils.cu: smooth_local_affine``):
1. best local affine: for every pixel p, the 3x4 map A_p = [a_p | b_p] that best sends the content
   colours [I;1] of p's (2r+1)^2 window (clipped at the border, as the CUDA kernel does) to the
   output colours (``filters.best_local_affine``). The CUDA kernel ignores its ``epsilon`` argument
   and adds a fixed 1e-3 to the diagonal of the window *sums*, i.e. ``eps = 1e-3 / 9`` in this
   normalisation; that value (``DPST_EPS``) is the default, since it produced the published results;
2. joint bilateral smoothing of the 12 coefficients, guided by the content
   (``filters.bilateral_smooth``, as DPST's bilateral_smooth_kernel);
3. reconstruction ``O'(p) = a_p I(p) + b_p`` with the smoothed coefficients, clipped to [0,1].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from photostyle.core.filters import apply_affine, best_local_affine, bilateral_smooth

if TYPE_CHECKING:
    from photostyle.core.config import FinishConfig

#: The regularisation the original CUDA kernel applies (1e-3 on the sums over 3x3 windows).
DPST_EPS = 1e-3 / 9
#: DPST's filter: radius 15 px, edge sensitivity 0.01.
DPST_FILTER_RADIUS, DPST_FILTER_EDGE = 15, 0.01


def smooth_local_affine(
    output: np.ndarray,
    content: np.ndarray,
    eps: float = DPST_EPS,
    radius: int = 1,
    filter_radius: int = DPST_FILTER_RADIUS,
    filter_edge: float = DPST_FILTER_EDGE,
) -> np.ndarray:
    """DPST's post-process: edge-aware smoothed best local affine map of content to output (HxWx3 float32).

    Removes the non-photorealistic residue of the optimisation (noise, colour bleeding across edges)
    by forcing the result to be, locally, an affine function of the content's colours.
    """
    if output.shape != content.shape or output.ndim != 3 or output.shape[2] != 3:
        raise ValueError(f"output {output.shape} and content {content.shape} must both be HxWx3")
    h, w, _ = content.shape
    coeffs = best_local_affine(output, content, eps=eps, radius=radius)
    smoothed = bilateral_smooth(coeffs.reshape(h, w, 12), content, filter_radius, filter_edge)
    result = apply_affine(smoothed.reshape(h, w, 3, 4).astype(np.float64), content)
    return np.clip(result, 0.0, 1.0).astype(np.float32)


def needs_finishing(config: FinishConfig) -> bool:
    """Whether the settings change the optimised image at all (else the stage is skipped)."""
    return config.postprocess != "none"


def finish(image: np.ndarray, content: np.ndarray, config: FinishConfig) -> np.ndarray:
    """The optimised ``image`` (HxWx3 in [0,1], the content's size) finished as ``config`` says."""
    if config.postprocess == "affine":
        return smooth_local_affine(image, content.astype(np.float32), filter_radius=config.affine_radius)
    return image
