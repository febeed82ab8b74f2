"""Matting Laplacian (Levin, Lischinski & Weiss 2008) and DPST's photorealism loss built on it.

Conventions (as Levin's code and DPST's ``gen_laplacian``): windows of ``(2r+1)^2`` pixels centred on
every pixel at least ``r`` from the border; pixel index ``y*W + x`` (row-major); a window k with mean
``mu_k`` and population covariance ``Sigma_k`` contributes, for pixels i, j in it,
``delta_ij - (1 + (I_i-mu_k)^T (Sigma_k + eps/|w| I3)^-1 (I_j-mu_k)) / |w|``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse
import torch


def _window_offsets(radius: int) -> list[tuple[int, int]]:
    """The (dy, dx) offsets of a window's pixels relative to its centre, row-major."""
    r = range(-radius, radius + 1)
    return [(dy, dx) for dy in r for dx in r]


def _check_image(image: np.ndarray, radius: int) -> np.ndarray:
    """The image as float64 HxWx3, after checking its shape is usable for windows of ``radius``."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be HxWx3, got shape {image.shape}")
    if radius < 1:
        raise ValueError(f"radius must be >= 1, got {radius}")
    h, w, _ = image.shape
    if h <= 2 * radius or w <= 2 * radius:
        raise ValueError(f"image {h}x{w} is too small for windows of radius {radius}")
    return image


def _window_terms(image: np.ndarray, eps: float, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Per window pixel a: centred colours ``d_a`` and ``g_a = inv(Sigma + eps/|w| I) d_a``.

    Both are (|w|, Hc, Wc, 3) with Hc = H-2r, Wc = W-2r window centres; centring first keeps the
    covariance accurate even for the tiny eps DPST uses.
    """
    h, w, _ = image.shape
    hc, wc = h - 2 * radius, w - 2 * radius
    patches = np.stack(
        [image[radius + dy : radius + dy + hc, radius + dx : radius + dx + wc] for dy, dx in _window_offsets(radius)]
    )
    n = patches.shape[0]
    d = patches - patches.mean(axis=0, keepdims=True)
    cov = np.einsum("nyxi,nyxj->yxij", d, d) / n
    cov += (eps / n) * np.eye(3)
    inv = np.linalg.inv(cov)
    g = np.einsum("yxij,nyxj->nyxi", inv, d)
    return d, g


def _banded_to_csr(values: np.ndarray, covered: np.ndarray, radius: int) -> scipy.sparse.csr_matrix:
    """CSR matrix from banded storage ``values[k, y, x]`` = L[(y,x), (y,x)+rel_k] (rel over 4r+1 square).

    Entries whose pixel pair shares no window (``covered`` false) are left out of the structure.
    For a fixed row, columns increase with k, so the indices come out sorted and unique.
    """
    _, h, w = values.shape
    n = h * w
    rels = _window_offsets(2 * radius)
    ys, xs = np.mgrid[0:h, 0:w]
    cols = np.stack([((ys + dy) * w + (xs + dx)).ravel() for dy, dx in rels], axis=1)
    keep = covered.reshape(len(rels), n).T
    counts = keep.sum(axis=1)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    index_dtype = np.int32 if n * len(rels) < np.iinfo(np.int32).max else np.int64
    indices = cols[keep].astype(index_dtype)
    data = values.reshape(len(rels), n).T[keep]
    matrix = scipy.sparse.csr_matrix((data, indices, indptr.astype(index_dtype)), shape=(n, n))
    matrix.has_sorted_indices = True
    return matrix


def matting_laplacian(image: np.ndarray, eps: float = 1e-7, radius: int = 1) -> scipy.sparse.csr_matrix:
    """Levin et al.'s matting Laplacian L = D - A of an HxWx3 image in [0,1]: N x N float64 CSR.

    Vectorised: per window the 3x3 inverses are batched, and the |w|^2 pixel-pair terms are added
    into banded storage (one shifted slice per pair), so no Python loop runs over pixels or windows.
    """
    image = _check_image(image, radius)
    h, w, _ = image.shape
    hc, wc = h - 2 * radius, w - 2 * radius
    d, g = _window_terms(image, eps, radius)
    offsets = _window_offsets(radius)
    n_win = len(offsets)
    side = 4 * radius + 1
    values = np.zeros((side * side, h, w))
    covered = np.zeros((side * side, h, w), dtype=bool)
    for a, (ay, ax) in enumerate(offsets):
        rows = (slice(radius + ay, radius + ay + hc), slice(radius + ax, radius + ax + wc))
        for b, (by, bx) in enumerate(offsets):
            k = (by - ay + 2 * radius) * side + (bx - ax + 2 * radius)
            term = (1.0 + np.einsum("yxi,yxi->yx", g[a], d[b])) / n_win
            if a == b:
                term = term - 1.0
            values[k][rows] -= term
            covered[k][rows] = True
    return _banded_to_csr(values, covered, radius)


def to_torch_sparse(
    L: scipy.sparse.csr_matrix, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The scipy matrix as a torch sparse CSR tensor on ``device`` (CSR @ dense works on CPU and CUDA)."""
    L = scipy.sparse.csr_matrix(L)
    L.sum_duplicates()
    L.sort_indices()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        return torch.sparse_csr_tensor(
            torch.from_numpy(L.indptr.astype(np.int64)),
            torch.from_numpy(L.indices.astype(np.int64)),
            torch.from_numpy(L.data).to(dtype),
            size=L.shape,
            check_invariants=False,  # built from a canonical scipy CSR
        ).to(device)


def _as_channels(image: torch.Tensor) -> torch.Tensor:
    """(3,H,W) or (1,3,H,W) image as an (N, 3) matrix whose column c is channel c row-major."""
    if image.dim() == 4 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image must be (3,H,W) or (1,3,H,W), got {tuple(image.shape)}")
    return image.reshape(3, -1).t().contiguous()


class PhotorealismLoss(torch.autograd.Function):
    """L_m = sum_c V_c^T M V_c with the exact gradient 2 M V (M symmetric), M V computed once."""

    @staticmethod
    def forward(ctx, image: torch.Tensor, M: torch.Tensor) -> torch.Tensor:  # noqa: D102
        v = _as_channels(image)
        if M.device != v.device or M.dtype != v.dtype:
            M = M.to(device=v.device, dtype=v.dtype)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
            mv = M @ v
        ctx.save_for_backward(mv)
        ctx.image_shape = image.shape
        return torch.sum(v * mv)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: D102
        (mv,) = ctx.saved_tensors
        grad = (2.0 * grad_out) * mv.t().reshape(ctx.image_shape)
        return grad, None


def photorealism_loss(image: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """DPST's photorealism regulariser for a (3,H,W)/(1,3,H,W) image in [0,1]; M from to_torch_sparse."""
    return PhotorealismLoss.apply(image, M)


def laplacian_energy(image: np.ndarray, L: scipy.sparse.spmatrix) -> float:
    """Per-pixel photorealism energy sum_c V_c^T L V_c / (H W): a quality metric, lower = more photo-like."""
    image = np.asarray(image, dtype=np.float64)
    h, w, c = image.shape
    v = image.reshape(h * w, c)
    return float(np.sum(v * (L @ v)) / (h * w))


def laplacian_to_arrays(L: scipy.sparse.spmatrix) -> dict[str, np.ndarray]:
    """CSR arrays (data, indices, indptr, shape) of L, for storing it as an .npz/.npy artifact."""
    L = scipy.sparse.csr_matrix(L)
    return {"data": L.data, "indices": L.indices, "indptr": L.indptr, "shape": np.asarray(L.shape, dtype=np.int64)}


def laplacian_from_arrays(d: dict[str, np.ndarray]) -> scipy.sparse.csr_matrix:
    """Inverse of laplacian_to_arrays."""
    shape = tuple(int(s) for s in np.asarray(d["shape"]))
    return scipy.sparse.csr_matrix(
        (np.asarray(d["data"]), np.asarray(d["indices"]), np.asarray(d["indptr"])), shape=shape
    )
