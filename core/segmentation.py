"""Segmenters by name, the segmentation of a content/style pair, and the grouping of its regions.

The ``segment`` stage takes the user's masks when given (segmenter ``user-mask``), else the
configured segmenter: ``cosegment`` (the default: co-segmentation on VGG-19 features, which needs
nothing beyond the bundled network; ``regions=1`` gives one whole-image region) or ``ade20k`` (the
scene-parsing model, with its weights). A segmenter is one module that registers a
``SegmenterSpec`` (its settings class, a ``SegmenterConfig`` whose ``name`` is a ``Literal``);
the built-in ones are in ``core/segmenters.py``.

The ``group`` stage pairs user masks by name, as DPST does; automatic regions are first merged by
similarity (see core/regions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from photostyle.core.masks import LabelMap
from photostyle.core.regions import RegionPairs, merge_similar, merge_unshared, pair_regions
from photostyle.core.registry import Registry, Settings
from photostyle.core.weights import parse_spec

if TYPE_CHECKING:
    from photostyle.core.config import GroupingConfig, SegmentationConfig

#: What made a segmentation, as sidecars and the manifest record it.
USER_MASK, MODEL, COSEGMENT, SINGLE = "user-mask", "model", "cosegment", "single-region"


class SegmenterConfig(Settings):
    """Base of a segmenter's settings; ``name`` selects the segmenter in ``SEGMENTERS``."""

    name: str


@dataclass
class Segmentation:
    """Label maps of both images and what made them.

    With a ``similarity`` (K, K) both maps name the same K regions in the same order and are
    grouped by similarity; without one (user masks, a single region) regions pair by name.
    ``labelled`` marks class labels, which also merge by the threshold.
    """

    content: LabelMap
    style: LabelMap
    source: str
    similarity: np.ndarray | None = None
    labelled: bool = False
    detail: dict = field(default_factory=dict)


@dataclass(kw_only=True)
class SegmentInputs:
    """What a segmenter works from: the prepared images (HxWx3 in [0, 1]), the user's masks fitted
    to them (None where not given), the VGG-19 weights and device (``StyleConfig.weights`` and
    the resolved ``device``) and the storage options models are read with."""

    content: np.ndarray
    style: np.ndarray
    vgg_weights: str
    device: str
    content_mask: LabelMap | None = None
    style_mask: LabelMap | None = None
    storage_options: dict | None = None


@dataclass(frozen=True)
class SegmenterSpec:
    """A registered segmenter. ``segment(inputs, config)`` gives the pair's label maps;
    ``key(config, vgg_weights)`` what they depend on besides the images (the stage key hashes it);
    ``check(config, storage_options)`` fails early, naming the file, when a run could not segment."""

    name: str
    config: type[SegmenterConfig] | None
    segment: Callable[[SegmentInputs, SegmentationConfig], Segmentation]
    key: Callable[[SegmentationConfig, str], dict]
    check: Callable[[SegmentationConfig, dict | None], None] | None = None
    description: str = ""


SEGMENTERS: Registry[SegmenterSpec] = Registry("segmenter", builtins=("photostyle.core.segmenters",))


def register_segmenter(spec: SegmenterSpec) -> SegmenterSpec:
    """Make a segmenter available to the config and the segment stage under ``spec.name``."""
    return SEGMENTERS.register(spec)


def segmenter_for(has_masks: bool, config: SegmentationConfig) -> SegmenterSpec:
    """The user's masks when there are any, else the configured segmenter."""
    return SEGMENTERS.get(USER_MASK if has_masks else config.segmenter.name)


def weights_spec(spec: str) -> tuple[str, str]:
    """The URI and sha256 of a ``URI#sha256=HEX`` segmentation weights setting."""
    return parse_spec(spec, "segmentation weights")


def group_pair(seg: Segmentation, grouping: GroupingConfig) -> tuple[RegionPairs, dict[str, str]]:
    """Paired region masks of a segmentation, and the merges made on the way {merged: into}."""
    content, style = seg.content, seg.style
    if seg.similarity is None:
        return pair_regions(content, style), {}
    similarity = seg.similarity
    merges: dict[str, str] = {}
    if seg.labelled:
        before = content.names
        content, style, similarity = merge_similar(content, style, similarity, grouping.threshold)
        merges.update({n: group for group in content.names for n in group.split("+") if n in before and n != group})
    content, style, unshared = merge_unshared(content, style, similarity, grouping.min_share)
    merges.update(unshared)
    pairs = pair_regions(content, style)
    pairs.soft_borders = seg.source in (COSEGMENT, MODEL)
    return pairs, merges
