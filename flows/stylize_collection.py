"""Flow ``stylize-collection``: every photo under a folder or bucket prefix, re-toned like one
style reference, written to the same relative paths under the output, with a Parquet manifest.

Photos run concurrently (``concurrency`` in flight); each photo's stages are cached by their
artifact keys, so a second run costs a listing and a cache lookup per stage, a parameter change
recomputes only the stages it affects, and ``rerun_stage`` recomputes one stage on purpose.
One bad photo fails its own row; the flow ends Failed with a message counting the failures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture, as_completed
from prefect.runtime import flow_run
from prefect.states import Failed
from prefect.task_runners import TaskRunner

from photostyle.core.artifacts import ArtifactStore, Stage
from photostyle.core.collection import DEFAULT_CONCURRENCY, Photo, find_photos, output_uri_for, select
from photostyle.core.config import StyleConfig
from photostyle.core.errors import InputError
from photostyle.core.imageio import absolute_uri, same_location, sweep_temp_files
from photostyle.core.manifest import failed_row, manifest_uri, now_utc
from photostyle.flows.scoring import resolve_models
from photostyle.flows.storage import resolve_storage_options
from photostyle.tasks.caching import result_storage_for
from photostyle.tasks.manifest import write_manifest
from photostyle.tasks.photo import Run, StyleInput, photo_task, prepare_style
from photostyle.tasks.report import CollectionReport

#: Manifest rows are written as a new Parquet part after this many photos or seconds (and at the end).
FLUSH_ROWS = 25
FLUSH_SECONDS = 10.0


def artifact_root_for(output_uri: str, artifact_root: str | None) -> str:
    """Stage artifacts go under the output unless another root is configured."""
    return artifact_root or f"{output_uri.rstrip('/')}/_artifacts"


def check_outputs(photos: list[Photo], input_uri: str, output_uri: str, options: dict) -> None:
    """Refuse an output location where any result would land on an input."""
    if same_location(input_uri, output_uri, options):
        raise InputError(output_uri, "output is the input folder; results would overwrite the photos")
    clash = {output_uri_for(p, output_uri) for p in photos} & {p.uri for p in photos}
    if clash:
        raise InputError(output_uri, f"results would overwrite input photos, e.g. {sorted(clash)[0]}")


class ManifestWriter:
    """Collects rows of this run and writes them as numbered Parquet parts (every FLUSH_ROWS rows
    or FLUSH_SECONDS, and at the end). A part that cannot be written keeps its rows for the next."""

    def __init__(self, output_uri: str, options: dict):
        self.output_uri, self.options = output_uri, options
        self.run_id = str(flow_run.id or "local")
        self.run_name = str(flow_run.name or "")
        self.stamp = now_utc().strftime("%Y%m%dT%H%M%SZ")
        self.rows: list[dict] = []
        self.parts: list[str] = []
        self.last = time.monotonic()

    def add(self, row: dict) -> None:
        self.rows.append({**row, "run_id": self.run_id, "run_name": self.run_name, "timestamp": now_utc()})
        if len(self.rows) >= FLUSH_ROWS or time.monotonic() - self.last >= FLUSH_SECONDS:
            self.flush(final=False)

    def flush(self, final: bool = True) -> None:
        """Write the pending rows; only the final flush lets a storage error through."""
        if not self.rows:
            return
        part = f"{self.stamp}-{self.run_id}-{len(self.parts):04d}"
        try:
            self.parts.append(
                write_manifest(output_uri=self.output_uri, rows=self.rows, part=part, storage_options=self.options)
            )
        except Exception:
            if final:
                raise
            get_run_logger().exception("could not write manifest part %s; its rows wait for the next", part)
            return
        self.rows, self.last = [], time.monotonic()


@flow(name="stylize-collection", log_prints=True, persist_result=False)
def stylize_collection(
    input_uri: str,
    style: str,
    output_uri: str,
    style_mask: str | None = None,
    config: StyleConfig = StyleConfig(),  # noqa: B008 - frozen, so a shared default is safe
    concurrency: int = DEFAULT_CONCURRENCY,
    artifact_root: str | None = None,
    storage_options: dict | None = None,
    storage_block: str | None = None,
    rerun_stage: Stage | None = None,
    only: list[str] | None = None,
    dask_address: str | None = None,
    dask_workers: int = 0,
) -> dict:
    """Stylise every photo under ``input_uri`` like ``style`` into ``output_uri``.

    Photos are found recursively by extension; ``<stem>.mask.<ext>`` beside a photo is its mask.
    ``only`` (globs on the path below ``input_uri``) selects photos; ``rerun_stage`` recomputes
    that stage for them (later stages recompute only where its output changed). Storage options
    come from the parameters, a Prefect Secret block (``storage_block``) or the environment.
    Photos run on this process's threads, or on a Dask cluster: the scheduler at ``dask_address``
    or a local cluster of ``dask_workers`` worker processes.

    Args:
        input_uri: Folder or bucket prefix holding the photos (s3://bucket/incoming).
        style: The style reference photo.
        output_uri: Folder or prefix for the results, the manifest (_manifest/) and, by
            default, the stage artifacts (_artifacts/).
        style_mask: Region mask of the style, optional (a photo's mask is <stem>.mask.<ext>).
        config: The settings: working size, method and its weights, optimiser, segmentation,
            finishing and scoring.
        concurrency: Photos in flight at once; optimisations still take one slot per device.
        artifact_root: Where stage artifacts are cached (default: OUTPUT/_artifacts).
        storage_options: fsspec options without credentials, e.g. {"client_kwargs":
            {"endpoint_url": "http://minio:9000"}}. Credentials here are refused.
        storage_block: Name of a Prefect Secret block holding storage options (credentials
            included) as a JSON object.
        rerun_stage: Recompute this stage for the selected photos (later stages recompute only
            where its output changed).
        only: Glob patterns on the photo paths below input_uri; only matching photos run.
        dask_address: Address of a Dask scheduler (tcp://host:8786) to run the photos on.
        dask_workers: Run the photos on a local Dask cluster of this many worker processes.
    """
    logger = get_run_logger()
    if concurrency < 1:
        raise InputError("concurrency", f"must be at least 1, not {concurrency}")
    options = resolve_storage_options(storage_options, storage_block)
    config = resolve_models(config, options)
    if rerun_stage and rerun_stage not in config.stages():
        raise InputError("rerun_stage", f"these settings skip the {rerun_stage} stage; there is nothing to rerun")
    input_uri, output_uri = absolute_uri(input_uri, options), absolute_uri(output_uri, options)
    root = artifact_root_for(output_uri, artifact_root)
    listing = find_photos(input_uri, options, exclude=[output_uri, root, style, style_mask])
    photos = select(listing.photos, only)
    if not photos:
        raise InputError(
            input_uri,
            f"no photo matches {', '.join(only or [])} "
            f"(of {len(listing.photos)} photos; patterns match the path below it)",
        )
    check_outputs(photos, input_uri, output_uri, options)
    for uri, why in listing.skipped.items():
        logger.warning("skipped %s: %s", uri, why)
    logger.info(
        "%d photos under %s (%d selected, %d other files skipped)%s",
        len(listing.photos),
        input_uri,
        len(photos),
        len(listing.skipped),
        f"; rerunning {rerun_stage}" if rerun_stage else "",
    )

    swept = sweep_temp_files(output_uri, options, keep=[input_uri])
    if swept:
        logger.warning("removed %d temporary files an interrupted run left: %s", len(swept), ", ".join(swept[:5]))
    store = ArtifactStore(root, options)
    run = Run(store, result_storage_for(store), config, options, rerun_stage)
    style_input = prepare_style(run, style, style_mask)
    manifest = ManifestWriter(output_uri, options)
    start = time.perf_counter()

    report = CollectionReport(output_uri, len(photos))
    with photo_runner(dask_address, dask_workers) as runner:
        try:
            counts, failures, parts = _run_photos(
                runner, photos, run, style_input, output_uri, manifest, concurrency, report
            )
        except KeyboardInterrupt:
            manifest.flush(final=False)  # the rows of the photos finished before the interrupt
            raise
    summary = {
        "input": input_uri,
        "output": output_uri,
        "photos": len(photos),
        **counts,
        "failures": failures,
        "skipped": listing.skipped,
        "manifest": manifest_uri(output_uri),
        "manifest_parts": parts,
        "run_id": manifest.run_id,
        "seconds": round(time.perf_counter() - start, 2),
    }
    message = f"{len(photos)} photos: {counts['ok']} ok, {counts['cached']} cached, {counts['failed']} failed"
    logger.info(message)
    report.table(report.rows, message)
    if counts["failed"]:
        return Failed(message=message, data=summary)
    return summary


@contextmanager
def photo_runner(dask_address: str | None, dask_workers: int) -> Iterator[TaskRunner | None]:
    """A Dask task runner for the photos (a running scheduler, or a local cluster of worker
    processes), or None for this flow's own thread pool."""
    if not dask_address and dask_workers <= 0:
        yield None
        return
    from prefect_dask import DaskTaskRunner

    if dask_address:
        runner = DaskTaskRunner(address=dask_address)
    else:
        runner = DaskTaskRunner(
            cluster_kwargs={
                "n_workers": dask_workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    with runner:
        yield runner


def _run_photos(
    runner: TaskRunner | None,
    photos: list[Photo],
    run: Run,
    style_input: StyleInput,
    output_uri: str,
    manifest: ManifestWriter,
    concurrency: int,
    report: CollectionReport,
) -> tuple[dict, dict, list[str]]:
    """Keep ``concurrency`` photo tasks in flight until every photo has its row; log progress."""
    logger = get_run_logger()
    counts = {"ok": 0, "cached": 0, "failed": 0}
    failures: dict[str, str] = {}

    def submit(photo: Photo) -> PrefectFuture:
        args = {"run": run, "photo": photo, "output_uri": output_uri_for(photo, output_uri), "style": style_input}
        return runner.submit(photo_task, args) if runner is not None else photo_task.submit(**args)

    queue = iter(photos)
    pending = {submit(p): p for p in (next(queue, None) for _ in range(concurrency)) if p is not None}
    done = 0
    while pending:
        future = next(as_completed(list(pending)))
        photo = pending.pop(future)
        future.wait()
        row = future.state.result(raise_on_failure=False)
        if not isinstance(row, dict):  # the photo task itself crashed: still one row, never dropped
            row = failed_row(
                photo.uri,
                photo.mask_uri,
                style_input.uri,
                style_input.sha256,
                run.params,
                output_uri_for(photo, output_uri),
                f"{photo.uri}: crashed: {future.state.message}",
            )
        manifest.add(row)
        report.rows.append(row)
        report.photo_done()
        counts[row["status"]] += 1
        done += 1
        if row["status"] == "failed":
            failures[row["input_uri"]] = row["error"]
            logger.error("photo %d/%d failed: %s", done, len(photos), row["error"])  # the error names it
        else:
            logger.info(
                "photo %d/%d %s: %s (%.1f s)",
                done,
                len(photos),
                row["status"],
                row["output_uri"],
                row["seconds"].get("total", 0.0),
            )
        nxt = next(queue, None)
        if nxt is not None:
            pending[submit(nxt)] = nxt
    manifest.flush()
    return counts, failures, manifest.parts
