"""Pairing content regions with style regions."""

import numpy as np

from photostyle.core.masks import LabelMap
from photostyle.core.regions import WHOLE_IMAGE, pair_regions, single_region


def test_pairs_by_name_and_unmatched_take_whole_style():
    content = LabelMap(np.array([[0, 0, 1], [2, 2, 1]], dtype=np.int32), ["blue", "green", "red"])
    style = LabelMap(np.array([[0, 1], [1, 1]], dtype=np.int32), ["green", "blue"])
    pairs = pair_regions(content, style)
    assert pairs.names == ["blue", "green", "red"]
    assert pairs.unmatched == ["red"]
    assert np.array_equal(pairs.content_masks[0], content.labels == 0)
    assert np.array_equal(pairs.style_masks[0], style.labels == 1)  # style's "blue"
    assert np.array_equal(pairs.style_masks[1], style.labels == 0)  # style's "green"
    assert pairs.style_masks[2].all()  # red: no counterpart -> whole style image


def test_single_regions_pair_to_one_whole_image_region():
    pairs = pair_regions(single_region((3, 4)), single_region((5, 2)))
    assert pairs.names == [WHOLE_IMAGE]
    assert pairs.content_masks.shape == (1, 3, 4) and pairs.content_masks.all()
    assert pairs.style_masks.shape == (1, 5, 2) and pairs.style_masks.all()


def test_empty_content_regions_are_dropped():
    content = LabelMap(np.zeros((2, 2), dtype=np.int32), ["blue", "green"])  # green never appears
    style = LabelMap(np.zeros((2, 2), dtype=np.int32), ["blue"])
    assert pair_regions(content, style).names == ["blue"]


def _edge_image(h=48, w=64, edge=40):
    """Dark left part, bright right part, the colour edge at column ``edge``."""
    image = np.full((h, w, 3), 0.15)
    image[:, edge:] = [0.9, 0.8, 0.6]
    return image


def test_soft_masks_blend_across_the_border_and_follow_the_colour_edge():
    from photostyle.core.regions import soft_masks

    image = _edge_image()
    masks = np.zeros((2, 48, 64), bool)
    masks[0, :, :34], masks[1, :, 34:] = True, True  # the border 6 px left of the colour edge
    soft = soft_masks(masks, image, radius=1 / 8, eps=1e-3)
    assert soft.shape == masks.shape and soft.dtype == np.float32
    assert soft.min() >= 0 and soft.max() <= 1 and np.allclose(soft.sum(0), 1, atol=1e-5)
    row = soft[0, 24]
    assert row[:16].min() > 0.99 and row[-10:].max() < 0.01  # hard away from the border
    assert 0.05 < row[34] < 0.95  # blended where the masks were cut
    assert row[39] > 0.2 and row[40:].max() < 0.01  # reaching to the colour edge, not across it


def test_soft_masks_leave_uncovered_pixels_uncovered():
    from photostyle.core.regions import soft_masks

    masks = np.zeros((2, 48, 64), bool)
    masks[0, :, :30], masks[1, :, 30:60] = True, True
    soft = soft_masks(masks, _edge_image())
    assert np.all(soft[:, :, 60:] == 0) and np.allclose(soft[:, :, :55].sum(0), 1, atol=1e-5)


def test_only_automatic_regions_get_soft_borders_for_the_optimiser():
    from photostyle.core.regions import optimisation_masks

    image = _edge_image()
    labels = np.zeros((48, 64), np.int32)
    labels[:, 34:] = 1
    drawn = pair_regions(LabelMap(labels, ["a", "b"]), LabelMap(labels, ["a", "b"]))
    content, style = optimisation_masks(drawn, image, image)
    assert content is drawn.content_masks and style is drawn.style_masks
    drawn.soft_borders = True
    content, style = optimisation_masks(drawn, image, image)
    assert content.dtype == np.float32 and 0 < content[0, 24, 36] < 1 and np.allclose(style, content)
