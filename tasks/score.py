"""Stage ``score``: quality metrics of the output (NIMA slot left empty until its model exists)."""

from __future__ import annotations

from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, canonical_json, stage_key
from photostyle.core.metrics import score_all
from photostyle.tasks.group import load_pairs
from photostyle.tasks.laplacian import load_laplacian
from photostyle.tasks.options import cached_stage

STAGE = "score"
VERSION = 1


def score_key(content: ArtifactRef, style: ArtifactRef, regions: ArtifactRef, laplacian: ArtifactRef,
              output: ArtifactRef) -> str:
    """Key of a scoring: the digests of everything the metrics read."""
    inputs = {"content": content.digest, "style": style.digest, "regions": regions.digest,
              "laplacian": laplacian.digest, "output": output.digest}
    return stage_key(STAGE, VERSION, inputs)


def _key(inputs: dict) -> str:
    return score_key(*(inputs[name] for name in ("content", "style", "regions", "laplacian", "output")))


@task(name="score", **cached_stage(STAGE, _key))
def score(content: ArtifactRef, style: ArtifactRef, regions: ArtifactRef, laplacian: ArtifactRef,
          output: ArtifactRef, store: ArtifactStore, refresh: bool = False) -> ArtifactRef:
    """Structure, photorealism and per-region style distance of the stylised image."""

    def compute() -> tuple[dict[str, bytes], dict]:
        pairs = load_pairs(store, regions)
        scores = score_all(store.read_image(content), store.read_image(style),
                           store.read_image(output), load_laplacian(store, laplacian),
                           pairs.content_masks, pairs.style_masks).to_dict()
        return {"scores.json": canonical_json(scores)}, {"scores": scores}

    return store.get_or_create(STAGE, score_key(content, style, regions, laplacian, output), compute, refresh)
