"""Stage ``optimize``: the GPU (or CPU) optimisation of the output pixels."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from prefect import get_run_logger, task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, canonical_json, stage_key
from photostyle.core.imageio import encode_image
from photostyle.core.regions import optimisation_masks
from photostyle.core.stylize import Progress, StyleParams, resolve_device, stylize
from photostyle.core.vgg import load_weights
from photostyle.tasks.group import load_pairs
from photostyle.tasks.laplacian import load_laplacian
from photostyle.tasks.options import cached_stage

STAGE = "optimize"
VERSION = 1
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


def device_name(device: torch.device) -> str:
    """One name per physical device: ``cpu``, ``cuda:0`` (plain ``cuda`` is the current GPU)."""
    if device.type != "cuda":
        return device.type
    return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"


@contextmanager
def device_slot(device: str) -> Iterator[None]:
    """Hold one of the device's optimisation slots (waiting for one if all are taken)."""
    with _slots_lock:
        slot = _slots.setdefault(device, threading.BoundedSemaphore(max(1, SLOTS_PER_DEVICE)))
    with slot:
        yield


def optimize_key(content: ArtifactRef, style: ArtifactRef, regions: ArtifactRef,
                 laplacian: ArtifactRef | None, params: StyleParams) -> str:
    """Key of an optimisation: its inputs' digests, the parameters and the VGG weights' identity."""
    inputs = {"content": content.digest, "style": style.digest, "regions": regions.digest,
              "laplacian": laplacian.digest if laplacian is not None else None,
              "weights": load_weights(params.weights).weights_id}
    return stage_key(STAGE, VERSION, inputs, params.to_dict())


def _key(inputs: dict) -> str:
    params = StyleParams.from_dict(inputs["params"])
    lap = inputs.get("laplacian") if params.method == "dpst" else None
    return optimize_key(inputs["content"], inputs["style"], inputs["regions"], lap, params)


def _progress_logger(total: int):
    """A callback that logs a bounded number of progress lines per stage."""
    logger = get_run_logger()
    every = max(1, total // PROGRESS_LINES)

    def report(p: Progress) -> None:
        if p.iteration == 1 or p.iteration % every == 0 or p.iteration == p.total:
            terms = " ".join(f"{k}={v:.4g}" for k, v in p.terms.items())
            logger.info("%s %d/%d loss=%.6g %s", p.stage, p.iteration, p.total, p.loss, terms)

    return report


@task(name="optimize", tags=[OPTIMIZE_TAG], **cached_stage(STAGE, _key))
def optimize(content: ArtifactRef, style: ArtifactRef, regions: ArtifactRef,
             laplacian: ArtifactRef | None, params: dict, store: ArtifactStore,
             device: str = "auto", refresh: bool = False) -> ArtifactRef:
    """Stylise the prepared content like the style; store the image and its loss history."""
    style_params = StyleParams.from_dict(params)
    needs_laplacian = style_params.method == "dpst"
    lap_ref = laplacian if needs_laplacian else None
    key = optimize_key(content, style, regions, lap_ref, style_params)

    def compute() -> tuple[dict[str, bytes], dict]:
        inputs = (store.read_image(content), store.read_image(style),
                  load_laplacian(store, lap_ref) if lap_ref is not None else None)
        masks = optimisation_masks(load_pairs(store, regions), inputs[0], inputs[1])
        with device_slot(device_name(resolve_device(device))):
            result = stylize(inputs[0], inputs[1], style_params, content_masks=masks[0], style_masks=masks[1],
                             laplacian=inputs[2], device=device,
                             progress=_progress_logger(style_params.iterations))
        files = {"image.png": encode_image(result.image), "history.json": canonical_json(result.history)}
        meta = {"device": result.device, "weights_id": load_weights(style_params.weights).weights_id,
                "final_loss": result.history[-1]["loss"] if result.history else None,
                "iterations": len(result.history)}
        return files, meta

    return store.get_or_create(STAGE, key, compute, refresh)
