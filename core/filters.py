"""Edge-aware filters on images in [0, 1]: box sums, local affine colour fits, the guided filter and
the joint bilateral filter. Shared by the finishing step, soft region borders and co-segmentation."""

from __future__ import annotations

import numpy as np


def box_sum(x: np.ndarray, radius: int) -> np.ndarray:
    """Sum of ``x`` (H,W,...) over each pixel's (2r+1)^2 window clipped to the image (cumulative sums)."""
    h, w = x.shape[:2]
    c = np.zeros((h + 1, w + 1) + x.shape[2:], dtype=np.float64)
    c[1:, 1:] = np.cumsum(np.cumsum(x, axis=0, dtype=np.float64), axis=1)
    y0 = np.clip(np.arange(h) - radius, 0, h)
    y1 = np.clip(np.arange(h) + radius + 1, 0, h)
    x0 = np.clip(np.arange(w) - radius, 0, w)
    x1 = np.clip(np.arange(w) + radius + 1, 0, w)
    return c[y1][:, x1] - c[y0][:, x1] - c[y1][:, x0] + c[y0][:, x0]


def best_local_affine(
    output: np.ndarray, content: np.ndarray, eps: float = 1e-7, radius: int = 1, prior: np.ndarray | None = None
) -> np.ndarray:
    """Per-pixel best affine map (H,W,K,4) from content colours [I;1] to output values (H,W,K) in
    each pixel's window, by ridge-regularised least squares (the ridge on the colour part only):
    ``a = (cov(O,I) + eps P) (cov(I,I) + eps I3)^-1``, ``b = mean(O) - a mean(I)``, where the
    ridge pulls ``a`` toward ``prior`` P (K,3) (zero when None) in windows of little contrast."""
    i = content.astype(np.float64)
    o = output.astype(np.float64)
    count = box_sum(np.ones(i.shape[:2]), radius)[..., None]
    mu_i = box_sum(i, radius) / count
    mu_o = box_sum(o, radius) / count
    cov_ii = box_sum(i[..., :, None] * i[..., None, :], radius) / count[..., None]
    cov_ii -= mu_i[..., :, None] * mu_i[..., None, :]
    cov_oi = box_sum(o[..., :, None] * i[..., None, :], radius) / count[..., None]
    cov_oi -= mu_o[..., :, None] * mu_i[..., None, :]
    cov_ii += eps * np.eye(3)
    if prior is not None:
        cov_oi += eps * prior
    # a = cov_oi inv(cov_ii), i.e. a^T = inv(cov_ii) cov_oi^T (cov_ii symmetric)
    a = np.swapaxes(np.linalg.solve(cov_ii, np.swapaxes(cov_oi, -1, -2)), -1, -2)
    b = mu_o - np.einsum("yxij,yxj->yxi", a, mu_i)
    return np.concatenate([a, b[..., None]], axis=-1)


def apply_affine(coeffs: np.ndarray, content: np.ndarray) -> np.ndarray:
    """Per-pixel affine maps (H,W,K,4) applied to the content colours: a_p I(p) + b_p, as (H,W,K)."""
    i = content.astype(np.float64)
    return np.einsum("yxij,yxj->yxi", coeffs[..., :3], i) + coeffs[..., 3]


def bilateral_smooth(
    values: np.ndarray, guide: np.ndarray, filter_radius: int = 15, filter_edge: float = 0.01
) -> np.ndarray:
    """Joint bilateral filter of per-pixel values (H,W,K) guided by an HxWx3 image, with DPST's
    weights ``exp(-(dx^2+dy^2) / (2 s1^2)) * exp(-mean_c (I_q - I_p)^2 / (2 s2^2))``,
    ``s1 = filter_radius / 3``, ``s2 = filter_edge``.

    A loop over the (2R+1)^2 offsets on shifted, zero-padded float32 arrays; pixels outside the
    image get weight 0, and the result is normalised by the sum of weights.
    """
    h, w, k = values.shape
    rad = int(filter_radius)
    sigma_s = max(rad / 3.0, 1e-12)
    inv_range = -1.0 / (3.0 * 2.0 * filter_edge**2)  # the range distance is the channel mean
    pad = ((rad, rad), (rad, rad), (0, 0))
    vals = np.pad(np.moveaxis(values.astype(np.float32), -1, 0), ((0, 0), (rad, rad), (rad, rad)))
    gpad = np.pad(guide.astype(np.float32), pad)
    valid = np.pad(np.ones((h, w), dtype=np.float32), rad)
    g = guide.astype(np.float32)
    acc = np.zeros((k, h, w), dtype=np.float32)
    wsum = np.zeros((h, w), dtype=np.float32)
    diff = np.empty((h, w, 3), dtype=np.float32)
    d2 = np.empty((h, w), dtype=np.float32)
    for dy in range(-rad, rad + 1):
        for dx in range(-rad, rad + 1):
            spatial = np.float32(-(dy * dy + dx * dx) / (2.0 * sigma_s**2))
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


def guided_filter(values: np.ndarray, guide: np.ndarray, radius: int = 8, eps: float = 1e-2) -> np.ndarray:
    """He et al.'s colour guided filter of per-pixel values (H,W,K) by an HxWx3 image in [0,1].

    Edges of the values snap to the guide's edges: each output is locally an affine function of
    the guide's colours (the best local affine fit, with its coefficients box-averaged).
    """
    if values.ndim != 3 or guide.shape[:2] != values.shape[:2] or guide.shape[2] != 3:
        raise ValueError(f"values {values.shape} must be (H,W,K) on a guide {guide.shape} of (H,W,3)")
    return apply_affine(guided_coefficients(values, guide, radius, eps), guide).astype(np.float32)


def global_affine(values: np.ndarray, guide: np.ndarray, eps: float = 1e-9) -> np.ndarray:
    """The one affine map (K,4) from the guide's colours [I;1] to the values (H,W,K) that fits best
    over the whole image (least squares, a tiny ridge on the colour part)."""
    i = guide.reshape(-1, 3).astype(np.float64)
    o = values.reshape(-1, values.shape[-1]).astype(np.float64)
    mu_i, mu_o = i.mean(0), o.mean(0)
    cov_ii = (i - mu_i).T @ (i - mu_i) / len(i) + eps * np.eye(3)
    cov_oi = (o - mu_o).T @ (i - mu_i) / len(i)
    a = np.linalg.solve(cov_ii, cov_oi.T).T
    return np.concatenate([a, (mu_o - a @ mu_i)[:, None]], axis=1)


def guided_coefficients(
    values: np.ndarray, guide: np.ndarray, radius: int = 8, eps: float = 1e-2, prior: np.ndarray | None = None
) -> np.ndarray:
    """The guided filter's per-pixel affine maps (H,W,K,4) from the guide's colours [I;1] to the
    values: each window's best affine fit (its ridge pulling toward ``prior``, see
    ``best_local_affine``), averaged over the windows that hold the pixel. Smooth maps, so they can
    also be interpolated to another resolution of the guide."""
    coeffs = best_local_affine(values, guide, eps=eps, radius=radius, prior=prior)
    count = box_sum(np.ones(guide.shape[:2]), radius)[..., None, None]
    return box_sum(coeffs, radius) / count
