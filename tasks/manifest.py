"""Task ``manifest``: write a part of the run manifest, retried like every storage write."""

from __future__ import annotations

from prefect import task

from photostyle.core.manifest import write_part
from photostyle.tasks.options import STAGE_OPTIONS


@task(name="manifest", **STAGE_OPTIONS)
def write_manifest(output_uri: str, rows: list[dict], part: str, storage_options: dict | None = None) -> str:
    """Write ``rows`` as the Parquet file ``_manifest/{part}.parquet``; return its URI."""
    return write_part(output_uri, rows, part, storage_options)
