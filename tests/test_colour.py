"""Colour spaces and the per-region colour-statistics transfer."""

import numpy as np

from photostyle.core.colour import lab_to_rgb, region_colour_transfer, rgb_to_lab


def test_lab_round_trip():
    rgb = np.random.default_rng(0).random((50, 3))
    assert np.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-6)


def test_region_transfer_matches_each_regions_statistics():
    rng = np.random.default_rng(1)
    content = np.clip(rng.normal([0.3, 0.5, 0.7], 0.05, (20, 30, 3)), 0, 1)
    style = np.zeros((10, 10, 3))
    style[:5] = np.clip(rng.normal([0.8, 0.2, 0.2], 0.05, (5, 10, 3)), 0, 1)  # red top
    style[5:] = np.clip(rng.normal([0.2, 0.7, 0.3], 0.05, (5, 10, 3)), 0, 1)  # green bottom
    cm = np.zeros((2, 20, 30), bool)
    cm[0, :, :15], cm[1, :, 15:] = True, True
    sm = np.zeros((2, 10, 10), bool)
    sm[0, :5], sm[1, 5:] = True, True
    out = region_colour_transfer(content, style, cm, sm)
    assert out.shape == content.shape and out.dtype == np.float32
    lab_out, lab_sty = rgb_to_lab(out), rgb_to_lab(style)
    for k in range(2):
        assert np.allclose(lab_out[cm[k]].mean(0), lab_sty[sm[k]].mean(0), atol=1.0)
        assert np.allclose(lab_out[cm[k]].std(0), lab_sty[sm[k]].std(0), atol=1.0)


def test_a_mix_takes_a_regions_colours_from_the_mixture_of_style_regions():
    rng = np.random.default_rng(2)
    content = np.clip(rng.normal([0.3, 0.5, 0.7], 0.05, (20, 30, 3)), 0, 1)
    style = np.zeros((10, 10, 3))
    style[:5] = np.clip(rng.normal([0.8, 0.2, 0.2], 0.05, (5, 10, 3)), 0, 1)
    style[5:] = np.clip(rng.normal([0.2, 0.7, 0.3], 0.05, (5, 10, 3)), 0, 1)
    cm = np.zeros((2, 20, 30), bool)
    cm[0, :, :15], cm[1, :, 15:] = True, True
    sm = np.zeros((2, 10, 10), bool)
    sm[0, :5], sm[1, 5:] = True, True
    plain = region_colour_transfer(content, style, cm, sm)
    assert np.array_equal(region_colour_transfer(content, style, cm, sm, np.eye(2)), plain)
    swapped = region_colour_transfer(content, style, cm, sm, np.array([[0.0, 1.0], [0.0, 1.0]]))
    assert np.array_equal(swapped[:, :15], region_colour_transfer(content, style, cm, sm[::-1].copy())[:, :15])
    half = rgb_to_lab(region_colour_transfer(content, style, cm, sm, np.array([[0.5, 0.5], [0.0, 1.0]])))
    lab_sty = rgb_to_lab(style)  # equal-sized style regions: the mixture is the whole style image
    # (within the few Lab units that clipping to the RGB gamut moves it; the regions' a* differ by 60)
    assert np.allclose(half[cm[0]].mean(0), lab_sty.reshape(-1, 3).mean(0), atol=2.0)
    # a mixture's spread includes the distance between its parts: far wider than either region's
    assert half[cm[0]].std(0)[1] > 4 * max(lab_sty[sm[k]].std(0)[1] for k in range(2))
