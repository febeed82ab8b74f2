"""Stage ``prepare``: read a photo (any fsspec URL), orient, convert to RGB, resize to a long side."""

from __future__ import annotations

from prefect import get_run_logger, task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, sha256_hex, stage_key
from photostyle.core.errors import InputError
from photostyle.core.imageio import (
    check_short_side,
    decode_photo,
    encode_image,
    pixel_cap,
    read_bytes,
    resize_long_side,
)
from photostyle.tasks.options import cached_stage

STAGE = "prepare"
VERSION = 2


def prepare_key(source_sha256: str, size: int) -> str:
    """Key of a prepared image: the source file's content and the target size."""
    return stage_key(STAGE, VERSION, {"source": source_sha256}, {"size": size})


def _key(inputs: dict) -> str | None:
    sha = inputs.get("source_sha256")
    return prepare_key(sha, inputs["size"]) if sha else None


@task(name="prepare", **cached_stage(STAGE, _key))
def prepare_image(
    uri: str,
    size: int,
    store: ArtifactStore,
    storage_options: dict | None = None,
    source_sha256: str | None = None,
    refresh: bool = False,
    max_megapixels: float | None = None,
) -> ArtifactRef:
    """Normalise one photo to an RGB PNG with long side ``size``; return its reference.

    ``source_sha256`` (the file's hash, from ``content_sha256``) makes the Prefect cache key known
    before the photo is read; the file must still have that content when it is read. The photo is
    decoded once, at reduced size where its format allows; ``max_megapixels``: the size cap
    (``StyleConfig.max_megapixels``; None: this machine's).
    """
    data = read_bytes(uri, storage_options)
    source = sha256_hex(data)
    if source_sha256 is not None and source != source_sha256:
        raise InputError(uri, "the file changed while it was being processed; run again")

    def compute() -> tuple[dict[str, bytes], dict]:
        photo = decode_photo(data, uri, size, pixel_cap(max_megapixels))
        if photo.frames > 1:
            get_run_logger().warning("%s holds %d frames; only the first is used", uri, photo.frames)
        check_short_side(photo.image.shape[:2], size, uri)
        resized = resize_long_side(photo.image, size)
        meta = {"source_sha256": source, "original_shape": list(photo.shape), "shape": list(resized.shape[:2])}
        return {"image.png": encode_image(resized)}, meta

    return store.get_or_create(STAGE, prepare_key(source, size), compute, refresh)
