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
