"""Matting Laplacian (Levin, Lischinski & Weiss 2008) and DPST's photorealism loss built on it.

Conventions (as Levin's code and DPST's ``gen_laplacian``): windows of ``(2r+1)^2`` pixels centred on
every pixel at least ``r`` from the border; pixel index ``y*W + x`` (row-major); a window k with mean
``mu_k`` and population covariance ``Sigma_k`` contributes, for pixels i, j in it,
``delta_ij - (1 + (I_i-mu_k)^T (Sigma_k + eps/|w| I3)^-1 (I_j-mu_k)) / |w|``.

How it is built (vectorised numpy; no Python loop over pixels or windows): with ``d_a`` the centred
colour of window pixel a and ``C = sum_a d_a d_a^T + eps I3`` (= |w| (Sigma + eps/|w| I3)), the Cholesky
factor ``C = R R^T`` whitens the colours, ``e_a = R^-1 d_a``, so that the window's term above is
``delta_ab - 1/|w| - e_a . e_b``; a triangular solve stays as accurate as the explicit inverse for DPST's
tiny eps. L is symmetric, so only the "upper" pixel offsets (dy > 0, or dy = 0 and dx >= 0) are
accumulated, one band per offset; the other half is read back mirrored when the CSR data is filled.
Windows are processed a few rows at a time so the working buffers stay in cache, and each finished row
of the bands is copied into the CSR data right away.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse
import torch
from numpy.lib.stride_tricks import as_strided, sliding_window_view

_CHUNK_ROWS = 8  # rows of window centres per step; the fastest of 4-24 on a 700x437 image (buffers ~ L2 size)


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


def _shared_windows(n: int, offset: int, radius: int) -> np.ndarray:
    """Along an axis of length n, per position y: how many window centres hold both y and y+offset."""
    y = np.arange(n)
    lo = np.maximum(np.maximum(y, y + offset) - radius, radius)
    hi = np.minimum(np.minimum(y, y + offset) + radius, n - 1 - radius)
    return np.maximum(hi - lo + 1, 0)


@dataclass(frozen=True)
class _Geometry:
    """Sizes and offset tables of one build: image h x w, window radius r.

    Rows of the working arrays are padded to ``wp = w + 4r`` columns (2r zeros each side), so that a pixel
    offset of up to 2r in x never wraps into a neighbouring row's data when a row-major buffer is shifted.
    """

    h: int
    w: int
    radius: int

    @property
    def side(self) -> int:
        """Window side, 2r+1."""
        return 2 * self.radius + 1

    @property
    def area(self) -> int:
        """Pixels per window, |w|."""
        return self.side**2

    @property
    def reach(self) -> int:
        """Largest pixel offset (per axis) of two pixels sharing a window, 2r; also the column padding."""
        return 2 * self.radius

    @property
    def wp(self) -> int:
        """Padded row length."""
        return self.w + 2 * self.reach

    @cached_property
    def offsets(self) -> list[tuple[int, int]]:
        """All pixel-pair offsets (dy, dx) in [-2r, 2r]^2, row-major: the column order within a CSR row."""
        span = range(-self.reach, self.reach + 1)
        return [(dy, dx) for dy in span for dx in span]

    @cached_property
    def bands(self) -> list[tuple[int, int]]:
        """The accumulated ("upper") offsets: dy > 0, or dy = 0 and dx >= 0; band 0 is the diagonal."""
        return [(dy, dx) for dy, dx in self.offsets if dy > 0 or (dy == 0 and dx >= 0)]

    @cached_property
    def cover_y(self) -> np.ndarray:
        """(h, 4r+1) bool: rows y and y+dy share some window, for each dy in [-2r, 2r]."""
        span = range(-self.reach, self.reach + 1)
        return np.stack([_shared_windows(self.h, dy, self.radius) > 0 for dy in span], axis=1)

    @cached_property
    def cover_x(self) -> np.ndarray:
        """(w, 4r+1) bool: columns x and x+dx share some window, for each dx in [-2r, 2r]."""
        span = range(-self.reach, self.reach + 1)
        return np.stack([_shared_windows(self.w, dx, self.radius) > 0 for dx in span], axis=1)

    @property
    def full_rows(self) -> tuple[int, int]:
        """Rows [start, stop) whose pixels pair with every row offset; their CSR rows share one pattern."""
        return self.reach, self.h - self.reach

    def entries(self, rows: np.ndarray, per_offset: np.ndarray, row_step: int, base: int = 0) -> np.ndarray:
        """``per_offset[o] + (y-base)*row_step + x`` for the stored entries of pixel rows ``rows``, in CSR order.

        An entry (pixel (y, x), offset o) is stored when its two pixels share a window.
        """
        q = 2 * self.reach + 1
        keep = (self.cover_y[rows][:, None, :, None] & self.cover_x[None, :, None, :]).reshape(len(rows), self.w, q * q)
        full = per_offset[None, None, :] + ((rows - base) * row_step)[:, None, None] + np.arange(self.w)[None, :, None]
        return full[keep]

    def row_pattern(self, per_offset: np.ndarray, row_step: int) -> np.ndarray:
        """``entries`` of one row with all row offsets, relative to that row."""
        start = self.full_rows[0]
        return self.entries(np.array([start]), per_offset, row_step, base=start)


def _csr_structure(geo: _Geometry) -> tuple[np.ndarray, np.ndarray]:
    """indptr and column indices of L: pixel pairs that share a window, columns increasing within a row.

    Index arrays are int32 when they can be (as scipy makes them), else int64.
    """
    h, w = geo.h, geo.w
    n = h * w
    itype = np.int32 if n * len(geo.offsets) < np.iinfo(np.int32).max else np.int64
    counts = np.multiply.outer(geo.cover_y.sum(axis=1), geo.cover_x.sum(axis=1))
    indptr = np.zeros(n + 1, dtype=itype)
    np.cumsum(counts.ravel(), out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=itype)
    column_offset = np.array([dy * w + dx for dy, dx in geo.offsets], dtype=itype)
    start, stop = geo.full_rows
    if stop > start:
        pattern = geo.row_pattern(column_offset, w)
        block = indices[indptr[start * w] : indptr[stop * w]].reshape(stop - start, pattern.size)
        np.add(pattern[None, :], (np.arange(start, stop, dtype=itype) * w)[:, None], out=block)
    for rows in _edge_runs(geo, 0, h):
        indices[indptr[rows[0] * w] : indptr[(rows[-1] + 1) * w]] = geo.entries(rows, column_offset, w)
    return indptr, indices


def _edge_runs(geo: _Geometry, y0: int, y1: int) -> list[np.ndarray]:
    """The rows of [y0, y1) outside ``full_rows``, as at most two runs of consecutive rows."""
    start, stop = geo.full_rows
    runs = [np.arange(y0, min(y1, start)), np.arange(max(y0, stop, start), y1)]
    return [rows for rows in runs if rows.size]


class _Bands:
    """Rolling store of the upper bands for the image rows a step touches, and their copy into CSR data.

    ``values[k, t, u]`` is L[(y, x), (y, x) + bands[k]] for image row ``y = first + t`` and column ``x = u - 2r``.
    It holds 2r finished rows above the current step (the mirrored offsets read them), the step's rows, and
    the 2r rows below that later steps still add to. Each entry starts at its window-count constant:
    ``-c/|w|`` off the diagonal and ``c - c/|w|`` on it, c being the number of windows the pair shares.
    """

    def __init__(self, geo: _Geometry, chunk_rows: int, data: np.ndarray, indptr: np.ndarray):
        self.geo, self.data, self.indptr = geo, data, indptr
        r2, wp = geo.reach, geo.wp
        self.values = np.zeros((len(geo.bands), chunk_rows + 2 * r2, wp))
        self.flat = self.values.reshape(len(geo.bands), -1)
        self.row_factor = np.stack([_shared_windows(geo.h, dy, geo.radius) for dy, _ in geo.bands]) / -geo.area
        self.row_factor[0] *= 1 - geo.area
        self.col_factor = np.zeros((len(geo.bands), wp))
        for k, (_, dx) in enumerate(geo.bands):
            self.col_factor[k, r2 : r2 + geo.w] = _shared_windows(geo.w, dx, geo.radius)
        band_of = {o: k for k, o in enumerate(geo.bands)}
        self.source = np.array([self._source(o, band_of) for o in geo.offsets], dtype=np.intp)
        self.pattern = geo.row_pattern(self.source, wp)
        self.gather = self.pattern[None, :] + (np.arange(chunk_rows + 2 * r2) * wp)[:, None]
        self.first = -r2  # the first step's 2r rows "above" lie outside the image and are never read
        self.start(r2, 0, r2)

    def _source(self, offset: tuple[int, int], band_of: dict[tuple[int, int], int]) -> int:
        """Flat position in ``values``, relative to pixel (row 0, x=0), that holds L[i, i+offset]."""
        dy, dx = offset
        if offset in band_of:
            return band_of[offset] * self.values[0].size + self.geo.reach
        return band_of[(-dy, -dx)] * self.values[0].size + dy * self.geo.wp + dx + self.geo.reach

    def start(self, t0: int, y0: int, count: int) -> None:
        """Set buffer rows [t0, t0+count), image rows [y0, y0+count), to their window-count constants."""
        np.multiply(
            self.row_factor[:, y0 : y0 + count, None], self.col_factor[:, None, :], out=self.values[:, t0 : t0 + count]
        )

    def emit(self, y0: int, y1: int) -> None:
        """Copy the finished image rows [y0, y1) into the CSR data, mirrored offsets included."""
        geo, w = self.geo, self.geo.w
        start, stop = max(y0, geo.full_rows[0]), min(y1, geo.full_rows[1])
        values = self.values.reshape(-1)
        if stop > start:
            out = self.data[self.indptr[start * w] : self.indptr[stop * w]].reshape(stop - start, self.pattern.size)
            offset = (start - self.first) * geo.wp
            np.take(values[offset:], self.gather[: stop - start], out=out, mode="clip")
        for rows in _edge_runs(geo, y0, y1):
            picks = geo.entries(rows, self.source, geo.wp, base=self.first)
            self.data[self.indptr[rows[0] * w] : self.indptr[(rows[-1] + 1) * w]] = values[picks]

    def advance(self, rows: int) -> None:
        """Move on by ``rows`` image rows: keep the 4r rows still needed at the top, the rest is reset later."""
        keep = 2 * self.geo.reach
        self.values[:, :keep] = self.values[:, rows : rows + keep]
        self.first += rows


class _Step:
    """Buffers for ``m`` rows of windows, with the strided views on them made once.

    ``e[ay, ax, c, 2r+1+ky, t]`` is channel c of the whitened colour of pixel (ay-r, ax-r) of the window
    centred at (row ky of the step, column t-r); windows outside the image's centres, and the 2r+1 rows
    above and 2r below, stay zero. Then for band offset o = (dy, dx), pixel p (its flat position in the
    step's rows of the bands, padded rows of ``wp``) and window pixel a, the pair term e_a . e_{a+o} of the
    window holding p as pixel a sits at position ``p + (2r+1 - ay) * wp - ax`` of blocks a and a+o alike:
    one strided view per side covers all window pixels, and one einsum sums the terms for the whole band.
    """

    def __init__(self, geo: _Geometry, m: int, bands: _Bands):
        s, wp, r2 = geo.side, geo.wp, geo.reach
        top = r2 + 1
        self.e = np.zeros((s, s, 3, m + top + r2, wp))
        self.centred = self.e[:, :, :, top : top + m, :]
        self.mean = np.empty((3, m, wp))
        self.cov = np.empty((6, m, wp))
        self.tmp = np.empty((s, s, m, wp))
        self.sq = np.empty((m, wp))
        self.valid = np.zeros(wp)
        self.valid[r2 : geo.w] = 1.0
        self.cov_views = [
            (self.centred[:, :, i], self.centred[:, :, j]) for i, j in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
        ]
        self.products = [self._band_views(geo, m, k, top, bands) for k in range(len(geo.bands))]

    def _band_views(
        self, geo: _Geometry, m: int, k: int, top: int, bands: _Bands
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Views (both factors, a result buffer, the band rows to add to) for the pair terms of band k."""
        dy, dx = geo.bands[k]
        s, wp, r2 = geo.side, geo.wp, geo.reach
        n = (m + r2 - dy) * wp - r2
        ax0 = max(0, -dx)
        item = self.e.itemsize
        strides = (self.e.strides[0] - wp * item, self.e.strides[1] - item, self.e.strides[2], item)
        shape = (s - dy, s - abs(dx), 3, n)
        flat = self.e.reshape(-1)
        shift = top * wp - ax0
        block_a = ax0 * self.e.strides[1] // item
        block_b = (dy * self.e.strides[0] + (ax0 + dx) * self.e.strides[1]) // item
        first = as_strided(flat[block_a + shift :], shape=shape, strides=strides, writeable=False)
        second = as_strided(flat[block_b + shift :], shape=shape, strides=strides, writeable=False)
        target = bands.flat[k, r2 * wp : r2 * wp + n]
        return first, second, np.empty(n), target

    def whiten(self, windows: np.ndarray, eps: float, area: int) -> None:
        """Centred colours of the step's windows (s, s, 3, m, wp view of the padded image), then whitened."""
        windows.sum(axis=(0, 1), out=self.mean)
        self.mean *= 1.0 / area
        np.subtract(windows, self.mean, out=self.centred)
        for c, (u, v) in zip(self.cov, self.cov_views):
            np.einsum("abyx,abyx->yx", u, v, out=c)
        # C = R R^T with R lower triangular: l_ij below the diagonal, r_i = 1 / R_ii
        c00, l10, l20, c11, l21, c22 = self.cov
        sq = self.sq
        c00 += eps
        r0 = np.reciprocal(np.sqrt(c00, out=c00), out=c00)
        l10 *= r0
        l20 *= r0
        c11 += eps
        c11 -= np.multiply(l10, l10, out=sq)
        r1 = np.reciprocal(np.sqrt(c11, out=c11), out=c11)
        l21 -= np.multiply(l20, l10, out=sq)
        l21 *= r1
        c22 += eps
        c22 -= np.multiply(l20, l20, out=sq)
        c22 -= np.multiply(l21, l21, out=sq)
        r2 = np.reciprocal(np.sqrt(c22, out=c22), out=c22)
        for factor in (r0, r1, r2):  # padding columns are no window centres: their e is 0
            factor *= self.valid
        e0, e1, e2 = self.centred[:, :, 0], self.centred[:, :, 1], self.centred[:, :, 2]
        tmp = self.tmp
        e0 *= r0
        e1 -= np.multiply(e0, l10, out=tmp)
        e1 *= r1
        e2 -= np.multiply(e0, l20, out=tmp)
        e2 -= np.multiply(e1, l21, out=tmp)
        e2 *= r2

    def subtract_products(self) -> None:
        """Subtract each band's pair terms e_a . e_{a+o}, summed over the window pixels a, from the bands."""
        for first, second, out, target in self.products:
            np.einsum("abcl,abcl->l", first, second, out=out)
            target -= out


def matting_laplacian(image: np.ndarray, eps: float = 1e-7, radius: int = 1) -> scipy.sparse.csr_matrix:
    """Levin et al.'s matting Laplacian L = D - A of an HxWx3 image in [0,1]: N x N float64 CSR.

    Sorted, duplicate-free indices; only pixel pairs that share a window are stored.
    """
    image = _check_image(image, radius)
    h, w, _ = image.shape
    geo = _Geometry(h, w, radius)
    r2 = geo.reach
    indptr, indices = _csr_structure(geo)
    data = np.empty(indices.size)
    padded = np.zeros((3, h, geo.wp + 2 * radius))
    padded[:, :, r2 : r2 + w] = image.transpose(2, 0, 1)
    windows = sliding_window_view(padded, (geo.side, geo.side), axis=(1, 2)).transpose(3, 4, 0, 1, 2)
    centre_rows = h - 2 * radius
    chunk = min(_CHUNK_ROWS, centre_rows)
    bands = _Bands(geo, chunk, data, indptr)
    step = _Step(geo, chunk, bands)
    for c0 in range(0, centre_rows, chunk):
        m = min(chunk, centre_rows - c0)
        if m < chunk:
            step = _Step(geo, m, bands)
        bands.start(2 * r2, c0 + r2, m)
        step.whiten(windows[:, :, :, c0 : c0 + m], eps, geo.area)
        step.subtract_products()
        last = c0 + m == centre_rows
        bands.emit(c0, h if last else c0 + m)
        if not last:
            bands.advance(m)
    matrix = scipy.sparse.csr_matrix((data, indices, indptr), shape=(h * w, h * w))
    matrix.has_sorted_indices = True
    return matrix


def to_torch_sparse(
    L: scipy.sparse.csr_matrix, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The scipy matrix as a torch sparse CSR tensor on ``device`` (CSR @ dense works on CPU and CUDA)."""
    L = scipy.sparse.csr_matrix(L)
    L.sum_duplicates()
    L.sort_indices()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        # torch >= 2.11 warns on the copy to the device too, though the checks are opted out of below.
        warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")
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
