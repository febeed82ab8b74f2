"""Stage ``publish``: the final image at its destination and a JSON sidecar describing it."""

from __future__ import annotations

import datetime as dt
import json

from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore
from photostyle.core.imageio import encode_image, format_for, write_bytes_atomic
from photostyle.core.version import code_version
from photostyle.tasks.options import STAGE_OPTIONS


def sidecar_uri(output_uri: str) -> str:
    """Where the sidecar of an output image goes: next to it, ``<output>.json``."""
    return f"{output_uri}.json"


def stage_summary(refs: dict[str, ArtifactRef]) -> dict[str, dict]:
    """Key, digest, compute seconds and cache status of every stage, for the sidecar."""
    return {name: {"key": ref.key, "digest": ref.digest, "seconds": ref.seconds,
                   "cached": ref.cached, "uri": ref.uri} for name, ref in refs.items()}


@task(name="publish", **STAGE_OPTIONS)
def publish(output_uri: str, refs: dict[str, ArtifactRef], inputs: dict, params: dict,
            store: ArtifactStore, storage_options: dict | None = None) -> dict:
    """Write the stylised image in the destination's format and its sidecar; return the sidecar."""
    image = store.read_image(refs["optimize"])
    write_bytes_atomic(output_uri, encode_image(image, format_for(output_uri)), storage_options)
    sidecar = {
        "output": output_uri,
        "inputs": inputs,
        "params": params,
        "scores": refs["score"].meta.get("scores", {}),
        "stages": stage_summary(refs),
        "segmentation": refs["segment"].meta.get("method"),
        "regions": refs["group"].meta.get("names"),
        "device": refs["optimize"].meta.get("device"),
        "weights_id": refs["optimize"].meta.get("weights_id"),
        "code_version": code_version(),
        "artifact_store": store.describe(),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_bytes_atomic(sidecar_uri(output_uri), json.dumps(sidecar, indent=2).encode(), storage_options)
    return sidecar
