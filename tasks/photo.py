"""One photo through the stages (prepare -> segment -> group -> laplacian -> optimize -> finish ->
upsample -> score -> publish), as nested stage tasks, each cached by its artifact key. Used by both
flows.

Stages a run does not need are skipped: segment and group for a method without regions, finish
when the finishing step changes nothing, upsample when the output stays at the working size. The
stages of one photo run one after another (the Laplacian could run beside segment and group, but a
nested submit would hold a worker of the pool the photos themselves run in); photos run
concurrently instead."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, CorruptArtifact
from photostyle.core.collection import Photo
from photostyle.core.config import StyleConfig
from photostyle.core.errors import PhotostyleError
from photostyle.core.interrupt import check_interrupted
from photostyle.core.manifest import failed_row, sidecar_row
from photostyle.core.nima import weights_setting
from photostyle.tasks.caching import ArtifactResultStorage, bind, run_stage
from photostyle.tasks.fingerprint import fingerprint
from photostyle.tasks.finish import finish
from photostyle.tasks.group import group
from photostyle.tasks.laplacian import laplacian
from photostyle.tasks.log_filters import quiet_empty_tracebacks
from photostyle.tasks.optimize import optimize
from photostyle.tasks.prepare import prepare_image
from photostyle.tasks.publish import publish, result_ref
from photostyle.tasks.score import score
from photostyle.tasks.segment import segment
from photostyle.tasks.upsample import upsample

#: Passes a photo may take when stored artifacts turn out corrupted (each pass discards one).
PASSES = 3


@dataclass(frozen=True)
class Run:
    """What every photo of a run shares: the store, its Prefect result storage, the settings."""

    store: ArtifactStore
    storage: ArtifactResultStorage
    config: StyleConfig
    storage_options: dict | None = None
    rerun: str | None = None

    @cached_property
    def params(self) -> dict:
        """The settings as JSON, as sidecars and the manifest record them."""
        return self.config.model_dump(mode="json")

    def refresh(self, name: str) -> bool:
        """Whether this run recomputes stage ``name`` on purpose (``rerun_stage``)."""
        return self.rerun == name

    def run(self, stage_task: Task, name: str, **kwargs: Any) -> ArtifactRef:
        """Run a stage task bound to this run's result storage; a Prefect cache hit is checked
        against the store (its current location, its current ``ref.json``), and a hit whose
        artifact has gone is recomputed instead of trusted."""
        check_interrupted()
        refresh = self.refresh(name)
        ref = run_stage(bind(stage_task, self.storage, refresh), refresh=refresh, **kwargs)
        if not ref.cached:
            return ref
        found = self.store.get(ref.stage, ref.key)
        if found is not None:
            return found
        get_run_logger().warning(
            "%s artifact %s is missing from %s; computing it again", ref.stage, ref.key, self.store.root
        )
        return run_stage(bind(stage_task, self.storage, True), refresh=True, **kwargs)


@dataclass(frozen=True)
class StyleInput:
    """The style reference, fingerprinted and prepared once per run."""

    uri: str
    sha256: str
    ref: ArtifactRef
    mask_uri: str | None = None
    mask_sha256: str | None = None


def prepare_style(run: Run, uri: str, mask_uri: str | None = None) -> StyleInput:
    """Fingerprint and prepare the style reference (and fingerprint its mask when regions are used)."""
    opts = run.storage_options
    sha = fingerprint(uri=uri, store=run.store, storage_options=opts)
    ref = run.run(
        prepare_image,
        "prepare",
        uri=uri,
        size=run.config.size,
        store=run.store,
        storage_options=opts,
        source_sha256=sha,
        max_megapixels=run.config.max_megapixels,
    )
    uses_mask = mask_uri and "segment" in run.config.stages()
    mask_sha = fingerprint(uri=mask_uri, store=run.store, storage_options=opts) if uses_mask else None
    return StyleInput(uri, sha, ref, mask_uri, mask_sha)


def stylize_photo(
    run: Run,
    content_uri: str,
    output_uri: str,
    style: StyleInput,
    mask_uri: str | None = None,
    stamp: str | None = None,
) -> dict:
    """Run one photo through the stages its settings need; return the published sidecar. A
    stored artifact found changed on disk has been discarded by the store: the photo then runs
    again (``PASSES`` in all), which computes that artifact again (the style's too, if it was that)."""
    for attempt in range(PASSES):
        try:
            return _stylize_once(run, content_uri, output_uri, style, mask_uri, stamp)
        except CorruptArtifact as exc:
            if attempt == PASSES - 1:
                raise
            get_run_logger().warning("%s: %s; running the photo again", content_uri, exc)
            if exc.key == style.ref.key:
                style = prepare_style(run, style.uri, style.mask_uri)
    raise AssertionError("unreachable")


def _stylize_once(
    run: Run,
    content_uri: str,
    output_uri: str,
    style: StyleInput,
    mask_uri: str | None = None,
    stamp: str | None = None,
) -> dict:
    """One pass of ``stylize_photo``."""
    store, opts, config = run.store, run.storage_options, run.config
    sha = fingerprint(uri=content_uri, store=store, storage_options=opts, stamp=stamp)
    content = run.run(
        prepare_image,
        "prepare",
        uri=content_uri,
        size=config.size,
        store=store,
        storage_options=opts,
        source_sha256=sha,
        max_megapixels=config.max_megapixels,
    )
    refs = {"prepare_content": content, "prepare_style": style.ref}
    refs["laplacian"] = run.run(laplacian, "laplacian", content=content, store=store)
    variants = config.candidate_settings()
    uses_mask = mask_uri and any("segment" in v.stages() for v in variants)
    mask_sha = fingerprint(uri=mask_uri, store=store, storage_options=opts) if uses_mask else None
    candidates = None
    if len(variants) > 1:
        solved, candidates = _best_candidate(run, variants, refs, style, mask_uri, mask_sha)
    else:
        solved = _solve(run, config, refs, style, mask_uri, mask_sha)
    refs |= solved
    result = result_ref(refs)
    if "upsample" in config.stages():
        refs["upsample"] = result = run.run(
            upsample,
            "upsample",
            uri=content_uri,
            source_sha256=sha,
            content=content,
            result=result,
            store=store,
            config=config.upsample,
            device=config.device,
            storage_options=opts,
            max_megapixels=config.max_megapixels,
        )
    refs["score"] = _score(run, config, refs, result)
    regions = refs.get("group")
    inputs = {
        "content": content_uri,
        "style": style.uri,
        "content_mask": mask_uri if regions is not None else None,
        "style_mask": style.mask_uri if regions is not None else None,
        "content_sha256": sha,
        "style_sha256": style.sha256,
        "size": config.size,
    }
    return publish(
        output_uri=output_uri,
        refs=refs,
        inputs=inputs,
        params=run.params,
        store=store,
        storage_options=opts,
        refresh=run.refresh("publish"),
        candidates=candidates,
    )


def _solve(
    run: Run,
    config: StyleConfig,
    refs: dict[str, ArtifactRef],
    style: StyleInput,
    mask_uri: str | None,
    mask_sha: str | None,
) -> dict[str, ArtifactRef]:
    """The stages that make a working-size result with ``config``: segment and group (for a
    method with regions, with the content mask fingerprinted as ``mask_sha``), optimize and
    finish (when it changes the image)."""
    store, opts = run.store, run.storage_options
    stages = config.stages()
    content, out, regions = refs["prepare_content"], {}, None
    if "segment" in stages:
        out["segment"] = run.run(
            segment,
            "segment",
            content=content,
            style=style.ref,
            store=store,
            config=config.segmentation,
            vgg_weights=config.weights,
            device=config.device,
            content_mask_uri=mask_uri,
            style_mask_uri=style.mask_uri,
            content_mask_sha256=mask_sha,
            style_mask_sha256=style.mask_sha256,
            storage_options=opts,
        )
        out["group"] = regions = run.run(
            group, "group", segments=out["segment"], store=store, config=config.segmentation.grouping
        )
    out["optimize"] = run.run(
        optimize,
        "optimize",
        content=content,
        style=style.ref,
        store=store,
        method=config.method,
        optimizer=config.optimizer,
        vgg_weights=config.weights,
        regions=regions,
        laplacian=refs["laplacian"],
        device=config.device,
        nima_weights=weights_setting(config.scoring.nima_weights) if config.method.nima_weight > 0 else None,
    )
    if "finish" in stages:
        out["finish"] = run.run(
            finish, "finish", content=content, optimized=out["optimize"], store=store, config=config.finish
        )
    return out


def _score(run: Run, config: StyleConfig, refs: dict[str, ArtifactRef], result: ArtifactRef) -> ArtifactRef:
    """The score stage of ``result`` against the photo's prepared inputs (and regions, if any)."""
    return run.run(
        score,
        "score",
        content=refs["prepare_content"],
        style=refs["prepare_style"],
        laplacian=refs["laplacian"],
        output=result,
        store=run.store,
        config=config.scoring,
        regions=refs.get("group"),
        device=config.device,
    )


def _best_candidate(
    run: Run,
    variants: list[StyleConfig],
    refs: dict[str, ArtifactRef],
    style: StyleInput,
    mask_uri: str | None,
    mask_sha: str | None,
) -> tuple[dict[str, ArtifactRef], list[dict]]:
    """Solve every candidate's settings, score each working-size result, and return the stages
    of the one with the highest NIMA mean (the first of equals) with every candidate's summary.
    The losers' results stay in the artifact store under their keys."""
    logger = get_run_logger()
    tried = []
    for i, config in enumerate(variants):
        solved = _solve(run, config, refs, style, mask_uri, mask_sha)
        scored = _score(run, config, refs | solved, result_ref(solved))
        tried.append((config, solved, scored.meta.get("scores", {})))
        logger.info(
            "candidate %d/%d (%s, seed %d): NIMA mean %.3f",
            i + 1,
            len(variants),
            config.method.name,
            config.optimizer.seed,
            tried[-1][2].get("nima_mean") or float("nan"),
        )
    means = [scores.get("nima_mean") for _, _, scores in tried]
    best = max(range(len(tried)), key=lambda i: means[i] if means[i] is not None else float("-inf"))
    summaries = [
        candidate_summary(i, config, solved, scores, i == best) for i, (config, solved, scores) in enumerate(tried)
    ]
    return tried[best][1], summaries


def candidate_summary(
    index: int, config: StyleConfig, solved: dict[str, ArtifactRef], scores: dict, chosen: bool
) -> dict:
    """What the sidecar and the manifest record of one candidate: its variant, its working-size
    result's artifact, its scores and the seconds its own stages computed in this run."""
    result = result_ref(solved)
    return {
        "index": index,
        "method": config.method.name,
        "seed": config.optimizer.seed,
        "start_noise": config.optimizer.start_noise,
        "result_stage": result.stage,
        "result_key": result.key,
        "result_uri": result.uri,
        "scores": scores,
        "seconds": round(sum(ref.seconds or 0.0 for ref in solved.values() if not ref.cached), 3),
        "chosen": chosen,
    }


def error_message(exc: BaseException, uri: str) -> str:
    """One line for the manifest that names the photo: our own errors as they are when they name
    it, else after its URI; anything else after its URI, with its type."""
    if isinstance(exc, PhotostyleError):
        return str(exc) if uri in str(exc) else f"{uri}: {exc}"
    return f"{uri}: {type(exc).__name__}: {exc}"


quiet_empty_tracebacks()  # here, so that every process that runs photo tasks (Dask workers too) has it


@task(name="photo", task_run_name="photo {photo.relpath}", cache_policy=NO_CACHE, persist_result=False)
def photo_task(run: Run, photo: Photo, output_uri: str, style: StyleInput) -> dict | State:
    """One photo of a batch; returns its manifest row. A failure fails this photo only: the task
    ends Failed, carrying the row with the error, and the batch goes on."""
    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        sidecar = stylize_photo(run, photo.uri, output_uri, style, photo.mask_uri, photo.stamp)
    except Exception as exc:  # noqa: BLE001 - any failure belongs to this photo's row
        row = failed_row(
            photo.uri, photo.mask_uri, style.uri, style.sha256, run.params, output_uri, error_message(exc, photo.uri)
        )
        row.update(seconds={"total": round(time.perf_counter() - start, 3)}, worker=worker)
        return Failed(message=row["error"], data=row)
    row = sidecar_row(sidecar, photo.mask_uri)
    row["seconds"]["total"] = round(time.perf_counter() - start, 3)
    row["worker"] = worker
    return row
