"""Co-segmentation of a content/style pair from VGG-19 features and colour: the default segmenter.

The pixels of both images are clustered together in one feature space (VGG-19 activations of
three depths plus CIE Lab colour, reduced by a joint PCA), so cluster k is the same kind of
stuff in both images and region k of the content can take its style from region k of the style,
as DPST's hand masks do. Clusters are found on a coarse grid (a quarter of a working size), then
their soft assignments are brought to full resolution with a colour guided filter (so region
boundaries follow the image's edges), thin seam regions along the borders of two others are
dissolved into them, and islands below a minimum size join their surroundings.
Every descriptor block is standardised per image first, because the style's colours and mood
differ from the content's by design. The number of regions is chosen by the silhouette of the
joint clustering (the best one; ties go to fewer regions) unless given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.cluster.vq
import scipy.ndimage
import torch
import torch.nn.functional as F

from photostyle.core.colour import rgb_to_lab
from photostyle.core.imageio import resize_long_side
from photostyle.core.masks import LabelMap
from photostyle.core.postprocess import guided_filter
from photostyle.core.vgg import VGGFeatures

#: VGG-19 layers whose activations describe a pixel.
FEATURE_LAYERS = ("conv3_1", "conv4_1", "conv5_1")
#: Weight of each descriptor block in the joint space (its share of the total variance is the
#: weight squared): the three layers, the Lab colour, and the pixel's height in its image.
BLOCK_WEIGHTS: dict[str, float] = {"conv3_1": 0.5, "conv4_1": 0.7, "conv5_1": 0.7, "colour": 0.2, "height": 0.3}
#: Long side (px) at which the features are computed; clusters live on a grid a quarter of it.
WORK_SIZE = 320
#: Dimensions kept by the joint PCA.
PCA_DIMS = 24
#: Candidate numbers of regions when choosing automatically.
MIN_REGIONS, MAX_REGIONS = 2, 6
#: Islands smaller than this fraction of their image join the region around them.
MIN_ISLAND = 0.005
#: Regions no thicker than this (half-thickness, in cells of the feature grid) in every image
#: are seams between two others, and are dissolved into them.
BAND_HALF_CELLS = 3.0
#: Guided-filter radius (fraction of the long side) and regularisation for the soft assignments.
#: The window is wide because the clusters' borders are only known to a few grid cells (deep
#: features see across an edge): within one window the filter fits the assignment as a linear
#: function of the colour, which moves the border onto the colour edge near it (on the DPST
#: pairs, mIoU 0.75 -> 0.83 at 256 px going from 1/80 to 1/6).
REFINE_RADIUS, REFINE_EPS = 1 / 6, 1e-3
#: Points used to score a clustering (the silhouette is quadratic in them).
SILHOUETTE_POINTS = 2000


@dataclass
class CoSegmentation:
    """Label maps of both images over the same regions, with what chose them."""

    content: LabelMap
    style: LabelMap
    centroids: np.ndarray  # (K, D) region centres in the joint feature space
    regions: int
    chosen: str  # "auto" (by silhouette) or "given"
    silhouettes: dict[int, float] = field(default_factory=dict)


def pixel_features(vgg: VGGFeatures, image: np.ndarray, work_size: int = WORK_SIZE) -> dict[str, np.ndarray]:
    """Per-pixel descriptors on a grid a quarter of ``work_size``, by block (each (h, w, D)):
    the VGG activations of FEATURE_LAYERS, the Lab colour and the height in the image."""
    small = resize_long_side(image, work_size) if max(image.shape[:2]) > work_size else image
    device = next(iter(vgg.buffers())).device
    pixels = torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1)))[None].float().to(device) * 255.0
    grid = (max(1, small.shape[0] // 4), max(1, small.shape[1] // 4))
    blocks: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        acts = vgg(pixels, tuple(FEATURE_LAYERS))
        for name in FEATURE_LAYERS:
            a = F.interpolate(acts[name], size=grid, mode="bilinear", align_corners=False)
            blocks[name] = a[0].permute(1, 2, 0).cpu().double().numpy()
        colour = F.adaptive_avg_pool2d(pixels / 255.0, grid)[0].permute(1, 2, 0).cpu().double().numpy()
    blocks["colour"] = rgb_to_lab(colour)
    rows = (np.arange(grid[0]) + 0.5) / grid[0]
    blocks["height"] = np.repeat(rows[:, None, None], grid[1], axis=1)
    return blocks


def standardise(block: np.ndarray) -> np.ndarray:
    """Each dimension of one image's block shifted and scaled to mean 0 and unit variance over
    the image: the style's overall colour and mood differ from the content's by design, and what
    should match is where a pixel sits within its own image's distribution."""
    flat = block.reshape(-1, block.shape[-1])
    return (block - flat.mean(0)) / np.maximum(flat.std(0), 1e-6)


def describe(blocks: dict[str, np.ndarray]) -> np.ndarray:
    """One image's descriptor (h, w, D): standardised blocks, each scaled to the total variance
    given by its weight squared (BLOCK_WEIGHTS), whatever its number of dimensions."""
    parts = [standardise(blocks[name]) * (weight / np.sqrt(blocks[name].shape[-1]))
             for name, weight in BLOCK_WEIGHTS.items()]
    return np.concatenate(parts, axis=-1)


def joint_embedding(*features: np.ndarray, dims: int = PCA_DIMS) -> list[np.ndarray]:
    """The images' descriptors projected on the leading principal axes of all of them together."""
    flat = np.concatenate([f.reshape(-1, f.shape[-1]) for f in features])
    mean = flat.mean(0)
    cov = np.cov(flat - mean, rowvar=False)
    _, vecs = np.linalg.eigh(cov)
    axes = vecs[:, ::-1][:, :min(dims, flat.shape[1])]
    return [((f.reshape(-1, f.shape[-1]) - mean) @ axes).reshape(f.shape[:2] + (axes.shape[1],))
            for f in features]


def kmeans(points: np.ndarray, k: int, seed: int = 0, restarts: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Best of ``restarts`` k-means++ runs (scipy): centroids (k, D) and labels (N,)."""
    best = None
    for r in range(restarts):
        centroids, labels = scipy.cluster.vq.kmeans2(points, k, minit="++", seed=seed + r)
        inertia = float(((points - centroids[labels]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, centroids, labels)
    return best[1], best[2]


def silhouette(points: np.ndarray, labels: np.ndarray, sample: int = SILHOUETTE_POINTS, seed: int = 0) -> float:
    """Mean silhouette coefficient of a clustering on a random subsample (-1 to 1, higher is better)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(points), size=min(sample, len(points)), replace=False)
    p, lab = points[idx], labels[idx]
    dist = np.sqrt(np.maximum(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1), 0.0))
    clusters = np.unique(lab)
    if clusters.size < 2:
        return -1.0
    mean_to = np.stack([dist[:, lab == c].mean(1) for c in clusters], 1)  # (n, K)
    own = np.searchsorted(clusters, lab)
    sizes = np.array([(lab == c).sum() for c in clusters])
    a = mean_to[np.arange(len(p)), own] * sizes[own] / np.maximum(sizes[own] - 1, 1)
    mean_to[np.arange(len(p)), own] = np.inf
    b = mean_to.min(1)
    s = (b - a) / np.maximum(np.maximum(a, b), 1e-12)
    s[sizes[own] == 1] = 0.0
    return float(s.mean())


def choose_regions(points: np.ndarray, low: int = MIN_REGIONS, high: int = MAX_REGIONS,
                   seed: int = 0) -> tuple[int, dict[int, float]]:
    """The number of regions in ``low..high`` with the best silhouette (the fewest on a tie),
    and every score. Too few regions cost more than too many: a region split in two still takes
    its style from the matching parts of the reference, while two merged regions share one."""
    scores = {}
    for k in range(low, high + 1):
        _, labels = kmeans(points, k, seed)
        scores[k] = silhouette(points, labels, seed=seed)
    best = max(scores.values())
    return min(k for k, s in scores.items() if s >= best), scores


def soft_assignments(embedding: np.ndarray, centroids: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax over negative squared distances to the centroids, per grid pixel (h, w, K)."""
    d2 = ((embedding[..., None, :] - centroids) ** 2).sum(-1)
    logits = -(d2 - d2.min(-1, keepdims=True)) / max(temperature, 1e-12)
    p = np.exp(logits)
    return p / p.sum(-1, keepdims=True)


def refine(probs: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Soft assignments (h, w, K) brought to the image's size and snapped to its edges (H, W, K)."""
    height, width = image.shape[:2]
    t = torch.from_numpy(np.ascontiguousarray(probs.transpose(2, 0, 1)))[None].float()
    up = F.interpolate(t, size=(height, width), mode="bilinear", align_corners=False)[0]
    radius = max(1, round(max(height, width) * REFINE_RADIUS))
    return guided_filter(up.permute(1, 2, 0).numpy(), image.astype(np.float64), radius, REFINE_EPS)


def half_thickness(mask: np.ndarray) -> float:
    """The largest distance (px) from a pixel of ``mask`` to the nearest image pixel outside it
    (the image's border does not count: a strip along it is as thick as it is deep)."""
    if mask.all():
        return float("inf")
    return float(scipy.ndimage.distance_transform_edt(mask).max()) if mask.any() else 0.0


def grid_cell(shape: tuple[int, int], work_size: int = WORK_SIZE) -> float:
    """Size in pixels of an image of ``shape`` of one cell of its feature grid."""
    return 4.0 * max(1.0, max(shape) / work_size)


def is_seam(labels: np.ndarray, k: int) -> bool:
    """Whether region k of a label map is a thin band that borders two or more other regions."""
    mask = labels == k
    if half_thickness(mask) >= BAND_HALF_CELLS * grid_cell(labels.shape):
        return False
    ring = scipy.ndimage.binary_dilation(mask) & ~mask
    return np.unique(labels[ring]).size >= 2


def band_regions(label_maps: list[np.ndarray], n_regions: int) -> list[int]:
    """Regions that are seams in every image where they occur: thin bands between two others,
    where deep features see both neighbours at once (e.g. along a horizon), not regions of
    their own."""
    bands = []
    for k in range(n_regions):
        present = [lab for lab in label_maps if (lab == k).any()]
        if present and all(is_seam(lab, k) for lab in present):
            bands.append(k)
    return bands


def remove_islands(labels: np.ndarray, min_pixels: int) -> np.ndarray:
    """Connected pieces smaller than ``min_pixels`` take the label most common around them."""
    labels = labels.copy()
    for _ in range(3):  # an island may border only other islands: a few passes settle them
        changed = False
        for k in np.unique(labels):
            pieces, _ = scipy.ndimage.label(labels == k)
            sizes = np.bincount(pieces.ravel())
            for piece in np.flatnonzero(sizes[1:] < min_pixels) + 1:
                island = pieces == piece
                ring = scipy.ndimage.binary_dilation(island) & ~island
                around = labels[ring]
                if around.size:
                    labels[island] = np.bincount(around).argmax()
                    changed = True
        if not changed:
            break
    return labels


def _compact(content: np.ndarray, style: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renumber the regions still present in either image as 0..K'-1, by decreasing content area."""
    present = np.union1d(np.unique(content), np.unique(style))
    area = np.bincount(content.ravel(), minlength=len(centroids))[present]
    order = present[np.argsort(-area, kind="stable")]
    remap = np.zeros(len(centroids), dtype=np.int32)
    remap[order] = np.arange(order.size, dtype=np.int32)
    return remap[content], remap[style], centroids[order]


def cosegment(content: np.ndarray, style: np.ndarray, vgg: VGGFeatures, regions: int | None = None,
              seed: int = 0, max_regions: int = MAX_REGIONS) -> CoSegmentation:
    """Segment content and style (HxWx3 float in [0,1]) into corresponding regions.

    ``regions`` fixes the number of clusters; None chooses it in MIN_REGIONS..max_regions.
    Regions named ``region_k`` mean the same in both label maps (some may occur in only one).
    """
    fc, fs = describe(pixel_features(vgg, content)), describe(pixel_features(vgg, style))
    ec, es = joint_embedding(fc, fs)
    points = np.concatenate([ec.reshape(-1, ec.shape[-1]), es.reshape(-1, es.shape[-1])])
    scores: dict[int, float] = {}
    if regions is None:
        regions, scores = choose_regions(points, MIN_REGIONS, max(MIN_REGIONS, max_regions), seed)
    centroids, labels = kmeans(points, regions, seed)
    temperature = float(((points - centroids[labels]) ** 2).sum(-1).mean())
    probs = [refine(soft_assignments(emb, centroids, temperature), image)
             for emb, image in ((ec, content), (es, style))]
    bands = band_regions([p.argmax(-1) for p in probs], len(centroids))
    if len(bands) < len(centroids):
        for p in probs:  # a band's pixels go to their next most likely region
            p[..., bands] = -np.inf
    maps = [remove_islands(p.argmax(-1).astype(np.int32), max(1, int(MIN_ISLAND * p[..., 0].size))) for p in probs]
    clabels, slabels, centroids = _compact(maps[0], maps[1], centroids)
    names = [f"region_{k}" for k in range(len(centroids))]
    return CoSegmentation(LabelMap(clabels, names), LabelMap(slabels, list(names)), centroids, regions,
                          "auto" if scores else "given", scores)
