"""Pairing of region labels between content and style (the ``group`` stage).

Region k of the content takes its style from region k of the style image. Regions are paired by
name (DPST's mask colours, or label names); a content region with no counterpart takes its style
from the whole style image; style regions absent from the content are unused.

Automatic segmentations are grouped first (semantic grouping): labelled classes merge when their
similarity reaches a threshold (``merge_similar``), and regions that are missing from one image
or too small to carry a style join their most similar region present in both (``merge_unshared``).
Their pairs have soft borders (``optimisation_masks``): an automatic border is only an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photostyle.core.filters import guided_filter
from photostyle.core.masks import LabelMap

WHOLE_IMAGE = "whole-image"
#: Regions covering less than this fraction of either image join a region present in both. A region
#: this small has too few positions in VGG's deeper layers to carry a style of its own (5% of a
#: 256 x 170 image is under 9 positions of conv5_1), and its border is one more seam.
DEFAULT_MIN_SHARE = 0.05
#: Soft borders of automatic regions: colour guided-filter radius (fraction of the long side) and
#: regularisation. An automatic border may sit a few pixels off the true edge, and a hard one makes
#: the optimiser paint two regions' styles right up to it; blended weights let the matting
#: Laplacian place the change on the edge.
SOFT_BORDER_RADIUS, SOFT_BORDER_EPS = 1 / 32, 1e-3


@dataclass
class RegionPairs:
    """Paired boolean masks: content (K,H,W) and style (K,Hs,Ws), with a name per pair."""

    content_masks: np.ndarray
    style_masks: np.ndarray
    names: list[str]
    unmatched: list[str]
    soft_borders: bool = False  # automatic regions: the optimiser blends them across their borders

    def __post_init__(self) -> None:
        if len(self.content_masks) != len(self.style_masks) or len(self.names) != len(self.content_masks):
            raise ValueError("content masks, style masks and names must have the same length")


def soft_masks(
    masks: np.ndarray, image: np.ndarray, radius: float = SOFT_BORDER_RADIUS, eps: float = SOFT_BORDER_EPS
) -> np.ndarray:
    """Region masks (K,H,W) of an image as weights in [0, 1] that blend across the regions'
    borders along the image's edges, summing to 1 where the masks cover the image."""
    hard = np.moveaxis(np.asarray(masks, np.float64), 0, -1)
    window = max(1, round(max(image.shape[:2]) * radius))
    soft = np.clip(guided_filter(hard, np.asarray(image, np.float64), window, eps), 0.0, None)
    total = soft.sum(-1, keepdims=True)
    soft = np.where(total > 0, soft / np.maximum(total, 1e-12), hard) * hard.sum(-1, keepdims=True).clip(0, 1)
    return np.moveaxis(soft, -1, 0).astype(np.float32)


def optimisation_masks(pairs: RegionPairs, content: np.ndarray, style: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The content's and the style's masks as the optimiser takes them: soft borders for
    automatic regions, the user's masks as drawn."""
    if not pairs.soft_borders:
        return pairs.content_masks, pairs.style_masks
    return soft_masks(pairs.content_masks, content), soft_masks(pairs.style_masks, style)


def region_weights(masks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Region masks (K,H,W) as float32 weights: boolean masks, or soft ones with values in [0, 1]."""
    weights = np.asarray(masks, np.float32)
    if weights.ndim != 3 or weights.shape[1:] != tuple(shape):
        raise ValueError(f"region masks {weights.shape} do not fit an image of {tuple(shape)}")
    if weights.size and (weights.min() < 0 or weights.max() > 1):
        raise ValueError(f"region masks must lie in [0, 1], not [{weights.min():g}, {weights.max():g}]")
    return weights


def strongest_region(weights: np.ndarray) -> np.ndarray:
    """Boolean masks (K,H,W) giving each pixel to its region of largest weight (pixels in no region
    stay out): the colour-transfer start keeps sharp regions, since blending two regions'
    colour statistics across a soft border leaves colours that match neither."""
    top = np.arange(len(weights))[:, None, None] == weights.argmax(0)
    return top & (weights.sum(0) > 0)


def single_region(shape: tuple[int, int]) -> LabelMap:
    """One region covering the whole image (used when no masks are given)."""
    return LabelMap(np.zeros(shape, dtype=np.int32), [WHOLE_IMAGE])


def pair_regions(content: LabelMap, style: LabelMap) -> RegionPairs:
    """Pair the regions present in both label maps by name; unmatched content regions get the
    whole style image."""
    content_masks, style_masks, names, unmatched = [], [], [], []
    style_index = {name: k for k, name in enumerate(style.names)}
    whole_style = np.ones(style.labels.shape, dtype=bool)
    for k, name in enumerate(content.names):
        cmask = content.labels == k
        if not cmask.any():
            continue
        smask = style.labels == style_index[name] if name in style_index else None
        if smask is None or not smask.any():
            smask = whole_style
            unmatched.append(name)
        content_masks.append(cmask)
        style_masks.append(smask)
        names.append(name)
    return RegionPairs(np.stack(content_masks), np.stack(style_masks), names, unmatched)


def shares(labels: LabelMap) -> np.ndarray:
    """Fraction of the image each named region covers."""
    return np.bincount(labels.labels.ravel(), minlength=len(labels.names))[: len(labels.names)] / labels.labels.size


def relabel(labels: LabelMap, target: np.ndarray, names: list[str]) -> LabelMap:
    """The label map with region k renamed ``names[target[k]]`` (regions sharing a name merge)."""
    return LabelMap(np.asarray(target, dtype=np.int32)[labels.labels], list(names))


def merge_similar(
    content: LabelMap, style: LabelMap, similarity: np.ndarray, threshold: float
) -> tuple[LabelMap, LabelMap, np.ndarray]:
    """Merge the regions (classes) whose similarity reaches ``threshold``, transitively, as
    Automated DPST merges ADE20K classes by WordNet similarity: "skyscraper" in the content
    joins "building" in the style. Both maps name the same regions in the same order; a merged
    group is named by its members joined with "+", largest first. Returns the new maps and the
    groups' similarity (the largest between their members)."""
    from scipy.sparse.csgraph import connected_components

    present = (shares(content) > 0) | (shares(style) > 0)
    linked = (np.asarray(similarity) >= threshold) & present[:, None] & present[None, :]
    _, group = connected_components(linked, directed=False)
    area = shares(content) + shares(style)
    names, target = [], np.zeros(len(content.names), dtype=np.int64)
    for g in np.unique(group[present]):
        members = [int(k) for k in np.flatnonzero((group == g) & present)]
        members.sort(key=lambda k: -area[k])
        target[members] = len(names)
        names.append("+".join(content.names[k] for k in members))
    sim = np.full((len(names), len(names)), -np.inf)
    members_of = [np.flatnonzero((target == g) & present) for g in range(len(names))]
    for a, ma in enumerate(members_of):
        for b, mb in enumerate(members_of):
            sim[a, b] = np.asarray(similarity)[np.ix_(ma, mb)].max()
    return relabel(content, target, names), relabel(style, target, names), sim


def merge_unshared(
    content: LabelMap, style: LabelMap, similarity: np.ndarray, min_share: float
) -> tuple[LabelMap, LabelMap, dict[str, str]]:
    """Merge every region covering less than ``min_share`` of either image (no counterpart, or
    too small to carry a style) into its most similar region that covers at least that much of
    both. Both maps name the same regions in the same order. Returns the new maps and the
    merges made {merged: into}; with no shared region at all, everything becomes one region."""
    sc, ss = shares(content), shares(style)
    kept = np.flatnonzero((sc >= min_share) & (ss >= min_share))
    if kept.size == 0:
        whole = np.zeros(len(content.names), dtype=np.int64)
        merges = {n: WHOLE_IMAGE for k, n in enumerate(content.names) if sc[k] > 0 or ss[k] > 0}
        return relabel(content, whole, [WHOLE_IMAGE]), relabel(style, whole, [WHOLE_IMAGE]), merges
    sim = np.asarray(similarity, dtype=np.float64)
    target = np.zeros(len(content.names), dtype=np.int64)
    merges = {}
    for k in range(len(content.names)):
        if k in kept:
            target[k] = int(np.flatnonzero(kept == k)[0])
            continue
        best = int(np.argmax(sim[k, kept]))
        target[k] = best
        if sc[k] > 0 or ss[k] > 0:
            merges[content.names[k]] = content.names[kept[best]]
    names = [content.names[k] for k in kept]
    return relabel(content, target, names), relabel(style, target, names), merges
