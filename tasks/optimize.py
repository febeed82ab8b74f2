"""Stage ``optimize``: the GPU (or CPU) optimisation of the output pixels by the configured method."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from prefect import get_run_logger, task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, canonical_json, npy_bytes, stage_key
from photostyle.core.config import OptimizerConfig
from photostyle.core.device import device_name, resolve_device
from photostyle.core.errors import ResultError
from photostyle.core.imageio import encode_image, is_flat
from photostyle.core.methods import QUALITY_TERM_AT, MethodConfig, MethodInputs, Progress, method_spec, run_method
from photostyle.core.nima import TRAINED_SCORE_MAX, load_nima, quality_term_score
from photostyle.core.optimize import kept_loss
from photostyle.core.regions import optimisation_masks
from photostyle.core.vgg import load_weights
from photostyle.tasks.group import load_pairs
from photostyle.tasks.laplacian import load_laplacian
from photostyle.tasks.options import cached_stage

STAGE = "optimize"
VERSION = 4
#: The image at full precision (``image.png`` is 8-bit), which optimize and finish store and the
#: stages after them read.
RESULT_FILE = "image.npy"
#: How many progress lines a stage logs (plus its first and last iteration).
PROGRESS_LINES = 20
#: The Prefect tag of the optimize task: ``prefect concurrency-limit create photostyle-optimize N``
#: caps optimisations across every process and worker that shares the Prefect server.
OPTIMIZE_TAG = "photostyle-optimize"
#: Optimisations one device runs at once within a process (PHOTOSTYLE_OPTIMIZE_SLOTS, default 1):
#: a second concurrent run would only share the GPU's memory and compute (or the CPU's cores).
SLOTS_PER_DEVICE = int(os.environ.get("PHOTOSTYLE_OPTIMIZE_SLOTS", "1"))

_slots: dict[str, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


@contextmanager
def device_slot(device: str) -> Iterator[None]:
    """Hold one of the device's optimisation slots (waiting for one if all are taken)."""
    with _slots_lock:
        slot = _slots.setdefault(device, threading.BoundedSemaphore(max(1, SLOTS_PER_DEVICE)))
    with slot:
        yield


def optimize_key(
    content: ArtifactRef,
    style: ArtifactRef,
    method: MethodConfig,
    optimizer: OptimizerConfig,
    vgg_weights: str,
    regions: ArtifactRef | None = None,
    laplacian: ArtifactRef | None = None,
    nima_weights: str | None = None,
) -> str:
    """Key of an optimisation: its inputs' digests (only those the method reads), the method's and
    the optimiser's settings, the VGG weights' identity and the NIMA model's with where its term
    applies (when the objective has NIMA's term)."""
    spec = method_spec(method)
    inputs = {
        "content": content.digest,
        "style": style.digest,
        "regions": regions.digest if regions is not None and spec.needs_regions else None,
        "laplacian": laplacian.digest if laplacian is not None and spec.needs_laplacian else None,
        "weights": load_weights(vgg_weights).weights_id,
        "nima": {"weights": nima_weights, "applied": QUALITY_TERM_AT} if method.nima_weight > 0 else None,
    }
    params = {"method": method.model_dump(mode="json"), "optimizer": optimizer.model_dump(mode="json")}
    return stage_key(STAGE, VERSION, inputs, params)


def _key(inputs: dict) -> str:
    return optimize_key(
        inputs["content"],
        inputs["style"],
        inputs["method"],
        inputs["optimizer"],
        inputs["vgg_weights"],
        inputs.get("regions"),
        inputs.get("laplacian"),
        inputs.get("nima_weights"),
    )


def _progress_logger(total: int) -> Callable[[Progress], None]:
    """A callback that logs a bounded number of progress lines per stage."""
    logger = get_run_logger()
    every = max(1, total // PROGRESS_LINES)

    def report(p: Progress) -> None:
        if p.iteration == 1 or p.iteration % every == 0 or p.iteration == p.total:
            terms = " ".join(f"{k}={v:.4g}" for k, v in p.terms.items())
            logger.info("%s %d/%d loss=%.6g %s", p.stage, p.iteration, p.total, p.loss, terms)

    return report


@task(name="optimize", tags=[OPTIMIZE_TAG], **cached_stage(STAGE, _key))
def optimize(
    content: ArtifactRef,
    style: ArtifactRef,
    store: ArtifactStore,
    method: MethodConfig,
    optimizer: OptimizerConfig,
    vgg_weights: str,
    device: str,
    regions: ArtifactRef | None = None,
    laplacian: ArtifactRef | None = None,
    nima_weights: str | None = None,
    refresh: bool = False,
) -> ArtifactRef:
    """Stylise the prepared content like the style; store the image and its loss history.
    ``nima_weights`` (URI#sha256=HEX) is the NIMA model of the method's quality term, if any."""
    spec = method_spec(method)
    regions = regions if spec.needs_regions else None
    laplacian = laplacian if spec.needs_laplacian else None
    key = optimize_key(content, style, method, optimizer, vgg_weights, regions, laplacian, nima_weights)

    def compute() -> tuple[dict[str, bytes], dict]:
        inputs = MethodInputs(store.read_image(content), store.read_image(style))
        if regions is not None:
            masks = optimisation_masks(load_pairs(store, regions), inputs.content, inputs.style)
            inputs.content_masks, inputs.style_masks = masks
        if laplacian is not None:
            inputs.laplacian = load_laplacian(store, laplacian)
        dev = resolve_device(device)
        if method.nima_weight > 0:
            inputs.nima = load_nima(nima_weights, str(dev))
        with device_slot(device_name(dev)):
            result = run_method(inputs, method, optimizer, vgg_weights, dev, _progress_logger(optimizer.iterations))
        if is_flat(result.image) and not is_flat(inputs.content):
            raise ResultError(
                "the optimised image is flat (one colour, no variation at all) though the photo is not: "
                "the optimiser did not get away from its start; try more iterations or another start (--init)"
            )
        files = {
            "image.png": encode_image(result.image),
            RESULT_FILE: npy_bytes(result.image),
            "history.json": canonical_json(result.history),
        }
        meta = {
            "device": result.device,
            "shape": list(result.image.shape[:2]),
            "weights_id": load_weights(vgg_weights).weights_id,
            "final_loss": kept_loss(result.history),
            "iterations": len(result.history),
            "terms": result.terms,
            "quality_term_score": quality_term_score(result.history, method.nima_weight),
        }
        return files, meta

    ref = store.get_or_create(STAGE, key, compute, refresh)
    score = ref.meta.get("quality_term_score")
    if score is not None and score > TRAINED_SCORE_MAX:
        get_run_logger().warning(
            "the quality term drove the NIMA mean to %.2f, past %.2f (the bundled model's target for a clean "
            "photo; real photos score lower): the optimisation is fooling the model, not improving the photo; "
            "lower method.nima_weight (%g; the README gives a weight per method)",
            score,
            TRAINED_SCORE_MAX,
            method.nima_weight,
        )
    return ref


def load_result(store: ArtifactStore, ref: ArtifactRef) -> np.ndarray:
    """The image of an ``optimize`` or ``finish`` reference, at full precision (HxWx3 float32)."""
    return store.read_array(ref, RESULT_FILE)
