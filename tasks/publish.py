"""Stage ``publish``: the final image at its destination and a JSON sidecar describing it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore
from photostyle.core.errors import InputError
from photostyle.core.imageio import (
    file_exists,
    format_for,
    read_bytes,
    remove_file,
    transcode_image,
    write_bytes_atomic,
)
from photostyle.core.version import code_version
from photostyle.tasks.options import STAGE_OPTIONS

#: The stages whose output a published result is: the same digests, the same result.
RESULT_STAGES = ("optimize", "finish", "upsample", "score")


def sidecar_uri(output_uri: str) -> str:
    """Where the sidecar of an output image goes: next to it, ``<output>.json``."""
    return f"{output_uri}.json"


def stage_summary(refs: dict[str, ArtifactRef]) -> dict[str, dict]:
    """Key, digest, compute seconds and cache status of every stage, for the sidecar."""
    return {
        name: {"key": ref.key, "digest": ref.digest, "seconds": ref.seconds, "cached": ref.cached, "uri": ref.uri}
        for name, ref in refs.items()
    }


def published(
    output_uri: str, refs: dict[str, ArtifactRef], params: dict, storage_options: dict | None = None
) -> dict | None:
    """The sidecar already at the destination when it describes this very result (same
    parameters, optimised image and scores) and its image is there too; else None."""
    try:
        existing = json.loads(read_bytes(sidecar_uri(output_uri), storage_options))
    except (InputError, ValueError):
        return None
    if not file_exists(output_uri, storage_options):
        return None
    stages = existing.get("stages", {})
    same = (
        existing.get("params") == params
        and set(stages) == set(refs)
        and all(stages[name].get("digest") == refs[name].digest for name in RESULT_STAGES if name in refs)
    )
    return existing if same else None


def result_stage(stages: Mapping[str, object]) -> str:
    """The stage whose image is the result, of those that ran: the last of upsample, finish and
    optimize."""
    return next(stage for stage in ("upsample", "finish", "optimize") if stage in stages)


def result_ref(refs: dict[str, ArtifactRef]) -> ArtifactRef:
    """The result's artifact among a photo's stage references."""
    return refs[result_stage(refs)]


def segmentation_summary(refs: dict[str, ArtifactRef]) -> dict | None:
    """What segmented the pair (user-mask, model, cosegment or single-region) and how its regions
    were grouped, for the sidecar and the manifest; None for a method without regions."""
    segment, group = refs.get("segment"), refs.get("group")
    if segment is None or group is None:
        return None
    method = segment.meta.get("method") or {}
    return {
        "source": segment.meta.get("source", "user-mask"),
        "content": method.get("content"),
        "style": method.get("style"),
        **(segment.meta.get("detail") or {}),
        "merges": group.meta.get("merges", {}),
    }


@task(name="publish", **STAGE_OPTIONS)
def publish(
    output_uri: str,
    refs: dict[str, ArtifactRef],
    inputs: dict,
    params: dict,
    store: ArtifactStore,
    storage_options: dict | None = None,
    refresh: bool = False,
    candidates: list[dict] | None = None,
) -> dict:
    """Write the result in the destination's format and its sidecar; return the sidecar (with
    ``published`` False when the destination already held this result and was left as is).
    ``params`` is the run's ``StyleConfig`` as JSON; ``candidates`` the summaries of the variants
    the result was chosen from, when there were several."""
    if not refresh and (existing := published(output_uri, refs, params, storage_options)):
        summary = {"inputs": inputs, "stages": stage_summary(refs), "candidates": candidates, "published": False}
        return existing | summary
    result = result_ref(refs)
    data = transcode_image(store.read(result, "image.png"), format_for(output_uri))
    # the sidecar goes first and comes back last: a run killed between the two writes leaves an
    # image without a sidecar (published again next time), never an old sidecar over a new image
    remove_file(sidecar_uri(output_uri), storage_options)
    write_bytes_atomic(output_uri, data, storage_options)
    sidecar = {
        "output": output_uri,
        "output_shape": result.meta.get("shape"),
        "inputs": inputs,
        "params": params,
        "scores": refs["score"].meta.get("scores", {}),
        "candidates": candidates,
        "stages": stage_summary(refs),
        "segmentation": segmentation_summary(refs),
        "regions": refs["group"].meta.get("names") if "group" in refs else None,
        "device": refs["optimize"].meta.get("device"),
        "weights_id": refs["optimize"].meta.get("weights_id"),
        "code_version": code_version(),
        "artifact_store": store.describe(),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_bytes_atomic(sidecar_uri(output_uri), json.dumps(sidecar, indent=2).encode(), storage_options)
    return {**sidecar, "published": True}
