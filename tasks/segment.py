"""Stage ``segment``: a label map per image, from user masks or one whole-image region."""

from __future__ import annotations

from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, npy_bytes, sha256_hex, stage_key
from photostyle.core.imageio import read_bytes
from photostyle.core.masks import LabelMap, decode_mask, fit_mask
from photostyle.core.regions import single_region
from photostyle.core.errors import InputError
from photostyle.tasks.options import cached_stage

STAGE = "segment"
VERSION = 1


def _label_map(ref: ArtifactRef, mask_uri: str | None, mask_data: bytes | None) -> tuple[LabelMap, str]:
    """The user's mask fitted to the prepared image, else a single region."""
    shape = tuple(ref.meta["shape"])
    if mask_uri is None or mask_data is None:
        return single_region(shape), "single-region"
    mask = decode_mask(mask_data, mask_uri)
    return fit_mask(mask, tuple(ref.meta["original_shape"]), shape, mask_uri), "user-mask"


def segment_key(content: ArtifactRef, style: ArtifactRef, content_mask_sha256: str | None,
                style_mask_sha256: str | None) -> str:
    """Key of a segmentation: the prepared images' digests and the masks' content hashes."""
    inputs = {"content": content.digest, "style": style.digest,
              "content_mask": content_mask_sha256, "style_mask": style_mask_sha256}
    return stage_key(STAGE, VERSION, inputs)


def _key(inputs: dict) -> str | None:
    for which in ("content", "style"):  # a mask without its hash: the key needs the file's bytes
        if inputs.get(f"{which}_mask_uri") and not inputs.get(f"{which}_mask_sha256"):
            return None
    return segment_key(inputs["content"], inputs["style"], inputs.get("content_mask_sha256"),
                       inputs.get("style_mask_sha256"))


def _read_mask(uri: str | None, expected: str | None, storage_options: dict | None) -> tuple[bytes | None, str | None]:
    """A mask's bytes and hash, checked against the hash the key was made from."""
    if not uri:
        return None, None
    data = read_bytes(uri, storage_options)
    digest = sha256_hex(data)
    if expected is not None and digest != expected:
        raise InputError(uri, "the file changed while it was being processed; run again")
    return data, digest


@task(name="segment", **cached_stage(STAGE, _key))
def segment(content: ArtifactRef, style: ArtifactRef, store: ArtifactStore,
            content_mask_uri: str | None = None, style_mask_uri: str | None = None,
            storage_options: dict | None = None, content_mask_sha256: str | None = None,
            style_mask_sha256: str | None = None, refresh: bool = False) -> ArtifactRef:
    """Label maps for the prepared content and style images."""
    cdata, csha = _read_mask(content_mask_uri, content_mask_sha256, storage_options)
    sdata, ssha = _read_mask(style_mask_uri, style_mask_sha256, storage_options)

    def compute() -> tuple[dict[str, bytes], dict]:
        cmap, csource = _label_map(content, content_mask_uri, cdata)
        smap, ssource = _label_map(style, style_mask_uri, sdata)
        files = {"content_labels.npy": npy_bytes(cmap.labels.astype("int32")),
                 "style_labels.npy": npy_bytes(smap.labels.astype("int32"))}
        meta = {"content_names": cmap.names, "style_names": smap.names,
                "method": {"content": csource, "style": ssource}}
        return files, meta

    return store.get_or_create(STAGE, segment_key(content, style, csha, ssha), compute, refresh)


def load_label_maps(store: ArtifactStore, ref: ArtifactRef) -> tuple[LabelMap, LabelMap]:
    """The content and style label maps of a ``segment`` reference."""
    return (LabelMap(store.read_array(ref, "content_labels.npy"), list(ref.meta["content_names"])),
            LabelMap(store.read_array(ref, "style_labels.npy"), list(ref.meta["style_names"])))
