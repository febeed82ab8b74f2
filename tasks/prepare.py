"""Stage ``prepare``: read a photo (any fsspec URL), orient, convert to RGB, resize to a long side."""

from __future__ import annotations

from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, sha256_hex, stage_key
from photostyle.core.errors import InputError
from photostyle.core.imageio import decode_image, encode_image, read_bytes, resize_long_side
from photostyle.tasks.options import STAGE_OPTIONS

STAGE = "prepare"
VERSION = 1
#: VGG-19 halves the image four times before conv5_1, so a shorter side cannot carry a style.
MIN_SIDE = 16


def check_short_side(shape: tuple[int, int], size: int, uri: str) -> None:
    """Refuse a photo whose prepared short side is too small for the network."""
    h, w = shape
    if min(h, w) < MIN_SIDE:
        raise InputError(uri, f"too small at size {size}: {w}x{h}, the short side needs at least {MIN_SIDE} px")


def prepare_key(source_sha256: str, size: int) -> str:
    """Key of a prepared image: the source file's content and the target size."""
    return stage_key(STAGE, VERSION, {"source": source_sha256}, {"size": size})


@task(name="prepare", **STAGE_OPTIONS)
def prepare_image(uri: str, size: int, store: ArtifactStore,
                  storage_options: dict | None = None) -> ArtifactRef:
    """Normalise one photo to an RGB PNG with long side ``size``; return its reference."""
    data = read_bytes(uri, storage_options)

    source = sha256_hex(data)

    def compute() -> tuple[dict[str, bytes], dict]:
        image = decode_image(data, uri)
        resized = resize_long_side(image, size)
        check_short_side(resized.shape[:2], size, uri)
        meta = {"source_sha256": source, "original_shape": list(image.shape[:2]),
                "shape": list(resized.shape[:2])}
        return {"image.png": encode_image(resized)}, meta

    return store.get_or_create(STAGE, prepare_key(source, size), compute)
