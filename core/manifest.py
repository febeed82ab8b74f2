"""The run manifest: a Parquet dataset under ``OUTPUT/_manifest/``, one row per photo per run.

Each flush of a run writes one new Parquet file (atomically, never appending), so a run killed
half-way keeps every part it wrote and readers never see a partial file. Read it all with
``read_manifest`` or ``pyarrow.dataset.dataset(OUTPUT + "/_manifest", format="parquet")``.
"""

from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from photostyle.core.artifacts import canonical_json, sha256_hex
from photostyle.core.imageio import url_to_fs, write_bytes_atomic
from photostyle.core.version import code_version

MANIFEST_DIR = "_manifest"
STATUSES = ("ok", "cached", "failed")

#: What the manifest keeps of each candidate a result was chosen from (scores at the working size).
CANDIDATE = pa.struct(
    [
        pa.field("index", pa.int32()),
        pa.field("method", pa.string()),
        pa.field("seed", pa.int64()),
        pa.field("start_noise", pa.float64()),
        pa.field("result_stage", pa.string()),
        pa.field("result_key", pa.string()),
        pa.field("result_uri", pa.string()),
        pa.field("structure", pa.float64()),
        pa.field("photorealism", pa.float64()),
        pa.field("style_distance", pa.float64()),
        pa.field("nima_mean", pa.float64()),
        pa.field("nima_std", pa.float64()),
        pa.field("seconds", pa.float64()),  # compute seconds of its own stages in this run
        pa.field("chosen", pa.bool_()),
    ]
)

SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string()),
        pa.field("run_name", pa.string()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC")),
        pa.field("input_uri", pa.string()),
        pa.field("input_sha256", pa.string()),
        pa.field("mask_uri", pa.string()),
        pa.field("style_uri", pa.string()),
        pa.field("style_sha256", pa.string()),
        pa.field("params_hash", pa.string()),
        pa.field("params", pa.string()),  # JSON
        pa.field("stage_keys", pa.map_(pa.string(), pa.string())),
        pa.field("output_uri", pa.string()),
        pa.field("structure", pa.float64()),
        pa.field("photorealism", pa.float64()),
        pa.field("style_distance", pa.float64()),
        pa.field("nima_mean", pa.float64()),
        pa.field("nima_std", pa.float64()),
        pa.field("nima_model", pa.string()),
        pa.field("seconds", pa.map_(pa.string(), pa.float64())),  # compute seconds in this run
        pa.field("cached_stages", pa.list_(pa.string())),
        pa.field("status", pa.string()),
        pa.field("error", pa.string()),
        pa.field("code_version", pa.string()),
        pa.field("segmentation", pa.string()),  # user-mask, model, cosegment(-fallback) or single-region
        pa.field("region_correspondence", pa.float64()),  # co-segmentation's confidence in its pairing
        pa.field("regions", pa.list_(pa.string())),  # the paired regions' names
        pa.field("weights_id", pa.string()),
        pa.field("device", pa.string()),
        pa.field("worker", pa.string()),  # host:pid of the process that ran the photo
        pa.field("candidates", pa.list_(CANDIDATE)),  # null unless the result was chosen among several
    ]
)


#: The columns a result's scores fill.
SCORE_COLUMNS = ("structure", "photorealism", "style_distance", "nima_mean", "nima_std", "nima_model")


def manifest_uri(output_uri: str) -> str:
    """The manifest folder of an output location."""
    return f"{output_uri.rstrip('/')}/{MANIFEST_DIR}"


def now_utc() -> dt.datetime:
    """The timestamp rows carry."""
    return dt.datetime.now(dt.UTC)


def params_hash(params: dict) -> str:
    """A short, stable hash of the optimisation parameters (rows with equal hashes are comparable)."""
    return sha256_hex(canonical_json(params))[:16]


def sidecar_row(sidecar: dict, mask_uri: str | None = None) -> dict:
    """The manifest row of a published photo: ``cached`` when no stage ran and nothing was
    written, else ``ok``. Seconds are this run's compute seconds (0 for a cached stage)."""
    stages = sidecar["stages"]
    inputs = sidecar["inputs"]
    cached = sorted(name for name, s in stages.items() if s["cached"])
    fresh = len(cached) < len(stages) or sidecar.get("published", True)
    scores = sidecar.get("scores") or {}
    return {
        "input_uri": inputs["content"],
        "input_sha256": inputs.get("content_sha256"),
        "mask_uri": mask_uri,
        "style_uri": inputs["style"],
        "style_sha256": inputs.get("style_sha256"),
        "params_hash": params_hash(sidecar["params"]),
        "params": canonical_json(sidecar["params"]).decode(),
        "stage_keys": {name: s["key"] for name, s in stages.items()},
        "output_uri": sidecar["output"],
        **{name: scores.get(name) for name in SCORE_COLUMNS},
        "seconds": {name: 0.0 if s["cached"] else float(s["seconds"] or 0.0) for name, s in stages.items()},
        "cached_stages": cached,
        "status": "ok" if fresh else "cached",
        "error": None,
        "code_version": sidecar.get("code_version"),
        "weights_id": sidecar.get("weights_id"),
        "device": sidecar.get("device"),
        "segmentation": segmentation_source(sidecar),
        "region_correspondence": (sidecar.get("segmentation") or {}).get("correspondence"),
        "regions": sidecar.get("regions"),
        "candidates": candidate_rows(sidecar.get("candidates")),
    }


def candidate_rows(candidates: list[dict] | None) -> list[dict] | None:
    """The sidecar's candidates flattened to the manifest's ``CANDIDATE`` fields."""
    if not candidates:
        return None
    return [
        {name: c.get(name) for name in CANDIDATE.names if name not in SCORE_COLUMNS}
        | {name: (c.get("scores") or {}).get(name) for name in CANDIDATE.names if name in SCORE_COLUMNS}
        for c in candidates
    ]


def segmentation_source(sidecar: dict) -> str | None:
    """The segmentation a sidecar records: ``user-mask``, ``model``, ``cosegment`` or
    ``single-region`` (``user-mask+single-region`` when only one image had a mask;
    ``cosegment-fallback`` when co-segmentation found no pairing and used one region)."""
    seg = sidecar.get("segmentation") or {}
    if seg.get("source") == "cosegment" and seg.get("chosen") == "fallback":
        return "cosegment-fallback"
    sides = {seg.get("content"), seg.get("style")} - {None}
    if seg.get("source") == "user-mask" and len(sides) == 2:
        return "+".join(sorted(sides, key=lambda s: s != "user-mask"))
    return seg.get("source")


def failed_row(
    input_uri: str,
    mask_uri: str | None,
    style_uri: str,
    style_sha256: str | None,
    params: dict,
    output_uri: str,
    error: str,
) -> dict:
    """The manifest row of a photo that failed, with its one-line error."""
    return {
        "input_uri": input_uri,
        "mask_uri": mask_uri,
        "style_uri": style_uri,
        "style_sha256": style_sha256,
        "params_hash": params_hash(params),
        "params": canonical_json(params).decode(),
        "output_uri": output_uri,
        "status": "failed",
        "error": error,
        "code_version": code_version(),
        "stage_keys": {},
        "seconds": {},
        "cached_stages": [],
    }


def to_table(rows: list[dict]) -> pa.Table:
    """Rows as a table of the manifest schema (missing columns are null, unknown ones refused)."""
    unknown = {k for row in rows for k in row} - set(SCHEMA.names)
    if unknown:
        raise ValueError(f"not manifest columns: {sorted(unknown)}")
    bad = {row.get("status") for row in rows} - set(STATUSES)
    if bad:
        raise ValueError(f"unknown status {sorted(map(str, bad))}")
    return pa.Table.from_pylist([{name: row.get(name) for name in SCHEMA.names} for row in rows], schema=SCHEMA)


def write_part(output_uri: str, rows: list[dict], part: str, storage_options: dict | None = None) -> str:
    """Write rows as one new Parquet file ``_manifest/{part}.parquet``; return its URI."""
    buf = io.BytesIO()
    pq.write_table(to_table(rows), buf, compression="zstd")
    uri = f"{manifest_uri(output_uri)}/{part}.parquet"
    write_bytes_atomic(uri, buf.getvalue(), storage_options)
    return uri


def read_manifest(output_uri: str, storage_options: dict | None = None) -> pa.Table:
    """Every row of every run, as one table (empty when nothing was written yet)."""
    fs, path = url_to_fs(manifest_uri(output_uri), storage_options)
    fs.invalidate_cache(path)
    if not fs.exists(path):
        return SCHEMA.empty_table()
    dataset = ds.dataset(path, filesystem=fs, format="parquet", schema=SCHEMA, exclude_invalid_files=False)
    return dataset.to_table()
