"""Quality metrics of a photorealistic style transfer result.

Used by the pipeline's score stage and by the benchmark against the published DPST results.
All images are HxWx3 float32 RGB in [0, 1]. Every metric is deterministic (fixed seeds).

- ``structure``: SSIM between the Sobel edge maps of content and output (did the geometry survive?).
- ``style_distance``: per-region sliced Wasserstein distance between output and style colours in Lab.
- ``photorealism``: matting-Laplacian energy per pixel (is the output locally affine in the content?).
- ``matched_miou``: agreement of an automatic segmentation with hand masks (for the benchmark);
  ``nested_miou`` says whether a miss is one of granularity (finer or coarser regions that nest
  in the hand ones) or of regions that cut across them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage, optimize

from photostyle.core.colour import rgb_to_lab
from photostyle.core.config import ScoringConfig
from photostyle.core.laplacian import laplacian_energy

#: Rec. 601 luma weights.
LUMA_601 = np.array([0.299, 0.587, 0.114])

#: Largest Sobel gradient magnitude of an image in [0, 1] with scipy.ndimage.sobel's 3x3 kernels
#: ([1, 2, 1] smoothing x [-1, 0, 1] derivative): gx = 4 and gy = 2 at once, so sqrt(20).
SOBEL_MAX = float(np.sqrt(20.0))

#: SSIM constants (Wang et al. 2004), for a data range of 1.
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
#: Gaussian window truncated at 3.5 sigma: an 11x11 window for sigma 1.5, as in the paper.
SSIM_TRUNCATE = 3.5


def _check_image(image: np.ndarray, name: str) -> np.ndarray:
    """Return ``image`` as float64 HxWx3, raising ValueError on another shape."""
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"{name} must be HxWx3, got shape {arr.shape}")
    return arr


def luminance(image: np.ndarray) -> np.ndarray:
    """Rec. 601 luma (HxW) of an HxWx3 RGB image."""
    return _check_image(image, "image") @ LUMA_601


def edge_map(image: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of the luma, divided by its maximum possible value so it lies in [0, 1].

    A fixed constant (not the image's own maximum) keeps the maps of two images comparable.
    """
    y = luminance(image)
    gx = ndimage.sobel(y, axis=1, mode="reflect")
    gy = ndimage.sobel(y, axis=0, mode="reflect")
    return np.hypot(gx, gy) / SOBEL_MAX


def ssim(x: np.ndarray, y: np.ndarray, data_range: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004) of two 2-D arrays, Gaussian window sigma 1.5, K1 0.01, K2 0.03."""
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")

    def blur(a: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(a, SSIM_SIGMA, truncate=SSIM_TRUNCATE, mode="reflect")

    c1 = (SSIM_K1 * data_range) ** 2
    c2 = (SSIM_K2 * data_range) ** 2
    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * cxy + c2)
    den = (mx * mx + my * my + c1) * (vx + vy + c2)
    return float(np.mean(num / den))


def structure(content: np.ndarray, output: np.ndarray) -> float:
    """SSIM between the edge maps of content and output: 1.0 = identical edges.

    Edges rather than pixels so that re-toning (the point of style transfer) is not penalised,
    while blurred, warped or hallucinated structure is.
    """
    content = _check_image(content, "content")
    output = _check_image(output, "output")
    if content.shape != output.shape:
        raise ValueError(f"content and output shapes differ: {content.shape} vs {output.shape}")
    return ssim(edge_map(content), edge_map(output), data_range=1.0)


def _subsample(points: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    """Deterministic random subset of at most ``max_points`` rows, independent of the rows' order.

    Rows are put in a canonical (lexicographic) order first, so a permuted cloud gives the same subset.
    """
    if len(points) <= max_points:
        return points
    canonical = points[np.lexsort(points.T[::-1])]
    idx = np.random.default_rng([seed, 1]).choice(len(points), size=max_points, replace=False)
    return canonical[np.sort(idx)]


def random_directions(n: int, dim: int, seed: int) -> np.ndarray:
    """``n`` unit vectors in R^dim, uniform on the sphere, from a seeded generator."""
    v = np.random.default_rng([seed, 0]).standard_normal((n, dim))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def sorted_projections(
    points: np.ndarray, n_projections: int = 64, seed: int = 0, max_points: int = 20000
) -> np.ndarray:
    """A point cloud (N, D) projected on ``n_projections`` seeded unit directions, each row sorted:
    (n_projections, min(N, max_points)), one side of ``sliced_wasserstein``.

    Computed once, a cloud can be compared with many others (``projected_distance``). Clouds larger
    than ``max_points`` are subsampled (seeded, order-independent).
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2:
        raise ValueError(f"expected an (N, D) point cloud, got shape {points.shape}")
    if len(points) == 0:
        raise ValueError("point clouds must not be empty")
    points = _subsample(points, max_points, seed)
    theta = random_directions(n_projections, points.shape[1], seed)
    return np.sort(theta @ points.T, axis=1)


def projected_distance(pa: np.ndarray, pb: np.ndarray) -> float:
    """Sliced W1 distance between two clouds' ``sorted_projections`` (same directions): the mean
    absolute difference of their quantile functions at max(N, M) mid-point quantiles."""
    if pa.shape[0] != pb.shape[0]:
        raise ValueError(f"projections on {pa.shape[0]} and {pb.shape[0]} directions")
    na, nb = pa.shape[1], pb.shape[1]
    grid = (np.arange(max(na, nb)) + 0.5) / max(na, nb)
    qa = pa[:, np.minimum((grid * na).astype(np.int64), na - 1)]
    qb = pb[:, np.minimum((grid * nb).astype(np.int64), nb - 1)]
    return float(np.mean(np.abs(qa - qb)))


def sliced_wasserstein(
    a: np.ndarray,
    b: np.ndarray,
    n_projections: int = 64,
    seed: int = 0,
    max_points: int = 20000,
) -> float:
    """Sliced 1-Wasserstein distance between point clouds (N, D) and (M, D).

    Mean over ``n_projections`` random unit directions of the 1-D W1 distance between the projected
    clouds, i.e. the mean absolute difference of their quantile functions, sampled at
    max(N, M) mid-point quantiles (inverted CDF; exact when N == M). In the units of the points
    (Lab units for colours); a pure shift t gives the mean of |<t, theta>|, linear in |t|.
    Clouds larger than ``max_points`` are subsampled (seeded, order-independent). Symmetric, 0 for
    identical clouds, invariant to the order of the points.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected (N, D) and (M, D) point clouds, got {a.shape} and {b.shape}")
    return projected_distance(
        sorted_projections(a, n_projections, seed, max_points), sorted_projections(b, n_projections, seed, max_points)
    )


def _masks_or_whole(masks: np.ndarray | None, shape: tuple[int, int], name: str) -> np.ndarray:
    """Boolean (K, H, W) masks, or one region covering the whole image when ``masks`` is None."""
    if masks is None:
        return np.ones((1, *shape), dtype=bool)
    m = np.asarray(masks).astype(bool)
    if m.ndim != 3 or m.shape[1:] != shape:
        raise ValueError(f"{name} must be (K, {shape[0]}, {shape[1]}), got shape {m.shape}")
    return m


class SortedColours:
    """An image's Lab colours on the seeded directions, sorted once.

    With ``shared``, a region's ``sorted_projections`` are the whole image's sorted values filtered
    by membership, the same numbers without a sort per region: scoring one image under many region
    maps (the co-segmentation's transfer agreement) sorts its colours once. Without it, or for a
    region above ``max_points`` pixels (subsampled as ``sorted_projections`` does), the region is
    sorted on its own, which is cheaper for an image scored once.
    """

    def __init__(
        self,
        image: np.ndarray,
        n_projections: int = 64,
        seed: int = 0,
        max_points: int = 20000,
        name: str = "image",
        shared: bool = True,
    ) -> None:
        image = _check_image(image, name)
        self.shape: tuple[int, int] = image.shape[:2]
        self.lab = rgb_to_lab(image).reshape(-1, 3)
        self.n_projections, self.seed, self.max_points, self.shared = n_projections, seed, max_points, shared
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    def _whole(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole image's sorted projections and, per direction, the pixel order they follow."""
        if self._sorted is None:
            projected = random_directions(self.n_projections, 3, self.seed) @ self.lab.T
            order = np.argsort(projected, axis=1)
            self._sorted = np.take_along_axis(projected, order, axis=1), order
        return self._sorted

    def region(self, mask: np.ndarray) -> np.ndarray:
        """``sorted_projections`` of the colours under ``mask`` (HxW bool, not empty)."""
        flat = np.asarray(mask, dtype=bool).reshape(-1)
        n = int(flat.sum())
        if n == 0:
            raise ValueError("point clouds must not be empty")
        if n > self.max_points or not self.shared:
            return sorted_projections(self.lab[flat], self.n_projections, self.seed, self.max_points)
        values, order = self._whole()
        return values[flat[order]].reshape(self.n_projections, n)


def style_sides(
    style: np.ndarray | SortedColours, style_masks: np.ndarray | None = None, n_projections: int = 64, seed: int = 0
) -> list[np.ndarray | None]:
    """Each style region's Lab colours as ``sorted_projections`` (None for an empty region): the
    style's half of ``style_distance``, computed once to compare many outputs with the same regions.
    ``style`` may be the image's ``SortedColours``, to take sides for many region maps from one sort."""
    colours = (
        style
        if isinstance(style, SortedColours)
        else SortedColours(style, n_projections, seed, name="style", shared=False)
    )
    sm = _masks_or_whole(style_masks, colours.shape, "style_masks")
    return [colours.region(m) if m.any() else None for m in sm]


def style_distance(
    output: np.ndarray | SortedColours,
    style: np.ndarray | list[np.ndarray | None],
    content_masks: np.ndarray | None = None,
    style_masks: np.ndarray | None = None,
    n_projections: int = 64,
    seed: int = 0,
) -> float:
    """Area-weighted per-region sliced W1 distance between output and style colours in Lab.

    Region k of the output (content geometry) is compared with region k of the style image;
    weights are the regions' pixel counts in the output, renormalised over the regions that are
    non-empty in both images. Lower = closer to the style. To score one image under many region
    maps, ``output`` may be its ``SortedColours`` and ``style`` its ``style_sides`` for
    ``style_masks`` (then ``style_masks`` is not needed); both must use the same directions.
    """
    colours = (
        output
        if isinstance(output, SortedColours)
        else SortedColours(output, n_projections, seed, name="output", shared=False)
    )
    cm = _masks_or_whole(content_masks, colours.shape, "content_masks")
    sides = style if isinstance(style, list) else style_sides(style, style_masks, n_projections, seed)
    if len(cm) != len(sides):
        raise ValueError(f"{len(cm)} content regions but {len(sides)} style regions")
    total, weight = 0.0, 0
    for k, side in enumerate(sides):
        n_out = int(cm[k].sum())
        if n_out == 0 or side is None:
            continue
        total += n_out * projected_distance(colours.region(cm[k]), side)
        weight += n_out
    if weight == 0:
        raise ValueError("no region is non-empty in both the output and the style image")
    return total / weight


def photorealism(output: np.ndarray, laplacian) -> float:
    """Matting-Laplacian energy per pixel, sum_c V_c^T L V_c / (H W); lower = more photorealistic.

    ``laplacian`` is the content image's N x N matting Laplacian (N = H W, row-major pixels).
    DPST's L_m: small when the output is locally an affine function of the content's colours.
    """
    output = _check_image(output, "output")
    h, w, _ = output.shape
    if laplacian.shape != (h * w, h * w):
        raise ValueError(f"laplacian must be {h * w}x{h * w}, got {laplacian.shape}")
    return float(laplacian_energy(output, laplacian))


@dataclass
class Scores:
    """The scores of one result; the NIMA scores are None when no NIMA model scored it."""

    structure: float
    photorealism: float
    style_distance: float
    nima_mean: float | None = None
    nima_std: float | None = None
    nima_model: str | None = None

    def to_dict(self) -> dict[str, float | None]:
        """Plain dict, for the manifest and Prefect artifacts."""
        return asdict(self)


def score_all(
    content: np.ndarray,
    style: np.ndarray,
    output: np.ndarray,
    laplacian,
    content_masks: np.ndarray | None = None,
    style_masks: np.ndarray | None = None,
    config: ScoringConfig | None = None,
) -> Scores:
    """The metrics of one result that compare it with its inputs (NIMA, which reads the result
    alone, is ``core/nima.py``'s); without masks the style distance is over the whole images."""
    projections = (config or ScoringConfig()).style_projections
    return Scores(
        structure=structure(content, output),
        photorealism=photorealism(output, laplacian),
        style_distance=style_distance(output, style, content_masks, style_masks, n_projections=projections),
    )


def matched_miou(predicted: list[np.ndarray], truth: list[np.ndarray]) -> tuple[float, dict[int, int]]:
    """Mean IoU of the true regions after the best one-to-one matching of predicted labels to them.

    Each list holds one integer label map per image (e.g. content and style); a label means the
    same region in every image of its list, so intersections and unions are summed over the
    images before the matching (Hungarian, maximising total IoU). A true region left without a
    predicted one scores 0. Returns the mean and the matching {predicted: true}.
    """
    inter = overlaps(predicted, truth)
    pred_area, true_area = inter.sum(1), inter.sum(0)
    iou = inter / np.maximum(pred_area[:, None] + true_area[None, :] - inter, 1)
    rows, cols = optimize.linear_sum_assignment(iou, maximize=True)
    present = true_area > 0
    per_true = np.zeros(len(true_area))
    per_true[cols] = iou[rows, cols]
    return float(per_true[present].mean()), {int(r): int(c) for r, c in zip(rows, cols) if iou[r, c] > 0}


def overlaps(predicted: list[np.ndarray], truth: list[np.ndarray]) -> np.ndarray:
    """Pixels of predicted label i and true label j, summed over the images: (n_pred, n_true)."""
    if len(predicted) != len(truth) or any(p.shape != t.shape for p, t in zip(predicted, truth)):
        raise ValueError("predicted and true label maps must pair up with equal shapes")
    n_pred = 1 + max(int(p.max()) for p in predicted)
    n_true = 1 + max(int(t.max()) for t in truth)
    inter = np.zeros((n_pred, n_true))
    for p, t in zip(predicted, truth):
        inter += np.bincount(p.ravel() * n_true + t.ravel(), minlength=n_pred * n_true).reshape(n_pred, n_true)
    return inter


def nested_miou(predicted: list[np.ndarray], truth: list[np.ndarray]) -> tuple[float, float]:
    """``matched_miou`` with granularity forgiven, one way and then the other.

    Finer: each predicted region first joins the true region it overlaps most (over all the
    images), so predicted regions that split a true one are not misses. Coarser: each true
    region joins the predicted region it overlaps most, so a predicted region that holds two
    true ones whole is not a miss. Regions that cut across the true ones score low both ways.
    Each figure alone is lenient (a fine enough partition scores 1 finer, a single region 1
    coarser): they diagnose a ``matched_miou`` below 1, they are no target.
    """
    inter = overlaps(predicted, truth)
    to_true, to_pred = inter.argmax(1), inter.argmax(0)
    finer = matched_miou([to_true[p] for p in predicted], truth)[0]
    coarser = matched_miou(predicted, [to_pred[t] for t in truth])[0]
    return finer, coarser
