"""Co-segmentation of a content/style pair from VGG-19 features and colour: the default segmenter.

The pixels of both images are clustered together in one feature space (VGG-19 activations of
three depths plus CIE Lab colour, reduced by a joint PCA), so cluster k is the same kind of
stuff in both images and region k of the content can take its style from region k of the style,
as DPST's hand masks do. Clusters are found on a coarse grid (a quarter of a working size), then
their soft assignments are brought to full resolution with a colour guided filter (so region
boundaries follow the image's edges), thin seam regions along the borders of two others are
dissolved into them, and islands below a minimum size join their surroundings.
Every descriptor block is standardised per image first, because the style's colours and mood
differ from the content's by design. The number of regions, unless given, is the one (2-6, a
few k-means seeds each) whose candidate clusterings the others agree with best on average
(``transfer_agreement``), and its best candidate is kept. In the chosen clustering's labels,
pieces of a region lying far above or below where that region lies in the other image then go to their next most likely
region (``displaced_pieces``), pieces enclosed by another region whose colour is that
region's join it (``enclosed_pieces``), and pieces foreign to their region's colours that
continue a neighbouring region across a weaker colour step join that one (``foreign_pieces``).

Clustering always finds regions, even in images that share none (a flower and a city street).
The chosen regions' ``correspondence`` says whether the images' own deep features back the
pairing: how often a location's nearest neighbour in the other image, in raw (not per-image
standardised) VGG features, lies in the region of the same name, beyond what chance gives. Below
MIN_CORRESPONDENCE the pair falls back to one whole-image region (a global colour transfer),
as hand masks do for such pairs.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import scipy.cluster.vq
import scipy.ndimage
import torch
import torch.nn.functional as F

from photostyle.core.colour import region_colour_transfer, rgb_to_lab
from photostyle.core.filters import guided_filter
from photostyle.core.imageio import min_long_side, shrink_long_side
from photostyle.core.masks import LabelMap, nearest_index
from photostyle.core.metrics import SortedColours, style_distance, style_sides
from photostyle.core.regions import DEFAULT_MIN_SHARE, merge_unshared, pair_regions
from photostyle.core.vgg import VGGFeatures

#: VGG-19 layers whose activations describe a pixel.
FEATURE_LAYERS = ("conv3_1", "conv4_1", "conv5_1")
#: Weight of each descriptor block in the joint space (its share of the total variance is the
#: weight squared): the three layers, the Lab colour, and the pixel's height in its image.
#: The height keeps a sky apart from a dark foreground that looks like it; weighted higher, it
#: cuts skylines into horizontal bands that become regions of their own. What it lets through
#: (a sky clustered with a shadowed foreground) ``displaced_pieces`` undoes.
BLOCK_WEIGHTS: dict[str, float] = {"conv3_1": 0.5, "conv4_1": 0.7, "conv5_1": 0.7, "colour": 0.2, "height": 0.15}
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
#: function of the colour, which moves the border onto the colour edge near it.
REFINE_RADIUS, REFINE_EPS = 1 / 6, 1e-3
#: A connected piece of a region whose mean height (fraction of its image's height) lies further
#: than this outside the 5-95 % height range of the same region in the other image is not that
#: region: a sky does not continue in a shadowed foreground.
HEIGHT_MARGIN = 0.1
#: A piece of a region lying apart from the region's largest piece, with at least this share of
#: the pixels around it in one other region, is enclosed by that region (``enclosed_pieces``).
ENCLOSED_SHARE = 0.7
#: A pixel is foreign to its region when its Lab colour lies further than this from the
#: region's median colour, in robust standard deviations (1.4826 MAD per channel, at least one
#: Lab unit) summed in quadrature: far outside a sky's narrow spread, well inside a city's.
FOREIGN_Z = 4.0
#: A foreign piece moves only when at least this share of the pixels around it lie in the
#: region it fits, so a cloud inside a sky, touching nothing else, stays (``foreign_pieces``).
FOREIGN_TOUCH = 0.25
#: Seeds of the candidate clusterings for each number of regions. The joint k-means has several
#: near-equal optima and which one it finds changes with the photo's 8-bit rounding (one of them
#: may pair a sky with a city); candidates from a few seeds, judged by their agreement and
#: averaged per number of regions (``choose_clustering``), make the choice stable.
CANDIDATE_SEEDS = (0, 100, 200)
#: Long side (px) at which the candidate numbers of regions are compared (colour statistics
#: need no more).
AGREEMENT_SIZE = 128
#: VGG-19 layers whose raw activations judge the correspondence of the chosen regions.
CORRESPONDENCE_LAYERS = ("conv4_1", "conv5_1")
#: Below this chance-corrected agreement (Cohen's kappa) between the region labels and the
#: images' nearest-neighbour correspondences, the regions pair nothing that the features see
#: as alike and the pair is one whole-image region: a quarter of the way from chance to full
#: agreement. Every tuning pair scores 0.41 or more.
MIN_CORRESPONDENCE = 0.25


@dataclass
class CoSegmentation:
    """Label maps of both images over the same regions, with what chose them."""

    content: LabelMap
    style: LabelMap
    centroids: np.ndarray  # (K, D) region centres in the joint feature space
    regions: int
    chosen: str  # "auto" (by agreement), "given", or "fallback" (one region: no correspondence)
    disagreement: dict[int, float] = field(default_factory=dict)  # mean per region count, lower is better
    correspondence: float | None = None  # kappa of the chosen regions (``correspondence``)


def analysed_side(shape: tuple[int, int], work_size: int = WORK_SIZE) -> int:
    """The long side above which an image of ``shape`` is reduced for its features: ``work_size``,
    or more for a strip, whose short side must stay large enough for the network."""
    return max(work_size, min_long_side(shape))


def pixel_features(vgg: VGGFeatures, image: np.ndarray, work_size: int = WORK_SIZE) -> dict[str, np.ndarray]:
    """Per-pixel descriptors on a grid a quarter of ``work_size``, by block (each (h, w, D)):
    the VGG activations of FEATURE_LAYERS, the Lab colour and the height in the image. A strip
    is reduced no further than its short side allows the network."""
    side = analysed_side(image.shape[:2], work_size)
    small = shrink_long_side(image, side)
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
    parts = [
        standardise(blocks[name]) * (weight / np.sqrt(blocks[name].shape[-1])) for name, weight in BLOCK_WEIGHTS.items()
    ]
    return np.concatenate(parts, axis=-1)


def joint_embedding(*features: np.ndarray, dims: int = PCA_DIMS) -> list[np.ndarray]:
    """The images' descriptors projected on the leading principal axes of all of them together."""
    flat = np.concatenate([f.reshape(-1, f.shape[-1]) for f in features])
    mean = flat.mean(0)
    cov = np.cov(flat - mean, rowvar=False)
    _, vecs = np.linalg.eigh(cov)
    axes = vecs[:, ::-1][:, : min(dims, flat.shape[1])]
    return [((f.reshape(-1, f.shape[-1]) - mean) @ axes).reshape(f.shape[:2] + (axes.shape[1],)) for f in features]


def kmeans(points: np.ndarray, k: int, seed: int = 0, restarts: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Best of ``restarts`` k-means++ runs (scipy): centroids (k, D) and labels (N,)."""
    best = None
    for r in range(restarts):
        centroids, labels = scipy.cluster.vq.kmeans2(points, k, minit="++", seed=seed + r)
        inertia = float(((points - centroids[labels]) ** 2).sum())
        if best is None or inertia < best[0]:
            best = (inertia, centroids, labels)
    return best[1], best[2]


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
    return 4.0 * max(1.0, max(shape) / analysed_side(shape, work_size))


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


def robust_distance(lab: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per pixel, the distance of its Lab colour from the median colour of ``mask``, in robust
    standard deviations per channel (1.4826 MAD, at least one Lab unit) summed in quadrature."""
    pixels = lab[mask]
    median = np.median(pixels, 0)
    scale = np.maximum(1.4826 * np.median(np.abs(pixels - median), 0), 1.0)
    return np.sqrt((((lab - median) / scale) ** 2).sum(-1))


def colour_step(lab: np.ndarray, piece: np.ndarray, outside: np.ndarray) -> float:
    """How far the mean colour changes across the border of ``piece`` with ``outside`` (pixels
    within two of the border on each side)."""
    inner = piece & scipy.ndimage.binary_dilation(outside, iterations=2)
    return float(np.linalg.norm(lab[outside].mean(0) - lab[inner].mean(0)))


def foreign_pieces(labels: np.ndarray, image: np.ndarray, min_pixels: int) -> np.ndarray:
    """The label map with each piece of at least ``min_pixels`` whose colours are foreign to
    its region (FOREIGN_Z robust deviations from the region's median) and fit another region
    better, given to that region when it touches it (FOREIGN_TOUCH of the pixels around) and
    the colour changes more across the piece's border with its own region than with the other.

    Deep features blur a thin strip into its neighbour and the height descriptor pulls
    anything high up towards the sky: a distant mountain range under a sunset sky clustered
    with it, though it is ten of the sky's deviations away in colour and a skyline edge
    separates the two. A smooth band of the sky's own gradient (a weak step to the sky) and a
    cloud inside a sky (touching nothing else) stay.
    """
    lab = rgb_to_lab(np.asarray(image, np.float64))
    regions = np.unique(labels)
    distance = np.stack([robust_distance(lab, labels == k) for k in regions])
    own = np.searchsorted(regions, labels)
    own_distance = np.take_along_axis(distance, own[None], 0)[0]
    others = distance.copy()
    np.put_along_axis(others, own[None], np.inf, 0)
    fits = others.argmin(0)
    foreign = (own_distance > FOREIGN_Z) & (others.min(0) < own_distance)
    moved = labels.copy()
    for a, k in enumerate(regions):
        for b, j in enumerate(regions):
            candidates = foreign & (own == a) & (fits == b)
            pieces, n = scipy.ndimage.label(candidates)
            sizes = np.bincount(pieces.ravel(), minlength=n + 1)
            for piece in (pieces == p for p in np.flatnonzero(sizes[1:] >= min_pixels) + 1):
                ring = scipy.ndimage.binary_dilation(piece, iterations=2) & ~piece
                to_other, to_own = ring & (labels == j), ring & (labels == k) & ~candidates
                if to_other.sum() < FOREIGN_TOUCH * ring.sum() or not to_own.any():
                    continue
                if colour_step(lab, piece, to_own) > colour_step(lab, piece, to_other):
                    moved[piece] = j
    return moved


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


def _compact(
    content: np.ndarray, style: np.ndarray, centroids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renumber the regions still present in either image as 0..K'-1, by decreasing content area."""
    present = np.union1d(np.unique(content), np.unique(style))
    area = np.bincount(content.ravel(), minlength=len(centroids))[present]
    order = present[np.argsort(-area, kind="stable")]
    remap = np.zeros(len(centroids), dtype=np.int32)
    remap[order] = np.arange(order.size, dtype=np.int32)
    return remap[content], remap[style], centroids[order]


def fit(points: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, float]:
    """k-means centroids of the joint points and the temperature of their soft assignments
    (the mean squared distance of a point to its centroid)."""
    centroids, labels = kmeans(points, k, seed)
    return centroids, float(((points - centroids[labels]) ** 2).sum(-1).mean())


def heights(shape: tuple[int, int]) -> np.ndarray:
    """Each pixel's height in its image as a fraction (0 top, 1 bottom), (H, W)."""
    rows = (np.arange(shape[0]) + 0.5) / shape[0]
    return np.broadcast_to(rows[:, None], shape)


def displaced_pieces(labels: list[np.ndarray], min_share: float = MIN_ISLAND) -> list[list[tuple[np.ndarray, int]]]:
    """Per image, the connected pieces (mask, region) of at least ``min_share`` of it whose mean
    height lies more than HEIGHT_MARGIN outside the region's 5-95 % height range in the other
    image.

    The height descriptor alone cannot keep a sky apart from a dark, smooth foreground that the
    deep features see as alike: weighted enough to do it, it cuts skylines into horizontal bands.
    Judged per connected piece against the counterpart region, it cuts nothing that is continuous.
    """
    ranges = []
    for lab in labels:
        h = heights(lab.shape)
        ranges.append({k: np.percentile(h[lab == k], (5, 95)) for k in np.unique(lab)})
    found: list[list[tuple[np.ndarray, int]]] = []
    for i, lab in enumerate(labels):
        other, h, pieces_i = ranges[1 - i], heights(lab.shape), []
        for k in np.unique(lab):
            if k not in other:
                continue
            low, high = other[k]
            pieces, n = scipy.ndimage.label(lab == k)
            sizes, min_pixels = np.bincount(pieces.ravel()), max(1, int(min_share * lab.size))
            means = scipy.ndimage.mean(h, pieces, np.arange(1, n + 1))
            for piece in range(1, n + 1):
                if sizes[piece] >= min_pixels and not low - HEIGHT_MARGIN <= means[piece - 1] <= high + HEIGHT_MARGIN:
                    pieces_i.append((pieces == piece, int(k)))
        found.append(pieces_i)
    return found


def enclosed_pieces(labels: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The label map with each piece of a region that lies apart from the region's largest
    piece, enclosed by one other region (ENCLOSED_SHARE of the pixels around it) and nearer
    that region's mean Lab colour than its own largest piece's, given to the enclosing region.

    Deep features blur across a few grid cells, so a patch of dark ground between hills can
    cluster with the sky above them; in the photo it is a patch of the ground's colour inside
    the ground. A piece whose colour does match its region (a lake seen through trees) stays.
    """
    labels = labels.copy()
    lab = rgb_to_lab(np.asarray(image, np.float64))
    for k in np.unique(labels):
        pieces, n = scipy.ndimage.label(labels == k)
        if n < 2:
            continue
        sizes = np.bincount(pieces.ravel())
        sizes[0] = 0
        main = int(sizes.argmax())
        own = lab[pieces == main].mean(0)
        for piece in (p for p in range(1, n + 1) if p != main):
            mask = pieces == piece
            around = labels[scipy.ndimage.binary_dilation(mask, iterations=2) & ~mask]
            if not around.size:
                continue
            counts = np.bincount(around)
            j = int(counts.argmax())
            if j == k or counts[j] < ENCLOSED_SHARE * around.size:
                continue
            colour = lab[mask].mean(0)
            if np.linalg.norm(colour - lab[labels == j].mean(0)) < np.linalg.norm(colour - own):
                labels[mask] = j
    return labels


def label_pair(
    embeddings: tuple[np.ndarray, np.ndarray],
    centroids: np.ndarray,
    temperature: float,
    images: tuple[np.ndarray, np.ndarray],
    displace: bool = False,
) -> list[np.ndarray]:
    """Label maps of both images, each at its image's size, for one clustering: soft assignments
    snapped to the edges, seams dissolved, (with ``displace``) displaced pieces moved, islands
    joined, (with ``displace``) enclosed pieces of another colour given to their surroundings
    and foreign pieces to the region they continue."""
    probs = [refine(soft_assignments(emb, centroids, temperature), image) for emb, image in zip(embeddings, images)]
    bands = band_regions([p.argmax(-1) for p in probs], len(centroids))
    if len(bands) < len(centroids):
        for p in probs:  # a band's pixels go to their next most likely region
            p[..., bands] = -np.inf
    labels = [p.argmax(-1).astype(np.int32) for p in probs]
    for lab, p, pieces in zip(labels, probs, displaced_pieces(labels) if displace else ([], [])):
        for mask, k in pieces:  # a displaced piece goes to its next most likely region, if any
            scores = p[mask]
            scores[:, k] = -np.inf
            if np.isfinite(scores[0]).any():
                lab[mask] = scores.argmax(-1)
    minimum = [max(1, int(MIN_ISLAND * lab.size)) for lab in labels]
    labels = [remove_islands(lab, m) for lab, m in zip(labels, minimum)]
    if not displace:
        return labels
    labels = [enclosed_pieces(lab, image) for lab, image in zip(labels, images)]
    return [remove_islands(foreign_pieces(lab, image, m), m) for lab, image, m in zip(labels, images, minimum)]


def feature_similarity(centroids: np.ndarray) -> np.ndarray:
    """Similarity in (0, 1] of regions from the distance between their feature centroids."""
    d2 = ((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(-1)
    scale = np.median(d2[d2 > 0]) if (d2 > 0).any() else 1.0
    return np.exp(-d2 / scale)


def paired_masks(
    content: np.ndarray, style: np.ndarray, centroids: np.ndarray, min_share: float = DEFAULT_MIN_SHARE
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of a pair of label maps as the group stage pairs them: regions too small in either
    image merged into their most similar shared one, then paired by name."""
    names = [f"region_{k}" for k in range(len(centroids))]
    content_map, style_map, _ = merge_unshared(
        LabelMap(content, names), LabelMap(style, list(names)), feature_similarity(centroids), min_share
    )
    pairs = pair_regions(content_map, style_map)
    return pairs.content_masks, pairs.style_masks


def transfer_agreement(
    content: np.ndarray,
    style: np.ndarray,
    candidates: dict[Hashable, list[np.ndarray]],
    centroids: dict[Hashable, np.ndarray],
    min_share: float = DEFAULT_MIN_SHARE,
) -> dict[Hashable, float]:
    """How much each candidate segmentation disagrees with the others (lower is better).

    Each candidate is one estimate of which parts of the two images correspond. Its per-region
    colour transfer (the optimisation's starting image) is measured, as a style distance, over
    every other candidate's paired regions, and the mean is its score: a candidate that pairs
    a sky with a city, or merges what the others keep apart, looks wrong under most of the
    others' regions, while one they agree on does not (a minimum-Bayes-risk choice). The
    silhouette of the joint clustering is no substitute: its choice flips with the photos' 8-bit
    rounding.
    """
    masks = {k: paired_masks(*maps, centroids[k], min_share) for k, maps in candidates.items()}
    outputs = {k: SortedColours(region_colour_transfer(content, style, *m)) for k, m in masks.items()}
    style_colours = SortedColours(style)
    sides = {k: style_sides(style_colours, m[1]) for k, m in masks.items()}
    return {
        k: float(np.mean([style_distance(outputs[k], sides[j], masks[j][0]) for j in candidates if j != k]))
        for k in candidates
    }


def choose_clustering(agreement: dict[tuple[int, int], float]) -> tuple[tuple[int, int], dict[int, float]]:
    """The (regions, seed) candidate to keep, and each number of regions' disagreement.

    The number of regions is chosen first, by its candidates' mean disagreement, then its best
    candidate. A single candidate's score rides on which k-means optimum its seed found, so the
    best of all of them changes its number of regions when the photo changes by a grey level;
    the mean over the seeds is the number's expected disagreement, whatever optimum a seed
    lands in.
    """
    by_count: dict[int, list[float]] = {}
    for (count, _), score in agreement.items():
        by_count.setdefault(count, []).append(score)
    means = {count: float(np.mean(v)) for count, v in by_count.items()}
    count = min(means, key=lambda c: (means[c], c))
    best = min((key for key in agreement if key[0] == count), key=lambda key: (agreement[key], key))
    return best, means


def unit_features(blocks: dict[str, np.ndarray], layers: tuple[str, ...] = CORRESPONDENCE_LAYERS) -> np.ndarray:
    """Per grid pixel (h*w, D), the raw activations of ``layers``, each layer scaled to unit length
    and the whole again: cosine similarity weighs the layers alike."""
    parts = [blocks[name] / np.maximum(np.linalg.norm(blocks[name], axis=-1, keepdims=True), 1e-9) for name in layers]
    joint = np.concatenate(parts, -1)
    joint /= np.maximum(np.linalg.norm(joint, axis=-1, keepdims=True), 1e-9)
    return joint.reshape(-1, joint.shape[-1]).astype(np.float32)


def nearest_neighbours(a: np.ndarray, b: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """For unit rows of ``a`` (N, D) and ``b`` (M, D): the index of each row's most similar row of
    the other (cosine), as (N,) into ``b`` and (M,) into ``a``, in chunks of ``chunk`` rows."""
    to_b = np.empty(len(a), dtype=np.int64)
    best_a, to_a = np.full(len(b), -np.inf, dtype=np.float32), np.zeros(len(b), dtype=np.int64)
    for start in range(0, len(a), chunk):
        sim = a[start : start + chunk] @ b.T
        to_b[start : start + chunk] = sim.argmax(1)
        rows, best = sim.argmax(0), sim.max(0)
        better = best > best_a
        best_a[better], to_a[better] = best[better], rows[better] + start
    return to_b, to_a


def grid_labels(labels: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """A label map (H, W) sampled at the centres of a (h, w) grid's cells, flattened."""
    return labels[np.ix_(nearest_index(labels.shape[0], grid[0]), nearest_index(labels.shape[1], grid[1]))].ravel()


def correspondence(
    blocks: tuple[dict[str, np.ndarray], dict[str, np.ndarray]], labels: tuple[np.ndarray, np.ndarray]
) -> float:
    """Cohen's kappa between a pair of label maps and the images' own correspondences: each grid
    location of one image is matched to its nearest neighbour in the other (cosine of raw
    CORRESPONDENCE_LAYERS activations, both directions), and the share of matches landing in the
    region of the same label is corrected for the share that region sizes alone would give. 1 is
    full agreement (and a single region), 0 what unrelated regions give, below 0 worse than
    chance."""
    features = [unit_features(b) for b in blocks]
    grids = [b[CORRESPONDENCE_LAYERS[0]].shape[:2] for b in blocks]
    lc, ls = (grid_labels(lab, g) for lab, g in zip(labels, grids))
    if np.union1d(lc, ls).size == 1:
        return 1.0  # one region: nothing to pair wrongly
    to_style, to_content = nearest_neighbours(*features)
    agree = 0.5 * (float((ls[to_style] == lc).mean()) + float((lc[to_content] == ls).mean()))
    n = int(max(lc.max(), ls.max())) + 1
    chance = float(np.bincount(lc, minlength=n) @ np.bincount(ls, minlength=n)) / (lc.size * ls.size)
    return (agree - chance) / max(1.0 - chance, 1e-9)


def cosegment(
    content: np.ndarray,
    style: np.ndarray,
    vgg: VGGFeatures,
    regions: int | None = None,
    seed: int = 0,
    max_regions: int = MAX_REGIONS,
    min_share: float = DEFAULT_MIN_SHARE,
) -> CoSegmentation:
    """Segment content and style (HxWx3 float in [0,1]) into corresponding regions.

    ``regions`` fixes the number of clusters; None chooses it in MIN_REGIONS..max_regions, judging
    each candidate as the group stage will pair it (``min_share``).
    Regions named ``region_k`` mean the same in both label maps (some may occur in only one).
    Chosen automatically, regions whose ``correspondence`` is below MIN_CORRESPONDENCE give way
    to one whole-image region (``chosen`` is then "fallback").
    """
    blocks = pixel_features(vgg, content), pixel_features(vgg, style)
    ec, es = joint_embedding(describe(blocks[0]), describe(blocks[1]))
    points = np.concatenate([ec.reshape(-1, ec.shape[-1]), es.reshape(-1, es.shape[-1])])
    scores: dict[int, float] = {}
    if regions is None:
        fits = {
            (k, seed + s): fit(points, k, seed + s)
            for k in range(MIN_REGIONS, max(MIN_REGIONS, max_regions) + 1)
            for s in CANDIDATE_SEEDS
        }
        small = tuple(shrink_long_side(im, AGREEMENT_SIZE) for im in (content, style))
        candidates = {key: label_pair((ec, es), *fits[key], small) for key in fits}
        agreement = transfer_agreement(*small, candidates, {key: f[0] for key, f in fits.items()}, min_share)
        best, scores = choose_clustering(agreement)
        regions, (centroids, temperature) = best[0], fits[best]
    else:
        centroids, temperature = fit(points, regions, seed)
    # Displaced pieces move only in the chosen clustering: judging the candidates after the move
    # favours clusterings that pair a sky with a lit skyline.
    maps = label_pair((ec, es), centroids, temperature, (content, style), displace=True)
    clabels, slabels, centroids = _compact(maps[0], maps[1], centroids)
    paired = paired_masks(clabels, slabels, centroids, min_share)  # as the group stage will pair them
    kappa = correspondence(blocks, (paired[0].argmax(0), paired[1].argmax(0)))
    chosen = "auto" if scores else "given"
    if scores and kappa < MIN_CORRESPONDENCE:
        clabels, slabels, centroids, chosen = np.zeros_like(clabels), np.zeros_like(slabels), centroids[:1], "fallback"
    names = [f"region_{k}" for k in range(len(centroids))]
    return CoSegmentation(
        LabelMap(clabels, names), LabelMap(slabels, list(names)), centroids, regions, chosen, scores, kappa
    )
