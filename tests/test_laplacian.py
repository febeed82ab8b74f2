"""Matting Laplacian (Levin et al. 2008) and DPST's photorealism loss."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.sparse
import torch

from photostyle.core.laplacian import (
    laplacian_energy,
    laplacian_from_arrays,
    laplacian_to_arrays,
    matting_laplacian,
    photorealism_loss,
    to_torch_sparse,
)
from synthetic import natural_like


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return natural_like()


@pytest.fixture(scope="module")
def lap(image) -> scipy.sparse.csr_matrix:
    return matting_laplacian(image)


def test_format(image, lap):
    n = image.shape[0] * image.shape[1]
    assert isinstance(lap, scipy.sparse.csr_matrix)
    assert lap.shape == (n, n) and lap.dtype == np.float64
    assert lap.has_canonical_format  # sorted indices, no duplicates
    # interior pixels couple with their 5x5 neighbourhood (two overlapping 3x3 windows)
    assert lap.getrow(10 * image.shape[1] + 10).nnz == 25


def test_symmetric_and_rows_sum_to_zero(lap):
    scale = abs(lap).max()
    assert abs(lap - lap.T).max() <= 1e-12 * scale
    assert np.abs(lap @ np.ones(lap.shape[0])).max() <= 1e-9 * scale


def test_positive_semidefinite(lap):
    eig = np.linalg.eigvalsh(lap.toarray())
    assert eig[0] >= -1e-8 * eig[-1]


def test_image_channels_nearly_in_null_space(image, lap):
    rng = np.random.default_rng(1)
    noise = rng.random(lap.shape[0])
    random_energy = noise @ (lap @ noise) / (noise @ noise)
    for c in range(3):
        v = image[..., c].ravel()
        assert v @ (lap @ v) / (v @ v) < 1e-4 * random_energy


def test_equals_pymatting(image, lap):
    import pymatting  # a test dependency (pyproject [test])

    # Alignment: pymatting's cf_laplacian adds `epsilon` to the *sum* of the window's centred outer
    # products and then divides by the window area, i.e. it inverts Sigma_k + epsilon/|w| I3 -- the same
    # convention as Levin's code and DPST's (inv(Sigma + eps/|w| I)), so epsilon is passed unchanged.
    # Its windows are centred on pixels y in [r, h-r), x in [r, w-r) like ours, and its pixel index is
    # x + y*w (row-major). Out-of-image neighbours are stored as explicit zeros, so compare dense.
    ref = pymatting.cf_laplacian(image, epsilon=1e-7, radius=1)
    np.testing.assert_allclose(lap.toarray(), ref.toarray(), rtol=1e-7, atol=1e-9 * abs(ref).max())
    img = natural_like(12, 15, seed=2)
    np.testing.assert_allclose(
        matting_laplacian(img, eps=1e-3, radius=2).toarray(),
        pymatting.cf_laplacian(img, epsilon=1e-3, radius=2).toarray(),
        rtol=1e-7,
        atol=1e-12,
    )


def test_rejects_bad_images():
    with pytest.raises(ValueError):
        matting_laplacian(np.zeros((8, 8)))
    with pytest.raises(ValueError):
        matting_laplacian(np.zeros((2, 8, 3)))


def test_laplacian_energy(image, lap):
    v = image.reshape(-1, 3)
    expected = sum(v[:, c] @ (lap @ v[:, c]) for c in range(3)) / v.shape[0]
    assert laplacian_energy(image, lap) == pytest.approx(expected, rel=1e-12)
    noisy = np.clip(image + np.random.default_rng(0).normal(0, 0.05, image.shape), 0, 1)
    assert laplacian_energy(noisy, lap) > 100 * laplacian_energy(image, lap)


def _devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", _devices())
def test_torch_sparse_product_equals_scipy(lap, device):
    x = np.random.default_rng(0).random((lap.shape[0], 3))
    m64 = to_torch_sparse(lap, device, dtype=torch.float64)
    assert m64.device.type == device
    got = (m64 @ torch.from_numpy(x).to(device)).cpu().numpy()
    np.testing.assert_allclose(got, lap @ x, rtol=1e-10, atol=1e-10)
    m32 = to_torch_sparse(lap, device)
    assert m32.dtype == torch.float32
    got32 = (m32 @ torch.from_numpy(x).float().to(device)).cpu().numpy()
    np.testing.assert_allclose(got32, lap @ x, rtol=1e-4, atol=1e-4 * abs(lap @ x).max())


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("batched", [False, True])
def test_photorealism_loss_value_and_gradient(image, lap, device, batched):
    h, w, _ = image.shape
    out = np.clip(image + np.random.default_rng(4).normal(0, 0.05, image.shape), 0, 1)
    x = torch.from_numpy(out.transpose(2, 0, 1).copy()).to(device)
    if batched:
        x = x[None]
    x.requires_grad_(True)
    loss = photorealism_loss(x, to_torch_sparse(lap, device, dtype=torch.float64))
    assert loss.dim() == 0
    loss.backward()
    v = out.reshape(-1, 3)
    assert loss.item() == pytest.approx(float(np.sum(v * (lap @ v))), rel=1e-10)
    expected = (2.0 * (lap @ v)).T.reshape(3, h, w)
    np.testing.assert_allclose(x.grad.cpu().numpy().reshape(3, h, w), expected, rtol=1e-10, atol=1e-12)


def test_photorealism_loss_float32_and_chain_rule(image, lap):
    out = np.clip(image + np.random.default_rng(5).normal(0, 0.05, image.shape), 0, 1)
    x = torch.from_numpy(out.transpose(2, 0, 1).copy()).float().mul(255).requires_grad_(True)
    loss = 3.0 * photorealism_loss(x / 255.0, to_torch_sparse(lap))
    loss.backward()
    v = out.reshape(-1, 3)
    expected = 3.0 * 2.0 * (lap @ v).T.reshape(x.shape) / 255.0
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())


def test_photorealism_loss_gradient_matches_finite_differences():
    img = natural_like(6, 7, seed=5)
    m = to_torch_sparse(matting_laplacian(img, eps=1e-4), dtype=torch.float64)
    x = torch.from_numpy(np.random.default_rng(0).random((3, 6, 7))).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: photorealism_loss(t, m), (x,), eps=1e-6, atol=1e-5)


def test_arrays_round_trip(lap):
    arrays = laplacian_to_arrays(lap)
    assert set(arrays) == {"data", "indices", "indptr", "shape"}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    with np.load(buf) as loaded:
        back = laplacian_from_arrays(dict(loaded))
    assert back.shape == lap.shape and back.dtype == lap.dtype
    assert (back != lap).nnz == 0
