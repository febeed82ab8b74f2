"""Task ``fingerprint``: the content hash of an input file, which every downstream key starts from."""

from __future__ import annotations

from prefect import task

from photostyle.core.artifacts import ArtifactStore
from photostyle.core.collection import content_sha256
from photostyle.tasks.options import STAGE_OPTIONS


@task(name="fingerprint", **STAGE_OPTIONS)
def fingerprint(uri: str, store: ArtifactStore, storage_options: dict | None = None, stamp: str | None = None) -> str:
    """sha256 of the file's bytes, read once per file version (remembered under its stamp)."""
    return content_sha256(uri, storage_options, store, stamp)
