"""Choosing the segmentation, and semantic grouping of automatic regions."""

import numpy as np
import pytest

from photostyle.core.errors import InputError
from photostyle.core.masks import LabelMap
from photostyle.core.regions import WHOLE_IMAGE, merge_similar, merge_unshared
from photostyle.core.segmentation import (COSEGMENT, MODEL, SINGLE, USER_MASK, Segmentation, SegmentOptions,
                                          check_model_weights, choose_source, group_pair, model_weights)

SHA = "ab" * 32


def test_selection_order_masks_then_model_then_cosegmentation():
    model = SegmentOptions(model=f"/w/pspnet.pth#sha256={SHA}")
    assert choose_source(True, model) == USER_MASK
    assert choose_source(False, model) == MODEL
    assert choose_source(False, SegmentOptions()) == COSEGMENT
    assert choose_source(False, SegmentOptions(regions=1)) == SINGLE
    assert choose_source(False, SegmentOptions(regions=3)) == COSEGMENT


def test_options_are_checked():
    with pytest.raises(ValueError, match="regions"):
        SegmentOptions(regions=-1)
    with pytest.raises(ValueError, match="threshold"):
        SegmentOptions(threshold=1.5)
    with pytest.raises(InputError, match="sha256"):
        SegmentOptions(model="/w/pspnet.pth")
    assert model_weights(f"s3://b/w.pth#sha256={SHA.upper()}") == ("s3://b/w.pth", SHA)


def test_configured_but_missing_weights_fail_naming_the_file(tmp_path):
    missing = tmp_path / "pspnet50.pth"
    with pytest.raises(InputError, match="pspnet50.pth.*not found"):
        check_model_weights(f"{missing}#sha256={SHA}")
    missing.write_bytes(b"x")
    check_model_weights(f"{missing}#sha256={SHA}")  # there now: the checksum is checked on load


def labels(rows: list[str]) -> np.ndarray:
    return np.array([[int(c) for c in row] for row in rows], dtype=np.int32)


def test_unshared_and_tiny_regions_join_their_most_similar_shared_region():
    names = ["sky", "ground", "boat", "speck"]
    content = LabelMap(labels(["0000", "2211", "1111", "1113"]), names)  # boat only in the content
    style = LabelMap(labels(["0000", "0000", "1111", "1111"]), names)
    similarity = np.array([[1.0, 0.1, 0.2, 0.9],
                           [0.1, 1.0, 0.7, 0.1],
                           [0.2, 0.7, 1.0, 0.1],
                           [0.9, 0.1, 0.1, 1.0]])
    c, s, merges = merge_unshared(content, style, similarity, min_share=0.1)
    assert c.names == s.names == ["sky", "ground"]
    assert merges == {"boat": "ground", "speck": "sky"}  # speck: 1/16 < 0.1 of the content
    assert (c.labels == labels(["0000", "1111", "1111", "1110"])).all()
    assert (s.labels == labels(["0000", "0000", "1111", "1111"])).all()


def test_by_default_a_region_under_five_percent_of_an_image_is_too_small_to_carry_a_style():
    names = ["sky", "city", "haze"]
    content = np.zeros((20, 20), np.int32)
    content[10:] = 1
    content[8:10] = 2  # the haze: 10% of the content
    style = np.zeros((20, 20), np.int32)
    style[10:] = 1
    style[9, :16] = 2  # 4% of the style
    similarity = np.array([[1.0, 0.2, 0.4], [0.2, 1.0, 0.6], [0.4, 0.6, 1.0]])
    seg = Segmentation(LabelMap(content, names), LabelMap(style, names), COSEGMENT, similarity)
    pairs, merges = group_pair(seg, SegmentOptions())
    assert merges == {"haze": "city"} and pairs.names == ["sky", "city"]
    kept, merges = group_pair(seg, SegmentOptions(min_share=0.02))
    assert merges == {} and kept.names == names


def test_nothing_shared_becomes_one_whole_image_region():
    names = ["a", "b"]
    c, s, merges = merge_unshared(LabelMap(np.zeros((2, 2), np.int32), names),
                                  LabelMap(np.ones((2, 2), np.int32), names), np.eye(2), 0.02)
    assert c.names == s.names == [WHOLE_IMAGE] and (c.labels == 0).all() and (s.labels == 0).all()
    assert merges == {"a": WHOLE_IMAGE, "b": WHOLE_IMAGE}


def test_similar_classes_merge_transitively_like_automated_dpst():
    names = ["building", "skyscraper", "house", "sky"]
    sim = np.array([[1.0, 0.85, 0.82, 0.1],
                    [0.85, 1.0, 0.7, 0.1],
                    [0.82, 0.7, 1.0, 0.1],
                    [0.1, 0.1, 0.1, 1.0]])
    content = LabelMap(labels(["3333", "1122"]), names)  # sky over skyscrapers and houses
    style = LabelMap(labels(["3333", "0000"]), names)  # sky over buildings
    c, s, group_sim = merge_similar(content, style, sim, threshold=0.8)
    assert c.names == s.names and len(c.names) == 2
    built = c.names.index(next(n for n in c.names if "skyscraper" in n))
    assert set(c.names[built].split("+")) == {"building", "skyscraper", "house"}
    assert (c.labels[1] == built).all() and (s.labels[1] == built).all()
    assert group_sim.shape == (2, 2) and group_sim[built, built] == 1.0
    c2, _, _ = merge_similar(content, style, sim, threshold=0.9)  # stricter: nothing merges
    assert sorted(c2.names) == ["building", "house", "sky", "skyscraper"]


def test_automatic_regions_are_grouped_with_soft_borders_and_the_users_masks_are_not():
    from photostyle.core.segmentation import Segmentation, group_pair

    names = ["sky", "ground"]
    content = LabelMap(labels(["0000", "0000", "1111", "1111"]), names)
    style = LabelMap(labels(["0000", "1111", "1111", "1111"]), names)
    similarity = np.array([[1.0, 0.1], [0.1, 1.0]])
    for source, soft in ((COSEGMENT, True), (MODEL, True), (USER_MASK, False)):
        seg = Segmentation(content, style, source, None if source == USER_MASK else similarity)
        pairs, _ = group_pair(seg, SegmentOptions())
        assert pairs.names == names and pairs.soft_borders is soft, source
