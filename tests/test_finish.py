"""DPST's "smooth local affine" post-process."""

from __future__ import annotations

import numpy as np
import pytest

import synthetic
from photostyle.core.finish import smooth_local_affine
from photostyle.core.laplacian import laplacian_energy, matting_laplacian

A = np.array([[0.7, 0.2, 0.0], [0.1, 0.6, 0.2], [0.0, 0.3, 0.5]])
B = np.array([0.1, 0.05, 0.2])


def natural_like(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """The shared synthetic photo at this module's default size, 8-bit quantised."""
    return synthetic.natural_like(h, w, seed, quantise=True)


def reference(
    output: np.ndarray, content: np.ndarray, eps: float, radius: int, filter_radius: int, filter_edge: float
) -> np.ndarray:
    """Literal per-pixel transcription of the CUDA kernels' semantics (ridge eps*n on window sums)."""
    h, w, _ = content.shape
    i, o = content.astype(np.float64), output.astype(np.float64)
    coeffs = np.zeros((h, w, 3, 4))
    for y in range(h):
        for x in range(w):
            win = (slice(max(y - radius, 0), y + radius + 1), slice(max(x - radius, 0), x + radius + 1))
            m = np.concatenate([i[win].reshape(-1, 3), np.ones((i[win].size // 3, 1))], axis=1)
            s = o[win].reshape(-1, 3)
            mtm = m.T @ m + eps * len(m) * np.diag([1.0, 1.0, 1.0, 0.0])
            coeffs[y, x] = np.linalg.solve(mtm, m.T @ s).T
    smooth = np.zeros_like(coeffs)
    s1 = filter_radius / 3
    for y in range(h):
        for x in range(w):
            total, wsum = 0.0, 0.0
            for dy in range(-filter_radius, filter_radius + 1):
                for dx in range(-filter_radius, filter_radius + 1):
                    yy, xx = y + dy, x + dx
                    if 0 <= yy < h and 0 <= xx < w:
                        d2 = np.sum((i[yy, xx] - i[y, x]) ** 2) / 3
                        wt = np.exp(-(dx * dx + dy * dy) / (2 * s1 * s1)) * np.exp(-d2 / (2 * filter_edge**2))
                        total = total + wt * coeffs[yy, xx]
                        wsum += wt
            smooth[y, x] = total / wsum
    out = np.einsum("yxij,yxj->yxi", smooth[..., :3], i) + smooth[..., 3]
    return np.clip(out, 0, 1)


def test_matches_literal_reference():
    content = natural_like(10, 13, seed=1)
    rng = np.random.default_rng(2)
    output = np.clip(content @ A.T + B + rng.normal(0, 0.05, content.shape), 0, 1).astype(np.float32)
    got = smooth_local_affine(output, content, eps=1e-4, radius=1, filter_radius=3, filter_edge=0.05)
    want = reference(output, content, eps=1e-4, radius=1, filter_radius=3, filter_edge=0.05)
    np.testing.assert_allclose(got, want, atol=2e-4)


def test_global_affine_transform_is_kept():
    content = natural_like()
    output = (content @ A.T + B).astype(np.float32)
    assert output.min() >= 0 and output.max() <= 1
    # with a small ridge the fit is exact; the original's larger ridge (the default) shrinks slopes
    result = smooth_local_affine(output, content, eps=1e-7)
    np.testing.assert_allclose(result, output, atol=2e-3)
    assert np.abs(result - output).mean() < 2e-4


def test_reduces_photorealism_energy_of_noisy_stylised_image():
    content = natural_like()
    rng = np.random.default_rng(3)
    clean = content @ A.T + B
    noisy = np.clip(clean + rng.normal(0, 0.05, content.shape), 0, 1).astype(np.float32)
    result = smooth_local_affine(noisy, content)
    lap = matting_laplacian(content)
    assert laplacian_energy(result, lap) < laplacian_energy(noisy, lap) / 20  # ~45x here
    assert np.abs(result - clean).mean() < 0.5 * np.abs(noisy - clean).mean()


def test_edge_aware_keeps_different_maps_apart():
    # left and right halves have distinct colours and were stylised by different affine maps
    content = natural_like(32, 48, seed=4)
    content[:, 24:] = content[:, 24:][..., ::-1] * 0.5
    output = content @ A.T + B
    output[:, 24:] = content[:, 24:] @ A[::-1].T + B[::-1]
    output = np.clip(output, 0, 1).astype(np.float32)
    err_aware = np.abs(smooth_local_affine(output, content) - output)
    err_blind = np.abs(smooth_local_affine(output, content, filter_edge=1e3) - output)
    assert err_aware.mean() < 0.25 * err_blind.mean()
    assert np.delete(err_aware, [22, 23, 24, 25], axis=1).max() < 0.05


def test_shape_dtype_and_range():
    content = natural_like(33, 40, seed=5)
    output = np.random.default_rng(6).random(content.shape).astype(np.float32)
    result = smooth_local_affine(output, content, filter_radius=5)
    assert result.shape == content.shape and result.dtype == np.float32
    assert result.min() >= 0.0 and result.max() <= 1.0
    assert np.isfinite(result).all()


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        smooth_local_affine(np.zeros((8, 8, 3), np.float32), np.zeros((8, 9, 3), np.float32))
