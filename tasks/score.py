"""Stage ``score``: quality metrics of the result: structure, photorealism and style distance
against its inputs, and NIMA's predicted quality score of the result alone."""

from __future__ import annotations

from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, canonical_json, stage_key
from photostyle.core.config import ScoringConfig
from photostyle.core.device import resolve_device
from photostyle.core.imageio import resize_to
from photostyle.core.metrics import score_all
from photostyle.core.nima import ANALYSIS_SIDE, load_nima, nima_scores, weights_setting
from photostyle.tasks.group import load_pairs
from photostyle.tasks.laplacian import load_laplacian
from photostyle.tasks.options import cached_stage

STAGE = "score"
VERSION = 5


def score_key(
    content: ArtifactRef,
    style: ArtifactRef,
    laplacian: ArtifactRef,
    output: ArtifactRef,
    config: ScoringConfig,
    regions: ArtifactRef | None = None,
) -> str:
    """Key of a scoring: the digests of everything the metrics read, and the settings."""
    inputs = {
        "content": content.digest,
        "style": style.digest,
        "laplacian": laplacian.digest,
        "output": output.digest,
        "regions": regions.digest if regions is not None else None,
    }
    settings = config.model_dump(mode="json") | {"nima_weights": weights_setting(config.nima_weights)}
    return stage_key(STAGE, VERSION, inputs, settings)


def _key(inputs: dict) -> str:
    return score_key(
        inputs["content"],
        inputs["style"],
        inputs["laplacian"],
        inputs["output"],
        inputs["config"],
        inputs.get("regions"),
    )


@task(name="score", **cached_stage(STAGE, _key))
def score(
    content: ArtifactRef,
    style: ArtifactRef,
    laplacian: ArtifactRef,
    output: ArtifactRef,
    store: ArtifactStore,
    config: ScoringConfig,
    regions: ArtifactRef | None = None,
    device: str = "cpu",
    refresh: bool = False,
) -> ArtifactRef:
    """Structure, photorealism and style distance (per paired region, when there are regions) of
    the result at the working size (a larger result is resized to it first), and its NIMA mean
    and standard deviation (the bundled model reads it at ``ANALYSIS_SIDE``)."""

    def compute() -> tuple[dict[str, bytes], dict]:
        masks = (None, None)
        if regions is not None:
            pairs = load_pairs(store, regions)
            masks = (pairs.content_masks, pairs.style_masks)
        image = store.read_image(content)
        scores = score_all(
            image,
            store.read_image(style),
            resize_to(store.read_image(output, long_side=max(image.shape[:2])), image.shape[:2]),
            load_laplacian(store, laplacian),
            *masks,
            config=config,
        ).to_dict()
        spec = weights_setting(config.nima_weights)
        if spec is not None:
            model = load_nima(spec, resolve_device(device))
            scores |= nima_scores(model, store.read_image(output, long_side=ANALYSIS_SIDE))
        return {"scores.json": canonical_json(scores)}, {"scores": scores}

    key = score_key(content, style, laplacian, output, config, regions)
    return store.get_or_create(STAGE, key, compute, refresh)
