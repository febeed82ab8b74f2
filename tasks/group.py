"""Stage ``group``: pair the content's regions with the style's (semantic grouping)."""

from __future__ import annotations

from prefect import get_run_logger, task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, npy_bytes, stage_key
from photostyle.core.config import GroupingConfig
from photostyle.core.regions import RegionPairs
from photostyle.core.segmentation import USER_MASK, group_pair
from photostyle.tasks.options import cached_stage
from photostyle.tasks.segment import load_segmentation

STAGE = "group"
VERSION = 4


def group_key(segments: ArtifactRef, config: GroupingConfig) -> str:
    """Key of a grouping: the segmentation's digest and the grouping settings."""
    return stage_key(STAGE, VERSION, {"segments": segments.digest}, config.model_dump(mode="json"))


@task(name="group", **cached_stage(STAGE, lambda inputs: group_key(inputs["segments"], inputs["config"])))
def group(segments: ArtifactRef, store: ArtifactStore, config: GroupingConfig, refresh: bool = False) -> ArtifactRef:
    """Paired region masks: region k of the content takes its style from region k of the style."""

    def compute() -> tuple[dict[str, bytes], dict]:
        pairs, merges = group_pair(load_segmentation(store, segments), config)
        files = {"content_masks.npy": npy_bytes(pairs.content_masks), "style_masks.npy": npy_bytes(pairs.style_masks)}
        meta = {"names": pairs.names, "unmatched": pairs.unmatched, "merges": merges}
        if pairs.soft_borders:  # only then: the user's masks keep their artifacts' digests
            meta["soft_borders"] = True
        return files, meta

    ref = store.get_or_create(STAGE, group_key(segments, config), compute, refresh)
    method = segments.meta.get("method", {})
    user_masks = segments.meta.get("source", USER_MASK) == USER_MASK and method.get("style") == USER_MASK
    if ref.meta["unmatched"] and user_masks:
        get_run_logger().warning(
            "content regions with no counterpart in the style mask take the whole style image: %s",
            ", ".join(ref.meta["unmatched"]),
        )
    return ref


def load_pairs(store: ArtifactStore, ref: ArtifactRef) -> RegionPairs:
    """The paired masks of a ``group`` reference."""
    return RegionPairs(
        store.read_array(ref, "content_masks.npy"),
        store.read_array(ref, "style_masks.npy"),
        list(ref.meta["names"]),
        list(ref.meta["unmatched"]),
        bool(ref.meta.get("soft_borders")),
    )
