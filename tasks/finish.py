"""Stage ``finish``: the finishing step after the optimisation (DPST's smooth local affine), cached
under its own key, so changing it never reruns the optimisation."""

from __future__ import annotations

from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, npy_bytes, stage_key
from photostyle.core.config import FinishConfig
from photostyle.core.finish import finish as finish_image
from photostyle.core.imageio import encode_image
from photostyle.tasks.optimize import RESULT_FILE, load_result
from photostyle.tasks.options import cached_stage

STAGE = "finish"
VERSION = 2


def finish_key(content: ArtifactRef, optimized: ArtifactRef, config: FinishConfig) -> str:
    """Key of a finishing: the prepared content's and the optimised image's digests, the settings."""
    inputs = {"content": content.digest, "optimized": optimized.digest}
    return stage_key(STAGE, VERSION, inputs, config.model_dump(mode="json"))


@task(name="finish", **cached_stage(STAGE, lambda i: finish_key(i["content"], i["optimized"], i["config"])))
def finish(
    content: ArtifactRef, optimized: ArtifactRef, store: ArtifactStore, config: FinishConfig, refresh: bool = False
) -> ArtifactRef:
    """The optimised image finished with the content as guide."""

    def compute() -> tuple[dict[str, bytes], dict]:
        image = finish_image(load_result(store, optimized), store.read_image(content), config)
        files = {"image.png": encode_image(image), RESULT_FILE: npy_bytes(image)}
        return files, {"shape": list(image.shape[:2])}

    return store.get_or_create(STAGE, finish_key(content, optimized, config), compute, refresh)
