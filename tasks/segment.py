"""Stage ``segment``: a label map per image, from user masks or one whole-image region."""

from __future__ import annotations

from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, npy_bytes, sha256_hex, stage_key
from photostyle.core.imageio import read_bytes
from photostyle.core.masks import LabelMap, decode_mask, fit_mask
from photostyle.core.regions import single_region
from photostyle.tasks.options import STAGE_OPTIONS

STAGE = "segment"
VERSION = 1


def _label_map(ref: ArtifactRef, mask_uri: str | None, mask_data: bytes | None) -> tuple[LabelMap, str]:
    """The user's mask fitted to the prepared image, else a single region."""
    shape = tuple(ref.meta["shape"])
    if mask_uri is None or mask_data is None:
        return single_region(shape), "single-region"
    mask = decode_mask(mask_data, mask_uri)
    return fit_mask(mask, tuple(ref.meta["original_shape"]), shape, mask_uri), "user-mask"


@task(name="segment", **STAGE_OPTIONS)
def segment(content: ArtifactRef, style: ArtifactRef, store: ArtifactStore,
            content_mask_uri: str | None = None, style_mask_uri: str | None = None,
            storage_options: dict | None = None) -> ArtifactRef:
    """Label maps for the prepared content and style images."""
    cdata = read_bytes(content_mask_uri, storage_options) if content_mask_uri else None
    sdata = read_bytes(style_mask_uri, storage_options) if style_mask_uri else None
    inputs = {"content": content.digest, "style": style.digest,
              "content_mask": sha256_hex(cdata) if cdata is not None else None,
              "style_mask": sha256_hex(sdata) if sdata is not None else None}

    def compute() -> tuple[dict[str, bytes], dict]:
        cmap, csource = _label_map(content, content_mask_uri, cdata)
        smap, ssource = _label_map(style, style_mask_uri, sdata)
        files = {"content_labels.npy": npy_bytes(cmap.labels.astype("int32")),
                 "style_labels.npy": npy_bytes(smap.labels.astype("int32"))}
        meta = {"content_names": cmap.names, "style_names": smap.names,
                "method": {"content": csource, "style": ssource}}
        return files, meta

    return store.get_or_create(STAGE, stage_key(STAGE, VERSION, inputs), compute)


def load_label_maps(store: ArtifactStore, ref: ArtifactRef) -> tuple[LabelMap, LabelMap]:
    """The content and style label maps of a ``segment`` reference."""
    return (LabelMap(store.read_array(ref, "content_labels.npy"), list(ref.meta["content_names"])),
            LabelMap(store.read_array(ref, "style_labels.npy"), list(ref.meta["style_names"])))
