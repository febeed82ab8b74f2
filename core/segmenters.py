"""The built-in segmenters: the user's masks, co-segmentation and the ADE20K scene-parsing model."""

from __future__ import annotations

import numpy as np

from photostyle.core.config import ADE20KConfig, CosegmentConfig, SegmentationConfig
from photostyle.core.errors import InputError
from photostyle.core.masks import LabelMap
from photostyle.core.regions import single_region
from photostyle.core.segmentation import (
    COSEGMENT,
    MODEL,
    SINGLE,
    USER_MASK,
    Segmentation,
    SegmenterSpec,
    SegmentInputs,
    register_segmenter,
    weights_spec,
)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """An image in [0, 1] as 8-bit RGB."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def user_masks(inputs: SegmentInputs, config: SegmentationConfig) -> Segmentation:
    """The user's masks; an image without one is a single region."""
    maps, detail = [], {}
    for side, image, mask in (
        ("content", inputs.content, inputs.content_mask),
        ("style", inputs.style, inputs.style_mask),
    ):
        maps.append(mask if mask is not None else single_region(image.shape[:2]))
        detail[side] = USER_MASK if mask is not None else SINGLE
    return Segmentation(maps[0], maps[1], USER_MASK, detail=detail)


def cosegmentation(inputs: SegmentInputs, config: SegmentationConfig) -> Segmentation:
    """Co-segmentation of the pair on the VGG-19 weights (one whole-image region for ``regions=1``,
    and, with ``chosen`` "fallback" in the detail, where the regions found pair nothing alike)."""
    from photostyle.core.cosegment import cosegment, feature_similarity
    from photostyle.core.vgg import build_vgg

    segmenter = config.segmenter
    assert isinstance(segmenter, CosegmentConfig)
    if segmenter.regions == 1:
        return Segmentation(single_region(inputs.content.shape[:2]), single_region(inputs.style.shape[:2]), SINGLE)
    vgg = build_vgg(inputs.vgg_weights, "max", "conv5_1", inputs.device)
    seg = cosegment(
        inputs.content, inputs.style, vgg, regions=segmenter.regions or None, min_share=config.grouping.min_share
    )
    detail = {
        "regions": seg.regions,
        "chosen": seg.chosen,
        "disagreement": {str(k): round(v, 4) for k, v in seg.disagreement.items()},
        "correspondence": round(seg.correspondence, 4),
    }
    return Segmentation(seg.content, seg.style, COSEGMENT, feature_similarity(seg.centroids), detail=detail)


def cosegment_key(config: SegmentationConfig, vgg_weights: str) -> dict:
    """Co-segmentation depends on the number of regions, the grouping's ``min_share`` (it judges
    candidate clusterings as the group stage pairs them) and the network's weights."""
    from photostyle.core.vgg import load_weights

    regions = config.segmenter.regions
    if regions == 1:
        return {"regions": 1}
    return {"regions": regions, "min_share": config.grouping.min_share, "vgg": load_weights(vgg_weights).weights_id}


def scene_parsing(inputs: SegmentInputs, config: SegmentationConfig) -> Segmentation:
    """ADE20K class labels of both images from the PSPNet weights."""
    from photostyle.core.ade20k import class_names, class_similarity
    from photostyle.core.scene_parsing import load_pspnet, parse_scene

    uri, digest = weights_spec(config.segmenter.weights)
    model = load_pspnet(uri, digest, inputs.storage_options)
    labels = [parse_scene(model, to_uint8(image), inputs.device) for image in (inputs.content, inputs.style)]
    present = np.union1d(np.unique(labels[0]), np.unique(labels[1]))  # keep only the classes seen
    remap = np.zeros(len(class_names()), dtype=np.int32)
    remap[present] = np.arange(present.size, dtype=np.int32)
    names = [class_names()[k] for k in present]
    maps = [LabelMap(remap[lab], list(names)) for lab in labels]
    return Segmentation(
        maps[0],
        maps[1],
        MODEL,
        class_similarity()[np.ix_(present, present)],
        labelled=True,
        detail={"model": f"pspnet50-ade20k:{digest[:12]}"},
    )


def check_model_weights(config: SegmentationConfig, storage_options: dict | None = None) -> None:
    """Fail early, naming the file, when the configured weights are not there."""
    from photostyle.core.imageio import file_exists

    uri, _ = weights_spec(config.segmenter.weights)
    if not file_exists(uri, storage_options):
        raise InputError(uri, "segmentation weights configured but not found")


register_segmenter(
    SegmenterSpec(
        USER_MASK,
        None,
        user_masks,
        lambda config, vgg: {},
        description="the user's masks (DPST colours or integer labels)",
    )
)
register_segmenter(
    SegmenterSpec(
        "cosegment", CosegmentConfig, cosegmentation, cosegment_key, description="co-segmentation on VGG-19 features"
    )
)
register_segmenter(
    SegmenterSpec(
        "ade20k",
        ADE20KConfig,
        scene_parsing,
        lambda config, vgg: {"model_sha256": weights_spec(config.segmenter.weights)[1]},
        check_model_weights,
        description="PSPNet-50 trained on ADE20K",
    )
)
