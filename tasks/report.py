"""Prefect artifacts the UI shows: a pair's images and scores, a collection's table and progress."""

from __future__ import annotations

import re
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from photostyle.core.artifacts import ArtifactStore
from photostyle.core.report import collection_rows, pair_markdown
from photostyle.tasks.publish import result_stage


def artifact_key(prefix: str, uri: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) naming where results go, so
    the UI groups the runs that wrote the same place."""
    slug = re.sub(r"[^a-z0-9]+", "-", uri.lower().rsplit("://", 1)[-1]).strip("-")
    return f"{prefix}-{slug[-60:]}".rstrip("-")


def _image(store: ArtifactStore, stage: str, entry: dict):
    ref = store.get(stage, entry["key"])
    return store.read_image(ref) if ref is not None else None


def report_pair(sidecar: dict, store: ArtifactStore) -> UUID:
    """A Markdown artifact with the content, style and result as thumbnails, and the scores."""
    stages = sidecar["stages"]
    result = result_stage(stages)
    images = {
        "content": _image(store, "prepare", stages["prepare_content"]),
        "style": _image(store, "prepare", stages["prepare_style"]),
        "result": _image(store, result, stages[result]),
    }
    images = {name: img for name, img in images.items() if img is not None}
    params = sidecar["params"]
    facts = {
        "output": sidecar["output"],
        "method": params["method"]["name"],
        "size": str(sidecar["inputs"].get("size")),
        "iterations": str(params["optimizer"]["iterations"]),
        "device": str(sidecar.get("device")),
        "stages computed": ", ".join(n for n, s in stages.items() if not s["cached"]) or "none (all cached)",
    }
    markdown = pair_markdown(
        sidecar["output"].rsplit("/", 1)[-1], images, sidecar.get("scores") or {}, facts, sidecar.get("candidates")
    )
    return create_markdown_artifact(
        markdown,
        key=artifact_key("photostyle-pair", sidecar["output"]),
        description=f"{sidecar['inputs']['content']} like {sidecar['inputs']['style']}",
    )


class CollectionReport:
    """A progress artifact updated as photos finish, and a table of every photo at the end."""

    def __init__(self, output_uri: str, total: int):
        self.output_uri, self.total, self.done = output_uri, total, 0
        self.rows: list[dict] = []
        self.progress_id = create_progress_artifact(
            0.0, key=artifact_key("photostyle-progress", output_uri), description=f"{total} photos -> {output_uri}"
        )

    def photo_done(self) -> None:
        """Advance the progress artifact by one photo."""
        self.done += 1
        update_progress_artifact(
            self.progress_id,
            100.0 * self.done / max(self.total, 1),
            description=f"{self.done} of {self.total} photos -> {self.output_uri}",
        )

    def table(self, rows: list[dict], summary: str) -> UUID:
        """The table artifact: one row per photo (status, scores, output, error)."""
        return create_table_artifact(
            collection_rows(rows), key=artifact_key("photostyle-batch", self.output_uri), description=summary
        )
