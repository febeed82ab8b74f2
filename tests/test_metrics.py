"""Tests of core/metrics.py: structure, Lab, sliced Wasserstein, style distance, photorealism."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import ndimage

from photostyle.core.metrics import (
    Scores,
    SortedColours,
    photorealism,
    rgb_to_lab,
    score_all,
    sliced_wasserstein,
    sorted_projections,
    structure,
    style_distance,
    style_sides,
)


def textured(h: int = 64, w: int = 80, seed: int = 0) -> np.ndarray:
    """Synthetic photo-like image: hard-edged stripes, a disc, blurred colour noise (photo-like contrast)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = 0.5 + 0.3 * np.sign(np.sin(25 * xx)) * np.cos(9 * yy)
    disc = ((yy - 0.4) ** 2 + (xx - 0.5) ** 2 < 0.04).astype(float) * 0.3
    noise = ndimage.gaussian_filter(rng.standard_normal((h, w, 3)), (1.0, 1.0, 0)) * 0.3
    img = np.stack([base + disc, base * 0.9, 1.0 - base - disc], axis=-1) + noise
    return np.clip(img, 0, 1).astype(np.float32)


def noise_image(mean: tuple[float, float, float], std: float, h: int, w: int, seed: int) -> np.ndarray:
    """Gaussian colour noise around ``mean``, clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    return np.clip(np.array(mean) + std * rng.standard_normal((h, w, 3)), 0, 1).astype(np.float32)


def grid_laplacian(h: int, w: int) -> sp.csr_matrix:
    """4-neighbour graph Laplacian of an h x w grid (rows sum to 0), row-major pixel order."""
    idx = np.arange(h * w).reshape(h, w)
    rows = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    cols = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    adj = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(h * w, h * w))
    adj = (adj + adj.T).tocsr()
    return (sp.diags(np.asarray(adj.sum(axis=1)).ravel()) - adj).tocsr()


# --- structure ---------------------------------------------------------------------------------


def test_structure_identical_is_one():
    img = textured()
    assert structure(img, img) == pytest.approx(1.0, abs=1e-12)


def test_structure_drops_for_blur_and_shuffle():
    img = textured()
    blurred = ndimage.gaussian_filter(img, (4, 4, 0))
    rng = np.random.default_rng(1)
    shuffled = rng.permutation(img.reshape(-1, 3)).reshape(img.shape)
    s_blur, s_shuf = structure(img, blurred), structure(img, shuffled)
    assert s_blur < 0.4
    assert s_shuf < 0.2
    assert structure(img, ndimage.gaussian_filter(img, (1, 1, 0))) > s_blur  # monotone in blur


def test_structure_high_for_global_retoning():
    img = textured()
    retoned = np.clip(img * np.array([1.1, 0.85, 0.7]) + np.array([0.02, 0.05, 0.1]), 0, 1)
    assert structure(img, retoned) > 0.8


def test_structure_shape_mismatch_raises():
    with pytest.raises(ValueError):
        structure(textured(32, 40), textured(40, 32))


# --- Lab -----------------------------------------------------------------------------------------


def test_rgb_to_lab_known_values():
    rgb = np.array([[[1, 1, 1], [1, 0, 0]], [[0, 0, 0], [0, 1, 0]]], dtype=np.float32)
    lab = rgb_to_lab(rgb)
    assert lab.shape == (2, 2, 3)
    np.testing.assert_allclose(lab[0, 0], [100, 0, 0], atol=1e-6)
    np.testing.assert_allclose(lab[0, 1], [53.24, 80.09, 67.20], atol=0.01)
    np.testing.assert_allclose(lab[1, 0], [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(lab[1, 1], [87.73, -86.18, 83.18], atol=0.01)


# --- sliced Wasserstein --------------------------------------------------------------------------


def test_sliced_wasserstein_properties():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 3))
    b = rng.standard_normal((300, 3)) + 0.2
    assert sliced_wasserstein(a, a) == 0.0
    assert sliced_wasserstein(a, b) == pytest.approx(sliced_wasserstein(b, a), rel=1e-12)
    assert sliced_wasserstein(a[rng.permutation(500)], b) == pytest.approx(sliced_wasserstein(a, b))


def test_sliced_wasserstein_monotone_in_shift():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 3))
    shift = np.array([1.0, -0.5, 0.3])
    d = [sliced_wasserstein(a, a + s * shift) for s in (0.0, 0.5, 1.0, 2.0, 4.0)]
    assert d[0] == 0.0
    assert all(x < y for x, y in zip(d, d[1:]))
    # A pure shift of equal-size clouds: exact and linear in its size.
    assert d[4] == pytest.approx(2 * d[3], rel=1e-9)


def test_sliced_wasserstein_subsampling_deterministic_and_order_free():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3000, 3))
    b = rng.standard_normal((2000, 3)) + 0.5
    d1 = sliced_wasserstein(a, b, max_points=1000)
    assert d1 == sliced_wasserstein(a, b, max_points=1000)
    assert d1 == pytest.approx(sliced_wasserstein(a[::-1], b, max_points=1000), rel=1e-12)
    assert d1 == pytest.approx(sliced_wasserstein(a, b), rel=0.15)


# --- style distance ------------------------------------------------------------------------------


def test_style_distance_lower_after_retoning_to_style():
    content = noise_image((0.2, 0.3, 0.7), 0.1, 48, 64, seed=0)
    style = noise_image((0.8, 0.3, 0.2), 0.15, 40, 56, seed=1)
    mu_c, sd_c = content.mean((0, 1)), content.std((0, 1))
    mu_s, sd_s = style.mean((0, 1)), style.std((0, 1))
    output = np.clip((content - mu_c) / sd_c * sd_s + mu_s, 0, 1)
    assert style_distance(output, style) < 0.3 * style_distance(content, style)


def test_style_distance_swapped_regions_increase():
    h, w = 32, 40
    left = np.zeros((h, w), bool)
    left[:, : w // 2] = True
    masks = np.stack([left, ~left])
    content = np.where(
        left[..., None], noise_image((0.2, 0.2, 0.8), 0.05, h, w, 0), noise_image((0.2, 0.8, 0.2), 0.05, h, w, 1)
    )
    style = np.where(
        left[..., None], noise_image((0.25, 0.2, 0.75), 0.05, h, w, 2), noise_image((0.2, 0.75, 0.25), 0.05, h, w, 3)
    )
    matched = style_distance(content, style, masks, masks)
    swapped = style_distance(content, style, masks, masks[::-1])
    assert swapped > 3 * matched


def test_style_distance_area_weighting_by_hand():
    # 2x4 output: region 0 = 6 pixels of red, region 1 = 2 pixels of grey; region 2 empty in the style.
    red, grey, blue = [1.0, 0, 0], [0.5, 0.5, 0.5], [0, 0, 1.0]
    output = np.array([[red, red, red, grey], [red, red, red, grey]])
    style = np.array([[blue, blue], [grey, grey]])
    m0 = np.array([[1, 1, 1, 0], [1, 1, 1, 0]], bool)
    m1 = ~m0
    m2 = np.ones_like(m0)
    s0 = np.array([[1, 1], [0, 0]], bool)
    s1 = ~s0
    s2 = np.zeros_like(s0)
    lab = rgb_to_lab(np.array([red, grey, blue]))
    d0 = sliced_wasserstein(lab[[0]], lab[[2]])  # red vs blue
    d1 = sliced_wasserstein(lab[[1]], lab[[1]])  # grey vs grey = 0
    assert d1 == 0.0 and d0 > 0
    expected = (6 * d0 + 2 * d1) / 8  # region 2 skipped, weights renormalised over 6 + 2 pixels
    got = style_distance(output, style, np.stack([m0, m1, m2]), np.stack([s0, s1, s2]))
    assert got == pytest.approx(expected, rel=1e-12)
    assert got == pytest.approx(0.75 * d0, rel=1e-12)


def test_style_distance_rejects_mismatched_masks():
    img = noise_image((0.5, 0.5, 0.5), 0.1, 8, 8, 0)
    with pytest.raises(ValueError):
        style_distance(img, img, np.ones((2, 8, 8), bool), np.ones((1, 8, 8), bool))
    with pytest.raises(ValueError):
        style_distance(img, img, np.ones((1, 7, 8), bool), None)


def test_sorted_colours_region_is_the_regions_own_sort():
    # Filtering the whole image's sorted projections by membership gives the region's own sort,
    # also past max_points, where the region is subsampled as sorted_projections does.
    image = textured(40, 50, seed=3)
    lab = rgb_to_lab(image)
    colours = SortedColours(image, max_points=900)
    rng = np.random.default_rng(4)
    for share in (0.1, 0.4, 0.9):
        mask = rng.random((40, 50)) < share
        np.testing.assert_allclose(
            colours.region(mask), sorted_projections(lab[mask], max_points=900), rtol=0, atol=1e-12
        )
    with pytest.raises(ValueError, match="empty"):
        colours.region(np.zeros((40, 50), bool))


def test_style_distance_from_presorted_sides_equals_the_images():
    output, style = textured(30, 40, seed=5), textured(36, 24, seed=6)
    rng = np.random.default_rng(7)
    cm = np.stack([rng.random((30, 40)) < 0.5 for _ in range(3)])
    sm = np.stack([rng.random((36, 24)) < 0.5 for _ in range(3)])
    sm[2] = False  # a region empty in the style is skipped either way
    plain = style_distance(output, style, cm, sm)
    presorted = style_distance(SortedColours(output), style_sides(style, sm), cm)
    assert presorted == pytest.approx(plain, rel=1e-12, abs=0)
    assert style_distance(output, style_sides(style, sm[::-1]), cm) != pytest.approx(plain, rel=1e-3)


# --- photorealism and score_all ------------------------------------------------------------------


def test_photorealism_constant_zero_noise_positive():
    h, w = 12, 10
    lap = grid_laplacian(h, w)
    assert np.allclose(np.asarray(lap.sum(axis=1)).ravel(), 0)
    const = np.full((h, w, 3), 0.4, np.float32)
    assert photorealism(const, lap) == pytest.approx(0.0, abs=1e-10)
    assert photorealism(noise_image((0.5, 0.5, 0.5), 0.2, h, w, 0), lap) > 0.01


def test_photorealism_matches_definition():
    h, w = 6, 7
    lap = grid_laplacian(h, w)
    img = noise_image((0.5, 0.5, 0.5), 0.2, h, w, 3)
    v = img.reshape(-1, 3).astype(np.float64)
    expected = sum(v[:, c] @ (lap @ v[:, c]) for c in range(3)) / (h * w)
    assert photorealism(img, lap) == pytest.approx(expected, rel=1e-6)


def test_score_all_and_to_dict():
    content = textured(24, 30)
    style = noise_image((0.7, 0.4, 0.2), 0.1, 20, 26, 0)
    scores = score_all(content, style, content, grid_laplacian(24, 30))
    assert isinstance(scores, Scores)
    d = scores.to_dict()
    assert set(d) == {"structure", "photorealism", "style_distance", "nima_mean", "nima_std", "nima_model"}
    assert d["structure"] == pytest.approx(1.0) and d["nima_mean"] is None
    assert d["style_distance"] > 0 and d["photorealism"] > 0


def test_matched_miou_matches_regions_one_to_one_across_both_images():
    from photostyle.core.metrics import matched_miou

    truth = [np.array([[0, 0, 1, 1]]), np.array([[0, 1, 1, 1]])]
    renamed = [np.array([[5, 5, 2, 2]]), np.array([[5, 2, 2, 2]])]  # the same regions, other numbers
    miou, match = matched_miou(renamed, truth)
    assert miou == 1.0 and match == {5: 0, 2: 1}
    merged = [np.zeros((1, 4), int), np.zeros((1, 4), int)]  # one region for two: it matches the larger
    assert matched_miou(merged, truth)[0] == pytest.approx((5 / 8) / 2)


def test_nested_miou_tells_granularity_from_regions_that_cut_across():
    from photostyle.core.metrics import matched_miou, nested_miou

    truth = [np.array([[0, 0, 0, 0, 1, 1, 1, 1]]), np.array([[0, 0, 1, 1, 1, 1, 1, 1]])]
    finer = [np.array([[0, 0, 2, 2, 1, 1, 3, 3]]), np.array([[0, 0, 1, 1, 3, 3, 1, 1]])]  # each true region split
    coarser = [np.zeros((1, 8), int), np.zeros((1, 8), int)]
    across = [np.array([[0, 0, 1, 1, 0, 0, 1, 1]]), np.array([[0, 1, 0, 1, 0, 1, 0, 1]])]
    assert matched_miou(finer, truth)[0] < 0.75
    assert nested_miou(finer, truth)[0] == 1.0 and nested_miou(finer, truth)[1] < 0.75
    assert nested_miou(coarser, truth) == (pytest.approx(matched_miou(coarser, truth)[0]), 1.0)
    assert max(nested_miou(across, truth)) < 0.7
    with pytest.raises(ValueError, match="equal shapes"):
        nested_miou([np.zeros((1, 8), int)], [np.zeros((1, 7), int)])
