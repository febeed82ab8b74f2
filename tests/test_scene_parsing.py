"""The ADE20K PSPNet-50: its published checkpoint format, the verified loader, the labels."""

import hashlib

import fsspec
import numpy as np
import pytest
import torch

from photostyle.core.errors import InputError
from photostyle.core.scene_parsing import ADE20K_CLASSES, PSPNet, load_pspnet, network_size, parse_scene


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    rng = np.random.default_rng(1)
    img = np.zeros((72, 100, 3), np.uint8)
    img[:30] = (90, 140, 220)  # a 'sky' over a noisy 'ground'
    img[30:] = rng.integers(0, 255, (42, 100, 3), dtype=np.uint8)
    return img


def test_published_checkpoint_loads_strictly_and_labels_every_pixel(pspnet_weights, image):
    path, sha = pspnet_weights
    model = load_pspnet(str(path), sha)
    assert not model.training
    labels = parse_scene(model, image)
    assert labels.shape == image.shape[:2] and labels.dtype == np.int32
    assert labels.min() >= 0 and labels.max() < ADE20K_CLASSES
    assert np.unique(labels).size > 1  # random weights, but the sky and the noise differ
    state = torch.load(path, weights_only=True)["state_dict"]
    reference = PSPNet()
    reference.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    assert np.array_equal(parse_scene(reference.eval(), image), labels)  # the same network, strictly
    assert load_pspnet(str(path), sha) is model  # loaded once per process


def test_key_layout_is_the_authors(pspnet_weights):
    keys = set(PSPNet().state_dict())
    for key in (
        "layer0.0.weight",
        "layer0.7.running_var",
        "layer3.5.conv2.weight",
        "layer4.0.downsample.1.bias",
        "ppm.features.3.1.weight",
        "cls.4.weight",
        "aux.4.bias",
    ):
        assert key in keys
    model = PSPNet()
    assert model.layer3[0].conv2.dilation == (2, 2) and model.layer4[2].conv2.dilation == (4, 4)
    assert model.layer3[0].conv2.stride == (1, 1) and model.layer2[0].conv2.stride == (2, 2)
    assert sum(v.numel() for v in model.state_dict().values() if v.dtype.is_floating_point) > 49e6


def test_network_sizes_are_8k_plus_1_within_the_crop():
    for shape in ((466, 700), (72, 100), (700, 300), (1, 1)):
        h, w = network_size(shape)
        assert (h - 1) % 8 == 0 and (w - 1) % 8 == 0 and max(h, w) <= 473


def test_plain_state_dict_from_an_fsspec_uri(image, pspnet_weights):
    path, _ = pspnet_weights
    state = {k.removeprefix("module."): v for k, v in torch.load(path, weights_only=True)["state_dict"].items()}
    fs = fsspec.filesystem("memory")
    with fs.open("/weights/pspnet.pth", "wb") as fh:
        torch.save(state, fh)
    data = fs.cat_file("/weights/pspnet.pth")
    model = load_pspnet("memory://weights/pspnet.pth", hashlib.sha256(data).hexdigest())
    assert parse_scene(model, image).shape == image.shape[:2]


def test_wrong_missing_or_foreign_weights_are_refused_naming_the_file(tmp_path, pspnet_weights):
    path, sha = pspnet_weights
    with pytest.raises(InputError, match="train_epoch_100.pth: sha256 mismatch"):
        load_pspnet(str(path), "0" * 64)
    with pytest.raises(InputError, match="nowhere.pth: segmentation weights not found"):
        load_pspnet(str(tmp_path / "nowhere.pth"), sha)
    vgg = tmp_path / "vgg.pth"
    torch.save({"0.weight": torch.zeros(64, 3, 3, 3)}, vgg)
    with pytest.raises(InputError, match="vgg.pth: not PSPNet-50 ADE20K weights .*keys missing"):
        load_pspnet(str(vgg), hashlib.sha256(vgg.read_bytes()).hexdigest())
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pth: not a loadable weights file"):
        load_pspnet(str(junk), hashlib.sha256(b"not a checkpoint").hexdigest())
