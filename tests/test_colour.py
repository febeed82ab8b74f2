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
