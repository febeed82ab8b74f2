"""Flow ``stylize-pair``: one content/style pair through the stages of the DAG.

prepare -> segment -> group -> laplacian -> optimize -> finish -> score -> publish (``laplacian``
depends only on the prepared content; segment and group run for methods that use regions, finish
when the finishing step changes the image). Each stage is cached by its content-addressed key.
"""

from __future__ import annotations

from prefect import flow

from photostyle.core.artifacts import DEFAULT_ARTIFACT_ROOT, ArtifactStore
from photostyle.core.config import StyleConfig
from photostyle.core.imageio import check_not_an_input
from photostyle.flows.scoring import resolve_models
from photostyle.flows.storage import resolve_storage_options
from photostyle.tasks.caching import result_storage_for
from photostyle.tasks.photo import Run, prepare_style, stylize_photo
from photostyle.tasks.report import report_pair


@flow(name="stylize-pair", log_prints=True)
def stylize_pair(
    content: str,
    style: str,
    output: str,
    content_mask: str | None = None,
    style_mask: str | None = None,
    config: StyleConfig = StyleConfig(),  # noqa: B008 - frozen, so a shared default is safe
    artifact_root: str = DEFAULT_ARTIFACT_ROOT,
    storage_options: dict | None = None,
    storage_block: str | None = None,
) -> dict:
    """Re-tone the photo ``content`` like ``style``; write ``output`` and ``output``.json.

    Inputs and outputs are fsspec URLs (local paths, s3://...). Masks are DPST 9-colour masks or
    integer label PNGs at the photos' resolution. The settings' defaults are DPST's reference
    settings (700 px, 1000 L-BFGS iterations per stage, from noise).

    Args:
        content: The photo to re-tone (a path or URL: s3://bucket/photo.jpg).
        style: The style reference photo.
        output: Where the result goes; its extension picks the format (.jpg, .png, .webp, .tif).
        content_mask: Region mask of the content (DPST colours or integer labels), optional.
        style_mask: Region mask of the style, optional.
        config: The settings: working size, method and its weights, optimiser, segmentation,
            finishing and scoring.
        artifact_root: Where stage artifacts are cached (a folder or URL).
        storage_options: fsspec options without credentials, e.g. {"client_kwargs":
            {"endpoint_url": "http://minio:9000"}}. Credentials here are refused.
        storage_block: Name of a Prefect Secret block holding storage options (credentials
            included) as a JSON object.
    """
    options = resolve_storage_options(storage_options, storage_block)
    check_not_an_input(output, [content, style, content_mask, style_mask], options)
    store = ArtifactStore(artifact_root, options)
    run = Run(store, result_storage_for(store), resolve_models(config, options), options)
    sidecar = stylize_photo(run, content, output, prepare_style(run, style, style_mask), content_mask)
    report_pair(sidecar, store)
    return sidecar
