"""Stage ``upsample``: the working-size result carried to the photo's own resolution (or the
output size asked for) by a local affine colour model, cached under its own key."""

from __future__ import annotations

from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, sha256_hex, stage_key
from photostyle.core.config import UpsampleConfig
from photostyle.core.device import resolve_device
from photostyle.core.errors import InputError
from photostyle.core.imageio import decode_at_size, encode_image, pixel_cap, read_bytes
from photostyle.core.upsample import upsample_result
from photostyle.tasks.optimize import load_result
from photostyle.tasks.options import cached_stage

STAGE = "upsample"
VERSION = 2
#: zlib level of the stored full-resolution PNG: level 1 encodes a 24 MP image in about a second
#: (level 6 takes several), for files about a third larger.
PNG_LEVEL = 1


def upsample_key(source_sha256: str, content: ArtifactRef, result: ArtifactRef, config: UpsampleConfig) -> str:
    """Key of an upsampling: the source photo's hash, the working content's and result's digests,
    the settings."""
    inputs = {"source": source_sha256, "content": content.digest, "result": result.digest}
    return stage_key(STAGE, VERSION, inputs, config.model_dump(mode="json"))


def _key(inputs: dict) -> str:
    return upsample_key(inputs["source_sha256"], inputs["content"], inputs["result"], inputs["config"])


@task(name="upsample", **cached_stage(STAGE, _key))
def upsample(
    uri: str,
    source_sha256: str,
    content: ArtifactRef,
    result: ArtifactRef,
    store: ArtifactStore,
    config: UpsampleConfig,
    device: str = "auto",
    storage_options: dict | None = None,
    refresh: bool = False,
    max_megapixels: float | None = None,
) -> ArtifactRef:
    """The result (of optimize or finish) at the output size, from the photo at ``uri``
    (``max_megapixels``: the size cap, as in prepare)."""

    def compute() -> tuple[dict[str, bytes], dict]:
        data = read_bytes(uri, storage_options)
        if sha256_hex(data) != source_sha256:
            raise InputError(uri, "the file changed while it was being processed; run again")
        size = config.output_size if isinstance(config.output_size, int) else None
        full = decode_at_size(data, uri, size, pixel_cap(max_megapixels))
        del data
        image = upsample_result(
            full,
            store.read_image(content),
            load_result(store, result),
            config.radius,
            config.eps,
            resolve_device(device),
        )
        return {"image.png": encode_image(image, png_level=PNG_LEVEL)}, {"shape": list(image.shape[:2])}

    return store.get_or_create(STAGE, upsample_key(source_sha256, content, result, config), compute, refresh)
