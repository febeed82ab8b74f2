"""The experimental ``affine_grid`` method: the bilateral grid's slicing and application, the fit
to a target, and a short run that moves the content's colours to the style's while staying a local
affine function of the content."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from photostyle.core.affine_grid import (
    AffineGridConfig,
    apply_grid,
    fit_grid,
    global_grid,
    grid_smoothness,
    identity_grid,
    luminance_guide,
    slice_grid,
)
from photostyle.core.config import StyleConfig
from photostyle.core.laplacian import laplacian_energy, matting_laplacian
from photostyle.core.stylize import stylize
from synthetic import natural_like


def as_tensor(image: np.ndarray) -> torch.Tensor:
    """HxWx3 [0, 1] array to a (1, 3, H, W) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()


def as_image(pixels: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) tensor to an HxWx3 float64 array."""
    return pixels[0].permute(1, 2, 0).detach().double().numpy()


@pytest.mark.parametrize("shape", [(24, 32), (61, 47)])
@pytest.mark.parametrize("cells", [(16, 16, 8), (3, 5, 2)])
def test_the_identity_grid_reproduces_the_content_at_any_size(shape, cells):
    content = natural_like(*shape)
    out = apply_grid(identity_grid(*cells), as_tensor(content))
    assert out.shape == (1, 3, *shape)
    assert np.allclose(as_image(out), content, atol=1e-6)


def test_a_grid_of_one_global_affine_map_reproduces_that_map():
    rng = np.random.default_rng(1)
    matrix = rng.normal(0, 0.5, (3, 4)) + np.eye(3, 4)
    content = natural_like(40, 56)
    out = apply_grid(global_grid(matrix, 7, 5, 4), as_tensor(content))
    expected = content @ matrix[:, :3].T + matrix[:, 3]
    assert np.allclose(as_image(out), expected, atol=1e-5)


def test_slicing_interpolates_along_x_y_and_luminance():
    """Biases that grow linearly with the node's x, y and luminance index come back, exactly, as
    each pixel's x, y and luminance (trilinear interpolation of a linear function), with the
    corners of the image on the outer nodes."""
    bins, cells_y, cells_x = 4, 3, 6
    grid = torch.zeros(1, 12, bins, cells_y, cells_x)
    grid[0, 3] = torch.linspace(0, 1, cells_x).view(1, 1, -1)
    grid[0, 7] = torch.linspace(0, 1, cells_y).view(1, -1, 1)
    grid[0, 11] = torch.linspace(0, 1, bins).view(-1, 1, 1)
    content = natural_like(20, 30)
    out = as_image(apply_grid(grid, as_tensor(content)))
    h, w = content.shape[:2]
    assert np.allclose(out[..., 0], np.linspace(0, 1, w)[None, :], atol=1e-6)
    assert np.allclose(out[..., 1], np.linspace(0, 1, h)[:, None], atol=1e-6)
    luma = as_image(luminance_guide(as_tensor(content))[:, None])[..., 0]
    assert np.allclose(out[..., 2], luma, atol=1e-6)


def test_slicing_is_differentiable_in_the_grid():
    torch.manual_seed(0)
    guide = torch.rand(1, 5, 6, dtype=torch.float64)
    grid = torch.randn(1, 12, 3, 2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda g: slice_grid(g, guide), (grid,))
    image = as_tensor(natural_like(16, 16))
    grid = identity_grid(4, 4, 2).requires_grad_(True)
    apply_grid(grid, image).pow(2).sum().backward()
    assert torch.isfinite(grid.grad).all() and grid.grad.abs().sum() > 0


def test_the_fit_recovers_a_global_affine_map_and_smoothness_ignores_a_constant_grid():
    matrix = np.array([[0.8, 0.1, 0.0, 0.05], [0.0, 0.9, 0.1, -0.02], [0.2, 0.0, 0.7, 0.1]])
    content = as_tensor(natural_like(48, 64))
    target = apply_grid(global_grid(matrix, 1, 1, 1), content)
    grid = fit_grid(content, target, 8, 8, 4)
    assert torch.allclose(apply_grid(grid, content), target, atol=1e-3)
    assert float(grid_smoothness(global_grid(matrix))) == 0.0
    assert float(grid_smoothness(grid * 255)) < 1.0  # under a pixel level between neighbours


def _pair(size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A photo-like content, a bluish style of another size, and two paired regions (halves)."""
    content = natural_like(48, size, quantise=True)
    rng = np.random.default_rng(3)
    style = natural_like(40, 56, seed=3, quantise=True) * 0.4 + np.array([0.05, 0.15, 0.45])
    style = np.clip(style + rng.normal(0, 0.03, style.shape), 0, 1).astype(np.float32)
    cm = np.zeros((2, *content.shape[:2]), bool)
    cm[0, :24], cm[1, 24:] = True, True
    sm = np.zeros((2, *style.shape[:2]), bool)
    sm[0, :20], sm[1, 20:] = True, True
    return content, style, cm, sm


def test_a_short_run_moves_the_colours_to_the_style_and_stays_locally_affine():
    content, style, cm, sm = _pair()
    # 4 x 4 nodes, 16 px apart as the default 16 x 16 are on a 256 px image
    method = {"name": "affine_grid", "cells_x": 4, "cells_y": 4}
    config = StyleConfig.model_validate(
        {"device": "cpu", "method": method, "optimizer": {"iterations": 10, "init": "content"}}
    )
    progress = []
    result = stylize(content, style, config, cm, sm, progress=progress.append, finished=False)
    out = result.image
    assert out.shape == content.shape and out.dtype == np.float32

    # history and progress as the pixel methods report them, with the grid's smoothness term
    assert len(result.history) == 10 and {h["stage"] for h in result.history} == {"affine_grid"}
    first, last = result.history[0], result.history[-1]
    assert set(first) == {"stage", "iteration", "loss", "content", "masked_gram", "tv", "smoothness"}
    assert last["loss"] == pytest.approx(sum(last[t] for t in ("content", "masked_gram", "tv", "smoothness")), rel=1e-5)
    assert first["content"] == pytest.approx(0.0, abs=1e-3)  # the identity grid: the content itself
    assert progress[-1].stage == "affine_grid" and progress[-1].total == 10
    assert set(result.terms["affine_grid"]) == {"content", "masked_gram", "tv", "smoothness"}

    # the style loss falls and the mean colour moves to the style's
    assert min(h["masked_gram"] for h in result.history) < 0.5 * first["masked_gram"]
    target = style.reshape(-1, 3).mean(0)
    before = np.linalg.norm(content.reshape(-1, 3).mean(0) - target)
    after = np.linalg.norm(out.reshape(-1, 3).mean(0) - target)
    assert after < 0.8 * before

    # a local affine function of the content: far less matting-Laplacian energy than random noise
    # of the same size of change
    lap = matting_laplacian(content)
    change = float(np.sqrt(((out - content) ** 2).mean()))
    noisy = content + np.random.default_rng(0).normal(0, change, content.shape)
    assert change > 0.02
    assert laplacian_energy(out, lap) < 0.05 * laplacian_energy(noisy, lap)


def test_the_transfer_start_is_the_fitted_colour_transfer():
    content, style, cm, sm = _pair(48)
    config = StyleConfig.model_validate(
        {"device": "cpu", "method": {"name": "affine_grid"}, "optimizer": {"iterations": 1, "init": "transfer"}}
    )
    identity = StyleConfig.model_validate(
        {"device": "cpu", "method": {"name": "affine_grid"}, "optimizer": {"iterations": 1, "init": "content"}}
    )
    fitted = stylize(content, style, config, cm, sm, finished=False).history[0]
    plain = stylize(content, style, identity, cm, sm, finished=False).history[0]
    assert fitted["content"] > 0 and fitted["masked_gram"] < 0.5 * plain["masked_gram"]


def test_coarse_to_fine_carries_the_grid_itself_to_the_finer_size():
    content = natural_like(96, 128, quantise=True)
    style = np.clip(natural_like(80, 100, seed=5) * 0.5 + 0.3, 0, 1).astype(np.float32)
    config = StyleConfig.model_validate(
        {"device": "cpu", "method": "affine_grid", "optimizer": {"iterations": 3, "scales": 2, "init": "content"}}
    )
    result = stylize(content, style, config, finished=False)
    assert [h["stage"] for h in result.history] == ["affine_grid@64px"] * 3 + ["affine_grid@128px"] * 3
    assert set(result.terms) == {"affine_grid@64px", "affine_grid@128px"}
    assert result.image.shape == content.shape
    # the finer size starts from the coarser size's grid, not from the identity again
    assert result.history[3]["content"] > 1e-3


def test_the_settings_take_affine_grid_with_its_bounds():
    config = StyleConfig.model_validate({"method": {"name": "affine_grid", "cells_x": 8, "luma_bins": 4}})
    assert isinstance(config.method, AffineGridConfig)
    assert (config.method.cells_x, config.method.cells_y, config.method.luma_bins) == (8, 16, 4)
    assert StyleConfig.model_validate_json(config.model_dump_json()) == config
    assert "segment" in config.stages()  # it uses regions
    with pytest.raises(ValidationError):
        StyleConfig.model_validate({"method": {"name": "affine_grid", "cells_x": 0}})
    with pytest.raises(ValidationError):
        StyleConfig.model_validate({"method": {"name": "affine_grid", "photo_weight": 1.0}})


def test_affine_grid_is_a_builtin_method():
    """A fresh process knows the method without importing its module."""
    code = (
        "import json; from photostyle.core.config import StyleConfig; "
        "print(json.dumps(StyleConfig.model_validate({'method': {'name': 'affine_grid'}}).method.model_dump()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["name"] == "affine_grid"
