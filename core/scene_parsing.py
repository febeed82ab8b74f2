"""ADE20K scene parsing with PSPNet-50 (Zhao et al. 2017), the segmenter of Automated DPST.

The network is the one of the PSPNet authors' PyTorch release (hszhao/semseg, ``PSPNet(layers=50,
classes=150, zoom_factor=8)``): a ResNet-50 with a deep three-convolution stem, layer3 and layer4
dilated (2 and 4) instead of strided, a pyramid pooling module (bins 1, 2, 3, 6) and a 3x3 + 1x1
classifier; the auxiliary head on layer3 is kept so that its published ADE20K checkpoint
(``exp/ade20k/pspnet50/model/train_epoch_100.pth``: ``{"state_dict": {"module.…": …}}``) loads
strictly. No weights ship with photostyle: give the file's fsspec URI and sha256.

Input convention (semseg's test settings): RGB scaled by 255, ImageNet mean and std; sides of the
form 8k + 1; the long side at most 473 px (its crop size). Output: one of 150 class indices per
pixel, 0 = wall ... 149 = flag, in ADE20K's SceneParsing order (core/ade20k.py names them).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import Bottleneck

from photostyle.core.errors import InputError
from photostyle.core.weights import load_state_dict, read_verified

ADE20K_CLASSES = 150
#: semseg's ADE20K test crop: the long side the image is resized to (at most).
INPUT_SIZE = 473
MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)
PPM_BINS = (1, 2, 3, 6)


def _conv_bn_relu(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _layer(inplanes: int, planes: int, blocks: int, stride: int, dilation: int) -> nn.Sequential:
    """A ResNet stage of torchvision Bottleneck blocks; a dilated stage keeps its resolution and
    dilates every 3x3 convolution, as semseg rewrites them."""
    downsample = nn.Sequential(
        nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False), nn.BatchNorm2d(planes * 4)
    )
    layers = [Bottleneck(inplanes, planes, stride, downsample)] + [
        Bottleneck(planes * 4, planes) for _ in range(blocks - 1)
    ]
    if dilation > 1:
        for block in layers:
            block.conv2.dilation, block.conv2.padding = (dilation, dilation), (dilation, dilation)
    return nn.Sequential(*layers)


class PyramidPooling(nn.Module):
    """PSPNet's pyramid pooling: the features, plus their averages over 1x1 ... 6x6 grids."""

    def __init__(self, channels: int, reduction: int, bins: tuple[int, ...] = PPM_BINS):
        super().__init__()
        self.features = nn.ModuleList(
            nn.Sequential(
                nn.AdaptiveAvgPool2d(b),
                nn.Conv2d(channels, reduction, 1, bias=False),
                nn.BatchNorm2d(reduction),
                nn.ReLU(inplace=True),
            )
            for b in bins
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        return torch.cat(
            [x] + [F.interpolate(f(x), size, mode="bilinear", align_corners=True) for f in self.features], 1
        )


def _head(cin: int, mid: int, classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, mid, 3, padding=1, bias=False),
        nn.BatchNorm2d(mid),
        nn.ReLU(inplace=True),
        nn.Dropout2d(0.1),
        nn.Conv2d(mid, classes, 1),
    )


class PSPNet(nn.Module):
    """PSPNet-50 with semseg's module names (layer0..layer4, ppm, cls, aux)."""

    def __init__(self, classes: int = ADE20K_CLASSES):
        super().__init__()
        self.layer0 = nn.Sequential(
            *_conv_bn_relu(3, 64, 2),
            *_conv_bn_relu(64, 64),
            *_conv_bn_relu(64, 128),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        self.layer1 = _layer(128, 64, 3, 1, 1)
        self.layer2 = _layer(256, 128, 4, 2, 1)
        self.layer3 = _layer(512, 256, 6, 1, 2)
        self.layer4 = _layer(1024, 512, 3, 1, 4)
        self.ppm = PyramidPooling(2048, 2048 // len(PPM_BINS))
        self.cls = _head(4096, 512, classes)
        self.aux = _head(1024, 256, classes)  # training only; kept so published weights load strictly

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits at the input's resolution for normalised (N, 3, 8k+1, 8k+1) images."""
        h, w = x.shape[2:]
        for layer in (self.layer0, self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        x = self.cls(self.ppm(x))
        return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=True)


def _unwrap(state: dict) -> dict:
    """The model's tensors from a checkpoint as published (``state_dict``, ``module.`` prefixes)."""
    if isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return {k.removeprefix("module."): v for k, v in state.items()}


_loaded: dict[tuple[str, str], PSPNet] = {}


def load_pspnet(uri: str, sha256: str, storage_options: dict | None = None) -> PSPNet:
    """PSPNet-50 ADE20K weights from ``uri`` (checked against ``sha256``), in eval mode; loaded
    once per process."""
    key = (uri, sha256.lower())
    if key not in _loaded:
        if len(_loaded) >= 2:
            _loaded.clear()
        _loaded[key] = _load_pspnet(uri, sha256, storage_options)
    return _loaded[key]


def _load_pspnet(uri: str, sha256: str, storage_options: dict | None) -> PSPNet:
    state = _unwrap(load_state_dict(read_verified(uri, sha256, storage_options, "segmentation weights"), uri))
    model = PSPNet()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        raise InputError(uri, f"not PSPNet-50 ADE20K weights ({_first_mismatch(model, state)})") from None
    return model.eval().requires_grad_(False)


def _first_mismatch(model: nn.Module, state: dict) -> str:
    """The first missing, unexpected or misshapen key, for the error message."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    if missing:
        return f"{len(missing)} keys missing, e.g. {missing[0]}"
    unexpected = [k for k in state if k not in expected]
    if unexpected:
        return f"{len(unexpected)} unexpected keys, e.g. {unexpected[0]}"
    bad = next(k for k in expected if tuple(state[k].shape) != tuple(expected[k].shape))
    return f"{bad} has shape {tuple(state[bad].shape)}, expected {tuple(expected[bad].shape)}"


def network_size(shape: tuple[int, int], input_size: int = INPUT_SIZE) -> tuple[int, int]:
    """The (8k+1)-sided size, long side at most ``input_size``, an image of ``shape`` is run at."""
    h, w = shape
    scale = min(1.0, (input_size - 1) / max(h - 1, w - 1, 1))
    return tuple(8 * max(1, round((n - 1) * scale / 8)) + 1 for n in (h, w))  # type: ignore[return-value]


def parse_scene(model: PSPNet, image: np.ndarray, device: str = "cpu", input_size: int = INPUT_SIZE) -> np.ndarray:
    """ADE20K class index (0..149) of every pixel of an RGB uint8 image, at the image's size."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.shape} {image.dtype}")
    h, w = image.shape[:2]
    model = model.to(device).eval()
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float().to(device)
    x = (x - torch.tensor(MEAN, device=device).view(1, 3, 1, 1)) / torch.tensor(STD, device=device).view(1, 3, 1, 1)
    with torch.inference_mode():
        x = F.interpolate(x, size=network_size((h, w), input_size), mode="bilinear", align_corners=True)
        logits = F.interpolate(model(x), size=(h, w), mode="bilinear", align_corners=True)
    return logits[0].argmax(0).to(torch.int32).cpu().numpy()
