"""The upsample stage's local affine colour model: the working-size result at the photo's size."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import SAMPLES
from photostyle.core.config import StyleConfig
from photostyle.core.imageio import decode_at_size, load_image, resize_long_side, resize_to
from photostyle.core.upsample import apply_affine_model, fit_affine_model, upsample_result

#: A colour change (3x4: a | b) of the kind a style transfer makes: a warmer, darker, less saturated look.
WARM = np.array([[0.80, 0.10, 0.0, 0.06], [0.05, 0.80, 0.05, 0.02], [0.0, 0.10, 0.65, 0.02]], np.float32)


def _affine(m: np.ndarray, image: np.ndarray) -> np.ndarray:
    return np.clip(np.einsum("ij,yxj->yxi", m[:, :3], image) + m[:, 3], 0.0, 1.0)


@pytest.fixture(scope="module")
def photo() -> tuple[np.ndarray, np.ndarray]:
    """A real photo at its own size (512x342) and at a working size of 128 px."""
    full = load_image(str(SAMPLES / "rocket.jpg"))
    return full, resize_long_side(full, 128)


def test_the_output_has_the_full_photos_size(photo):
    full, small = photo
    out = upsample_result(full, small, _affine(WARM, small))
    assert out.shape == full.shape and out.dtype == np.uint8


def test_an_affine_colour_change_is_reproduced_exactly_at_full_resolution(photo):
    full, small = photo
    out = upsample_result(full, small, _affine(WARM, small)).astype(np.float64)
    expected = _affine(WARM, full) * 255.0
    assert np.abs(out - expected).max() <= 0.51  # 8-bit rounding only


def test_two_colour_changes_meet_at_the_contents_edge_not_a_blurred_one():
    """Left and right halves of a sharp-edged full-resolution image get different colour maps;
    the upsampled result keeps both maps away from the edge, and the edge stays sharp."""
    full = np.zeros((240, 320, 3), np.float32)
    rng = np.random.default_rng(0)
    full[:, :160] = [0.7, 0.3, 0.2]
    full[:, 160:] = [0.2, 0.4, 0.8]
    full += rng.normal(0, 0.05, full.shape).astype(np.float32)  # texture, so each side has contrast
    full = np.clip(full, 0, 1)
    small = resize_to(full, (60, 80))
    other = np.array([[0.5, 0.0, 0.0, 0.4], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.2, -0.1]], np.float32)
    target = small.copy()
    target[:, :40] = _affine(WARM, small[:, :40])
    target[:, 40:] = _affine(other, small[:, 40:])
    out = upsample_result(full, small, target).astype(np.float64) / 255.0
    left, right = out[:, :150], out[:, 170:]
    assert np.abs(left - _affine(WARM, full[:, :150])).mean() < 0.01
    assert np.abs(right - _affine(other, full[:, 170:])).mean() < 0.01


def test_a_painted_texture_is_not_carried_to_full_resolution(photo):
    """Brush-stroke-like texture that is no colour function of the content (what a short
    optimisation leaves) does not survive the affine model: the output, brought back to the working
    size, is much closer to the plain colour change than the painted result was."""
    full, small = photo
    h, w = small.shape[:2]
    y, x = np.mgrid[0:h, 0:w]
    strokes = 0.12 * np.sin(0.9 * x + 0.5 * y)[..., None] * np.array([1.0, -0.6, 0.4])
    clean = _affine(WARM, small)
    painted = np.clip(clean + strokes, 0, 1).astype(np.float32)
    out = upsample_result(full, small, painted).astype(np.float32) / 255.0
    back = resize_to(out, (h, w))
    assert np.abs(back - clean).mean() < 0.3 * np.abs(painted - clean).mean()


def test_equal_sizes_return_the_result_itself_and_strips_do_not_show(photo):
    full, small = photo
    result = _affine(WARM, small).astype(np.float32)
    assert np.array_equal(upsample_result(small, small, result), np.rint(result * 255).astype(np.uint8))
    coeffs = fit_affine_model(small, result)
    whole = apply_affine_model(coeffs, full, strip_rows=full.shape[0])
    assert np.array_equal(apply_affine_model(coeffs, full, strip_rows=7), whole)


def test_decoding_at_an_output_size_keeps_the_aspect_and_8_bits(samples):
    data = (samples / "rocket.jpg").read_bytes()
    assert decode_at_size(data, "rocket.jpg").shape == (342, 512, 3)
    capped = decode_at_size(data, "rocket.jpg", 200)
    assert capped.shape == (134, 200, 3) and capped.dtype == np.uint8
    assert decode_at_size(data, "rocket.jpg", 4000).shape == (342, 512, 3)  # never enlarged
    buf = io.BytesIO()
    Image.new("RGBA", (40, 20), (255, 0, 0, 0)).save(buf, format="PNG")
    transparent = decode_at_size(buf.getvalue(), "t.png")
    assert transparent.dtype == np.float32 and np.allclose(transparent, 1.0)  # over white


@pytest.mark.parametrize("value", ["big", 3, 2.5, True])
def test_the_output_size_is_full_working_or_a_long_side(value):
    with pytest.raises(ValueError, match="full, working or a long side"):
        StyleConfig.model_validate({"upsample": {"output_size": value}})
    assert StyleConfig.model_validate({"upsample": {"output_size": "640"}}).upsample.output_size == 640
    assert "upsample" not in StyleConfig.model_validate({"upsample": {"output_size": "working"}}).stages()
