"""Style transfer methods by name: the settings each takes, what it needs from the pipeline, and
how it runs.

A method is one module that defines its settings (a ``MethodConfig`` whose ``name`` is a
``Literal`` of the method's name) and a run function, and registers a ``MethodSpec``. The flows,
tasks and CLI look methods up here: ``needs_regions`` decides whether the segment and group stages
run, ``needs_laplacian`` whether the optimize stage reads the matting Laplacian.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from pydantic import Field

from photostyle.core.registry import Registry, Settings

if TYPE_CHECKING:
    import scipy.sparse

    from photostyle.core.config import OptimizerConfig


class MethodConfig(Settings):
    """Base of a method's settings; ``name`` selects the method in ``METHODS``."""

    name: str
    nima_weight: float = Field(
        0.0,
        ge=0,
        description="Weight W of NIMA's quality term W x (10 - mean score) in the objective (Automated "
        "DPST), through the NIMA model of scoring.nima_weights, at the working size (the coarser sizes "
        "of a coarse-to-fine run go without it); 0 leaves it out. Its scale follows the method's own "
        "losses: about 1e5 for dpst, 1e-4 to 1e-3 for strotss (README); a run whose term drives the score "
        "past a clean photo's target (7.92 for the bundled model) is fooling the model, and warns.",
    )


M = TypeVar("M", bound=MethodConfig)
#: Where ``quality_at`` lets NIMA's quality term join a coarse-to-fine run; the optimize stage puts
#: it in the key of the runs that have the term, so a change here recomputes those and no others.
QUALITY_TERM_AT = "working size only"


def quality_at(method: M, final: bool) -> M:
    """The method's settings for one size of a coarse-to-fine run: NIMA's quality term only at
    the final size. The coarser sizes only give the final one its start, and the model reads
    every size enlarged to its own analysis size, so there the term would cost as much per step
    as at the final size (most of a run's time) for a small share of its effect (docs/benchmarks.md,
    "NIMA")."""
    return method if final or method.nima_weight == 0 else method.model_copy(update={"nima_weight": 0.0})


@dataclass
class Progress:
    """One optimisation step's report: the total loss and each term's weighted value."""

    stage: str
    iteration: int
    total: int
    loss: float
    terms: dict[str, float] = field(default_factory=dict)


@dataclass
class MethodInputs:
    """What a method optimises from: images HxWx3 float32 in [0, 1]; region weights (K,H,W) and
    (K,Hs,Ws) in [0, 1] pairing content region k with style region k (None for methods without
    regions); the content's matting Laplacian (None unless the method needs it); the NIMA model
    (``core.nima.NimaModel``) of the quality term (None unless ``nima_weight`` is set)."""

    content: np.ndarray
    style: np.ndarray
    content_masks: np.ndarray | None = None
    style_masks: np.ndarray | None = None
    laplacian: scipy.sparse.csr_matrix | None = None
    nima: Any = None


@dataclass
class StyleResult:
    """The stylised image (HxWx3 float32 in [0,1]) and the loss history of every stage."""

    image: np.ndarray
    history: list[dict]
    seconds: float
    device: str
    terms: dict[str, dict[str, float]] = field(default_factory=dict)  # stage: {term: weight}


#: A method's run: (inputs, its settings, the optimiser's, weights=VGG source, device=torch device,
#: progress=callback or None) -> StyleResult.
MethodRun = Callable[..., StyleResult]


@dataclass(frozen=True)
class MethodSpec:
    """A registered method."""

    name: str
    config: type[MethodConfig]
    run: MethodRun
    needs_regions: bool = False
    needs_laplacian: bool = False
    description: str = ""
    #: The ``OptimizerConfig`` fields the method reads (None: all); the command line refuses a
    #: flag for any other, so no setting is silently ignored.
    optimizer_fields: frozenset[str] | None = None


METHODS: Registry[MethodSpec] = Registry("method", builtins=("photostyle.core.neural_style", "photostyle.core.strotss"))


def register_method(spec: MethodSpec) -> MethodSpec:
    """Make a method available to the config, the flows and the CLI under ``spec.name``."""
    return METHODS.register(spec)


def method_spec(method: MethodConfig | str) -> MethodSpec:
    """The registered method of a settings object or a name."""
    return METHODS.get(method if isinstance(method, str) else method.name)


def run_method(
    inputs: MethodInputs,
    method: MethodConfig,
    optimizer: OptimizerConfig,
    weights: str,
    device: Any,
    progress: Callable[[Progress], None] | None = None,
) -> StyleResult:
    """Run the method ``method`` names on ``inputs``, checking that it got what it needs."""
    spec = method_spec(method)
    if method.nima_weight > 0 and inputs.nima is None:
        raise ValueError("nima_weight needs a NIMA model in the inputs")
    if spec.needs_laplacian and inputs.laplacian is None:
        raise ValueError(f"method {spec.name!r} needs the content's matting Laplacian")
    masks = (inputs.content_masks, inputs.style_masks)
    if (masks[0] is None) != (masks[1] is None):
        raise ValueError("give region masks for both images or for neither")
    if masks[0] is not None and len(masks[0]) != len(masks[1]):
        raise ValueError(f"{len(masks[0])} content regions but {len(masks[1])} style regions")
    from photostyle.core.vgg import pass_precision

    with pass_precision(optimizer.precision):
        return spec.run(inputs, method, optimizer, weights=weights, device=device, progress=progress)
