"""Stage ``segment``: label maps of the content and the style, from the user's masks or the
configured segmenter (core/segmentation.py)."""

from __future__ import annotations

from prefect import get_run_logger, task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, npy_bytes, sha256_hex, stage_key
from photostyle.core.config import SegmentationConfig
from photostyle.core.device import resolve_device
from photostyle.core.errors import InputError
from photostyle.core.imageio import read_bytes
from photostyle.core.masks import LabelMap, decode_mask, fit_mask
from photostyle.core.segmentation import USER_MASK, Segmentation, SegmentInputs, segmenter_for
from photostyle.tasks.options import cached_stage

STAGE = "segment"
VERSION = 14


def segment_key(
    content: ArtifactRef,
    style: ArtifactRef,
    config: SegmentationConfig,
    vgg_weights: str,
    content_mask_sha256: str | None = None,
    style_mask_sha256: str | None = None,
) -> str:
    """Key of a segmentation: the prepared images' digests, the masks' content hashes, and what
    the segmenter that runs depends on (its settings, the weights' identity)."""
    inputs = {
        "content": content.digest,
        "style": style.digest,
        "content_mask": content_mask_sha256,
        "style_mask": style_mask_sha256,
    }
    spec = segmenter_for(bool(content_mask_sha256 or style_mask_sha256), config)
    return stage_key(STAGE, VERSION, inputs, {"segmenter": spec.name, **spec.key(config, vgg_weights)})


def _key(inputs: dict) -> str | None:
    for which in ("content", "style"):  # a mask without its hash: the key needs the file's bytes
        if inputs.get(f"{which}_mask_uri") and not inputs.get(f"{which}_mask_sha256"):
            return None
    return segment_key(
        inputs["content"],
        inputs["style"],
        inputs["config"],
        inputs["vgg_weights"],
        inputs.get("content_mask_sha256"),
        inputs.get("style_mask_sha256"),
    )


def _read_mask(uri: str | None, expected: str | None, storage_options: dict | None) -> tuple[bytes | None, str | None]:
    """A mask's bytes and hash, checked against the hash the key was made from."""
    if not uri:
        return None, None
    data = read_bytes(uri, storage_options)
    digest = sha256_hex(data)
    if expected is not None and digest != expected:
        raise InputError(uri, "the file changed while it was being processed; run again")
    return data, digest


def _fitted_mask(ref: ArtifactRef, uri: str | None, data: bytes | None) -> LabelMap | None:
    """The user's mask fitted to the prepared image, or None without one."""
    if uri is None or data is None:
        return None
    return fit_mask(decode_mask(data, uri), tuple(ref.meta["original_shape"]), tuple(ref.meta["shape"]), uri)


def segmentation_files(seg: Segmentation) -> tuple[dict[str, bytes], dict]:
    """A segmentation as artifact files and metadata."""
    files = {
        "content_labels.npy": npy_bytes(seg.content.labels.astype("int32")),
        "style_labels.npy": npy_bytes(seg.style.labels.astype("int32")),
    }
    if seg.similarity is not None:
        files["similarity.npy"] = npy_bytes(seg.similarity.astype("float64"))
    meta = {
        "content_names": seg.content.names,
        "style_names": seg.style.names,
        "source": seg.source,
        "labelled": seg.labelled,
        "detail": seg.detail,
        "method": {"content": seg.detail.get("content", seg.source), "style": seg.detail.get("style", seg.source)},
    }
    return files, meta


@task(name="segment", **cached_stage(STAGE, _key))
def segment(
    content: ArtifactRef,
    style: ArtifactRef,
    store: ArtifactStore,
    config: SegmentationConfig,
    vgg_weights: str,
    device: str,
    content_mask_uri: str | None = None,
    style_mask_uri: str | None = None,
    content_mask_sha256: str | None = None,
    style_mask_sha256: str | None = None,
    storage_options: dict | None = None,
    refresh: bool = False,
) -> ArtifactRef:
    """Label maps for the prepared content and style images."""
    cdata, csha = _read_mask(content_mask_uri, content_mask_sha256, storage_options)
    sdata, ssha = _read_mask(style_mask_uri, style_mask_sha256, storage_options)
    spec = segmenter_for(bool(csha or ssha), config)

    def compute() -> tuple[dict[str, bytes], dict]:
        inputs = SegmentInputs(
            content=store.read_image(content),
            style=store.read_image(style),
            vgg_weights=vgg_weights,
            device=str(resolve_device(device)),
            content_mask=_fitted_mask(content, content_mask_uri, cdata),
            style_mask=_fitted_mask(style, style_mask_uri, sdata),
            storage_options=storage_options,
        )
        seg = spec.segment(inputs, config)
        if spec.name != USER_MASK:
            get_run_logger().info("segmentation: %s, %d regions %s", seg.source, len(seg.content.names), seg.detail)
        return segmentation_files(seg)

    key = segment_key(content, style, config, vgg_weights, csha, ssha)
    return store.get_or_create(STAGE, key, compute, refresh)


def load_segmentation(store: ArtifactStore, ref: ArtifactRef) -> Segmentation:
    """The segmentation of a ``segment`` reference."""
    meta = ref.meta
    content = LabelMap(store.read_array(ref, "content_labels.npy"), list(meta["content_names"]))
    style = LabelMap(store.read_array(ref, "style_labels.npy"), list(meta["style_names"]))
    similarity = store.read_array(ref, "similarity.npy") if "similarity.npy" in ref.files else None
    return Segmentation(
        content,
        style,
        meta.get("source", USER_MASK),
        similarity,
        bool(meta.get("labelled")),
        dict(meta.get("detail") or {}),
    )
