"""Stage ``group``: pair the content's regions with the style's (semantic grouping)."""

from __future__ import annotations

from prefect import get_run_logger, task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, npy_bytes, stage_key
from photostyle.core.regions import RegionPairs, pair_regions
from photostyle.tasks.segment import load_label_maps
from photostyle.tasks.options import cached_stage

STAGE = "group"
VERSION = 1


def group_key(segments: ArtifactRef) -> str:
    """Key of a grouping: the segmentation's digest."""
    return stage_key(STAGE, VERSION, {"segments": segments.digest})


@task(name="group", **cached_stage(STAGE, lambda inputs: group_key(inputs["segments"])))
def group(segments: ArtifactRef, store: ArtifactStore, refresh: bool = False) -> ArtifactRef:
    """Paired region masks: region k of the content takes its style from region k of the style."""

    def compute() -> tuple[dict[str, bytes], dict]:
        pairs = pair_regions(*load_label_maps(store, segments))
        files = {"content_masks.npy": npy_bytes(pairs.content_masks),
                 "style_masks.npy": npy_bytes(pairs.style_masks)}
        return files, {"names": pairs.names, "unmatched": pairs.unmatched}

    ref = store.get_or_create(STAGE, group_key(segments), compute, refresh)
    if ref.meta["unmatched"] and segments.meta["method"]["style"] != "single-region":
        get_run_logger().warning("content regions with no counterpart in the style mask take the whole "
                                 "style image: %s", ", ".join(ref.meta["unmatched"]))
    return ref


def load_pairs(store: ArtifactStore, ref: ArtifactRef) -> RegionPairs:
    """The paired masks of a ``group`` reference."""
    return RegionPairs(store.read_array(ref, "content_masks.npy"), store.read_array(ref, "style_masks.npy"),
                       list(ref.meta["names"]), list(ref.meta["unmatched"]))
