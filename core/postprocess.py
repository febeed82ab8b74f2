"""DPST's optional post-process "smooth local affine" (``cuda_utils.cu: smooth_local_affine``).

1. Best local affine: for every pixel p, the 3x4 map A_p = [a_p | b_p] that best sends the content
   colours [I;1] of p's (2r+1)^2 window (clipped at the border, as the CUDA kernel does) to the
   output colours, by ridge-regularised least squares. The ridge is on the colour part only, so
   ``a_p = cov(O,I) (cov(I,I) + eps I3)^-1`` and ``b_p = mean(O) - a_p mean(I)`` (a colour guided
   filter). The CUDA kernel ignores its ``epsilon`` argument and adds a fixed 1e-3 to the diagonal
   of the window *sums*, i.e. ``eps = 1e-3 / 9 ~ 1.1e-4`` in this normalisation; that value
   (``DPST_EPS``) is the default here, since it is what produced the published results.
2. Joint bilateral smoothing of the 12 coefficients over a square of radius ``filter_radius``,
   weight ``exp(-(dx^2+dy^2) / (2 s1^2)) * exp(-mean_c (I_q - I_p)^2 / (2 s2^2))`` with
   ``s1 = filter_radius / 3``, ``s2 = filter_edge``, guided by the content (as bilateral_smooth_kernel).
3. Reconstruction ``O'(p) = a_p I(p) + b_p`` with the smoothed coefficients, clipped to [0,1].
"""

from __future__ import annotations

import numpy as np

#: The regularisation the original CUDA kernel actually applies (1e-3 on 3x3 window sums).
DPST_EPS = 1e-3 / 9


def _box_sum(x: np.ndarray, radius: int) -> np.ndarray:
    """Sum of ``x`` (H,W,...) over each pixel's (2r+1)^2 window clipped to the image (cumulative sums)."""
    h, w = x.shape[:2]
    c = np.zeros((h + 1, w + 1) + x.shape[2:], dtype=np.float64)
    c[1:, 1:] = np.cumsum(np.cumsum(x, axis=0, dtype=np.float64), axis=1)
    y0 = np.clip(np.arange(h) - radius, 0, h)
    y1 = np.clip(np.arange(h) + radius + 1, 0, h)
    x0 = np.clip(np.arange(w) - radius, 0, w)
    x1 = np.clip(np.arange(w) + radius + 1, 0, w)
    return (c[y1][:, x1] - c[y0][:, x1] - c[y1][:, x0] + c[y0][:, x0])


def best_local_affine(output: np.ndarray, content: np.ndarray, eps: float = 1e-7,
                      radius: int = 1) -> np.ndarray:
    """Per-pixel best affine map (H,W,3,4) from content colours [I;1] to output colours in each window."""
    i = content.astype(np.float64)
    o = output.astype(np.float64)
    count = _box_sum(np.ones(i.shape[:2]), radius)[..., None]
    mu_i = _box_sum(i, radius) / count
    mu_o = _box_sum(o, radius) / count
    cov_ii = _box_sum(i[..., :, None] * i[..., None, :], radius) / count[..., None]
    cov_ii -= mu_i[..., :, None] * mu_i[..., None, :]
    cov_oi = _box_sum(o[..., :, None] * i[..., None, :], radius) / count[..., None]
    cov_oi -= mu_o[..., :, None] * mu_i[..., None, :]
    cov_ii += eps * np.eye(3)
    # a = cov_oi inv(cov_ii), i.e. a^T = inv(cov_ii) cov_oi^T (cov_ii symmetric)
    a = np.swapaxes(np.linalg.solve(cov_ii, np.swapaxes(cov_oi, -1, -2)), -1, -2)
    b = mu_o - np.einsum("yxij,yxj->yxi", a, mu_i)
    return np.concatenate([a, b[..., None]], axis=-1)


def bilateral_smooth(coeffs: np.ndarray, guide: np.ndarray, filter_radius: int = 15,
                     filter_edge: float = 0.01) -> np.ndarray:
    """Joint bilateral filter of per-pixel values (H,W,K) guided by an HxWx3 image (DPST's weights).

    A loop over the (2R+1)^2 offsets on shifted, zero-padded float32 arrays; pixels outside the
    image get weight 0, and the result is normalised by the sum of weights.
    """
    h, w, k = coeffs.shape
    rad = int(filter_radius)
    sigma_s = max(rad / 3.0, 1e-12)
    inv_range = -1.0 / (3.0 * 2.0 * filter_edge ** 2)  # the range distance is the channel mean
    pad = ((rad, rad), (rad, rad), (0, 0))
    vals = np.pad(np.moveaxis(coeffs.astype(np.float32), -1, 0), ((0, 0), (rad, rad), (rad, rad)))
    gpad = np.pad(guide.astype(np.float32), pad)
    valid = np.pad(np.ones((h, w), dtype=np.float32), rad)
    g = guide.astype(np.float32)
    acc = np.zeros((k, h, w), dtype=np.float32)
    wsum = np.zeros((h, w), dtype=np.float32)
    diff = np.empty((h, w, 3), dtype=np.float32)
    d2 = np.empty((h, w), dtype=np.float32)
    for dy in range(-rad, rad + 1):
        for dx in range(-rad, rad + 1):
            spatial = np.float32(-(dy * dy + dx * dx) / (2.0 * sigma_s ** 2))
            ys, xs = slice(rad + dy, rad + dy + h), slice(rad + dx, rad + dx + w)
            np.subtract(gpad[ys, xs], g, out=diff)
            np.einsum("yxc,yxc->yx", diff, diff, out=d2)
            d2 *= np.float32(inv_range)
            d2 += spatial
            np.exp(d2, out=d2)
            d2 *= valid[ys, xs]
            wsum += d2
            acc += d2 * vals[:, ys, xs]
    return np.moveaxis(acc / wsum, 0, -1)


def apply_affine(coeffs: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Per-pixel affine maps (H,W,3,4) applied to the content colours: a_p I(p) + b_p, as (H,W,3)."""
    i = content.astype(np.float64)
    return np.einsum("yxij,yxj->yxi", coeffs[..., :3], i) + coeffs[..., 3]


def smooth_local_affine(output: np.ndarray, content: np.ndarray, eps: float = DPST_EPS, radius: int = 1,
                        filter_radius: int = 15, filter_edge: float = 0.01) -> np.ndarray:
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


def guided_filter(values: np.ndarray, guide: np.ndarray, radius: int = 8, eps: float = 1e-2) -> np.ndarray:
    """He et al.'s colour guided filter of per-pixel values (H,W,K) by an HxWx3 image in [0,1].

    Edges of the values snap to the guide's edges: each output is locally an affine function of
    the guide's colours (the best local affine fit above, with its coefficients box-averaged).
    """
    if values.ndim != 3 or guide.shape[:2] != values.shape[:2] or guide.shape[2] != 3:
        raise ValueError(f"values {values.shape} must be (H,W,K) on a guide {guide.shape} of (H,W,3)")
    coeffs = best_local_affine(values, guide, eps=eps, radius=radius)
    count = _box_sum(np.ones(guide.shape[:2]), radius)[..., None, None]
    mean = _box_sum(coeffs, radius) / count
    return apply_affine(mean, guide).astype(np.float32)
