"""Pairing of region labels between content and style (the ``group`` stage).

Region k of the content takes its style from region k of the style image. Regions are paired by
name (DPST's mask colours, or label names); a content region with no counterpart takes its style
from the whole style image; style regions absent from the content are unused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from photostyle.core.masks import LabelMap

WHOLE_IMAGE = "whole-image"


@dataclass
class RegionPairs:
    """Paired boolean masks: content (K,H,W) and style (K,Hs,Ws), with a name per pair."""

    content_masks: np.ndarray
    style_masks: np.ndarray
    names: list[str]
    unmatched: list[str]

    def __post_init__(self) -> None:
        if len(self.content_masks) != len(self.style_masks) or len(self.names) != len(self.content_masks):
            raise ValueError("content masks, style masks and names must have the same length")


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
