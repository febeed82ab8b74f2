"""Stage ``optimize``: the GPU (or CPU) optimisation of the output pixels."""

from __future__ import annotations

from prefect import get_run_logger, task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, canonical_json, stage_key
from photostyle.core.imageio import encode_image
from photostyle.core.stylize import Progress, StyleParams, stylize
from photostyle.core.vgg import load_weights
from photostyle.tasks.group import load_pairs
from photostyle.tasks.laplacian import load_laplacian
from photostyle.tasks.options import STAGE_OPTIONS

STAGE = "optimize"
VERSION = 1
#: How many progress lines a stage logs (plus its first and last iteration).
PROGRESS_LINES = 20


def optimize_key(content: ArtifactRef, style: ArtifactRef, regions: ArtifactRef,
                 laplacian: ArtifactRef | None, params: StyleParams) -> str:
    """Key of an optimisation: its inputs' digests, the parameters and the VGG weights' identity."""
    inputs = {"content": content.digest, "style": style.digest, "regions": regions.digest,
              "laplacian": laplacian.digest if laplacian is not None else None,
              "weights": load_weights(params.weights).weights_id}
    return stage_key(STAGE, VERSION, inputs, params.to_dict())


def _progress_logger(total: int):
    """A callback that logs a bounded number of progress lines per stage."""
    logger = get_run_logger()
    every = max(1, total // PROGRESS_LINES)

    def report(p: Progress) -> None:
        if p.iteration == 1 or p.iteration % every == 0 or p.iteration == p.total:
            terms = " ".join(f"{k}={v:.4g}" for k, v in p.terms.items())
            logger.info("%s %d/%d loss=%.6g %s", p.stage, p.iteration, p.total, p.loss, terms)

    return report


@task(name="optimize", tags=["photostyle-optimize"], **STAGE_OPTIONS)
def optimize(content: ArtifactRef, style: ArtifactRef, regions: ArtifactRef,
             laplacian: ArtifactRef | None, params: dict, store: ArtifactStore,
             device: str = "auto") -> ArtifactRef:
    """Stylise the prepared content like the style; store the image and its loss history."""
    style_params = StyleParams.from_dict(params)
    needs_laplacian = style_params.method == "dpst"
    lap_ref = laplacian if needs_laplacian else None
    key = optimize_key(content, style, regions, lap_ref, style_params)

    def compute() -> tuple[dict[str, bytes], dict]:
        pairs = load_pairs(store, regions)
        result = stylize(
            store.read_image(content), store.read_image(style), style_params,
            content_masks=pairs.content_masks, style_masks=pairs.style_masks,
            laplacian=load_laplacian(store, lap_ref) if lap_ref is not None else None,
            device=device, progress=_progress_logger(style_params.iterations))
        files = {"image.png": encode_image(result.image), "history.json": canonical_json(result.history)}
        meta = {"device": result.device, "weights_id": load_weights(style_params.weights).weights_id,
                "final_loss": result.history[-1]["loss"] if result.history else None,
                "iterations": len(result.history)}
        return files, meta

    return store.get_or_create(STAGE, key, compute)
