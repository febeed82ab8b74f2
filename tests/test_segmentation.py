"""Choosing the segmentation, and semantic grouping of automatic regions."""

import numpy as np
import pytest

from photostyle.core.config import ADE20KConfig, CosegmentConfig, GroupingConfig, SegmentationConfig, StyleConfig
from photostyle.core.errors import InputError
from photostyle.core.masks import LabelMap
from photostyle.core.regions import WHOLE_IMAGE, merge_similar, merge_unshared
from photostyle.core.segmentation import (
    COSEGMENT,
    MODEL,
    USER_MASK,
    Segmentation,
    group_pair,
    segmenter_for,
    weights_spec,
)
from photostyle.core.segmenters import check_model_weights

SHA = "ab" * 32


def test_selection_order_masks_then_the_configured_segmenter():
    model = SegmentationConfig(segmenter=ADE20KConfig(weights=f"/w/pspnet.pth#sha256={SHA}"))
    assert segmenter_for(True, model).name == USER_MASK
    assert segmenter_for(False, model).name == "ade20k"
    assert segmenter_for(False, SegmentationConfig()).name == "cosegment"
    assert segmenter_for(False, SegmentationConfig(segmenter=CosegmentConfig(regions=3))).name == "cosegment"


def test_settings_are_checked():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="regions"):
        CosegmentConfig(regions=-1)
    with pytest.raises(ValidationError, match="threshold"):
        GroupingConfig(threshold=1.5)
    with pytest.raises(ValidationError, match="sha256"):
        ADE20KConfig(weights="/w/pspnet.pth")
    with pytest.raises(ValidationError, match="regions"):  # a co-segmentation setting, not the model's
        StyleConfig.model_validate(
            {"segmentation": {"segmenter": {"name": "ade20k", "weights": f"w#sha256={SHA}", "regions": 3}}}
        )
    assert weights_spec(f"s3://b/w.pth#sha256={SHA.upper()}") == ("s3://b/w.pth", SHA)


def test_configured_but_missing_weights_fail_naming_the_file(tmp_path):
    missing = tmp_path / "pspnet50.pth"
    config = SegmentationConfig(segmenter=ADE20KConfig(weights=f"{missing}#sha256={SHA}"))
    with pytest.raises(InputError, match="pspnet50.pth.*not found"):
        check_model_weights(config)
    missing.write_bytes(b"x")
    check_model_weights(config)  # there now: the checksum is checked on load


def test_the_environment_selects_the_model_unless_the_run_chose_a_segmenter(monkeypatch, tmp_path):
    from photostyle.flows.segmentation import WEIGHTS_ENV, resolve_segmentation

    weights = tmp_path / "pspnet50.pth"
    weights.write_bytes(b"x")
    monkeypatch.setenv(WEIGHTS_ENV, f"{weights}#sha256={SHA}")
    assert resolve_segmentation(StyleConfig()).segmentation.segmenter.name == "ade20k"
    forced = StyleConfig.model_validate({"segmentation": {"segmenter": {"regions": 3}}})
    assert resolve_segmentation(forced).segmentation.segmenter == CosegmentConfig(regions=3)
    monkeypatch.setenv(WEIGHTS_ENV, str(weights))
    with pytest.raises(InputError, match=f"{WEIGHTS_ENV}.*sha256"):
        resolve_segmentation(StyleConfig())


def labels(rows: list[str]) -> np.ndarray:
    return np.array([[int(c) for c in row] for row in rows], dtype=np.int32)


def test_unshared_and_tiny_regions_join_their_most_similar_shared_region():
    names = ["sky", "ground", "boat", "speck"]
    content = LabelMap(labels(["0000", "2211", "1111", "1113"]), names)  # boat only in the content
    style = LabelMap(labels(["0000", "0000", "1111", "1111"]), names)
    similarity = np.array([[1.0, 0.1, 0.2, 0.9], [0.1, 1.0, 0.7, 0.1], [0.2, 0.7, 1.0, 0.1], [0.9, 0.1, 0.1, 1.0]])
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
    pairs, merges = group_pair(seg, GroupingConfig())
    assert merges == {"haze": "city"} and pairs.names == ["sky", "city"]
    kept, merges = group_pair(seg, GroupingConfig(min_share=0.02))
    assert merges == {} and kept.names == names


def test_nothing_shared_becomes_one_whole_image_region():
    names = ["a", "b"]
    c, s, merges = merge_unshared(
        LabelMap(np.zeros((2, 2), np.int32), names), LabelMap(np.ones((2, 2), np.int32), names), np.eye(2), 0.02
    )
    assert c.names == s.names == [WHOLE_IMAGE] and (c.labels == 0).all() and (s.labels == 0).all()
    assert merges == {"a": WHOLE_IMAGE, "b": WHOLE_IMAGE}


def test_similar_classes_merge_transitively_like_automated_dpst():
    names = ["building", "skyscraper", "house", "sky"]
    sim = np.array([[1.0, 0.85, 0.82, 0.1], [0.85, 1.0, 0.7, 0.1], [0.82, 0.7, 1.0, 0.1], [0.1, 0.1, 0.1, 1.0]])
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
    names = ["sky", "ground"]
    content = LabelMap(labels(["0000", "0000", "1111", "1111"]), names)
    style = LabelMap(labels(["0000", "1111", "1111", "1111"]), names)
    similarity = np.array([[1.0, 0.1], [0.1, 1.0]])
    for source, soft in ((COSEGMENT, True), (MODEL, True), (USER_MASK, False)):
        seg = Segmentation(content, style, source, None if source == USER_MASK else similarity)
        pairs, _ = group_pair(seg, GroupingConfig())
        assert pairs.names == names and pairs.soft_borders is soft, source
