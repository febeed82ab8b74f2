"""Which style regions each content region takes its style from, by the images' own deep features.

Automatic regions pair content region k with style region k because one clustering put them
together; the clustering can be wrong (a bedspread clustered with a wall, a sky with trees).
The deep features say where a region's locations match: each grid location of the content is
matched to its nearest neighbour in the style (cosine of raw conv4_1 + conv5_1 activations, as
``cosegment.correspondence`` measures), and region k's *votes* are the shares of its locations
whose neighbours land in each style region.

A region keeps its partner while the partner gets the most votes. A region whose locations
match another style region more often takes its target from the style regions in proportion
to the cube of their votes (``style_mix``), so the region they mostly match dominates, and
no single clustering error repaints the whole region. The gate is parameter-free: it changes
nothing for regions whose partner the features back, which is what hand masks and good
automatic regions give.
"""

from __future__ import annotations

import numpy as np

from photostyle.core.cosegment import (
    CORRESPONDENCE_LAYERS,
    grid_labels,
    nearest_neighbours,
    pixel_features,
    unit_features,
)
from photostyle.core.vgg import VGGFeatures

#: Votes are raised to this power before they are normalised into a region's mix: with 3, a
#: region matching one style region twice as often as another takes 8/9 of its target from it.
VOTE_POWER = 3


def feature_votes(
    vgg: VGGFeatures, content: np.ndarray, style: np.ndarray, content_masks: np.ndarray, style_masks: np.ndarray
) -> np.ndarray:
    """(K, K) votes: row k, the shares of content region k's grid locations whose nearest
    neighbour in the style lies in each style region (a zero row for a region with no location).
    Images HxWx3 in [0, 1]; masks (K,H,W) and (K,Hs,Ws) region weights, each location taken by
    its strongest region."""
    blocks = pixel_features(vgg, content), pixel_features(vgg, style)
    features = [unit_features(b) for b in blocks]
    grids = [b[CORRESPONDENCE_LAYERS[0]].shape[:2] for b in blocks]
    labels = [grid_labels(np.asarray(m).argmax(0), g) for m, g in zip((content_masks, style_masks), grids)]
    to_style, _ = nearest_neighbours(*features)
    k = len(content_masks)
    votes = np.zeros((k, k))
    np.add.at(votes, (labels[0], labels[1][to_style]), 1.0)
    return votes / np.maximum(votes.sum(1, keepdims=True), 1.0)


def style_mix(votes: np.ndarray, power: float = VOTE_POWER) -> np.ndarray:
    """(K, K) weights, rows summing to 1: row k, how much of region k's style target comes from
    each style region. The identity row while region k's partner gets the most votes (or the
    region has none); otherwise the votes raised to ``power``, normalised."""
    k = len(votes)
    mix = np.eye(k)
    for row in range(k):
        v = votes[row]
        if v.sum() > 0 and v[row] < v.max():
            sharp = v**power
            mix[row] = sharp / sharp.sum()
    return mix


def reassigned(mix: np.ndarray, names: list[str]) -> dict[str, dict[str, float]]:
    """The regions that do not take their style from their partner alone, as {content region:
    {style region: weight}} (weights of at least 0.01, rounded to two places)."""
    out: dict[str, dict[str, float]] = {}
    for row, name in enumerate(names):
        if mix[row, row] < 1.0:
            out[name] = {names[j]: round(float(w), 2) for j, w in enumerate(mix[row]) if w >= 0.01}
    return out
