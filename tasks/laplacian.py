"""Stage ``laplacian``: the prepared content's matting Laplacian as CSR arrays."""

from __future__ import annotations

import scipy.sparse
from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, npy_bytes, stage_key
from photostyle.core.laplacian import laplacian_from_arrays, laplacian_to_arrays, matting_laplacian
from photostyle.tasks.options import cached_stage

STAGE = "laplacian"
VERSION = 1
EPS = 1e-7
RADIUS = 1


def laplacian_key(content: ArtifactRef) -> str:
    """Key of a Laplacian: the prepared content's digest and the matting parameters."""
    return stage_key(STAGE, VERSION, {"content": content.digest}, {"eps": EPS, "radius": RADIUS})


@task(name="laplacian", **cached_stage(STAGE, lambda inputs: laplacian_key(inputs["content"])))
def laplacian(content: ArtifactRef, store: ArtifactStore, refresh: bool = False) -> ArtifactRef:
    """Levin et al.'s matting Laplacian of the content (radius 1, eps 1e-7)."""

    def compute() -> tuple[dict[str, bytes], dict]:
        matrix = matting_laplacian(store.read_image(content), eps=EPS, radius=RADIUS)
        files = {f"{name}.npy": npy_bytes(array) for name, array in laplacian_to_arrays(matrix).items()}
        return files, {"nnz": int(matrix.nnz), "size": int(matrix.shape[0])}

    return store.get_or_create(STAGE, laplacian_key(content), compute, refresh)


def load_laplacian(store: ArtifactStore, ref: ArtifactRef) -> scipy.sparse.csr_matrix:
    """The CSR matrix of a ``laplacian`` reference."""
    arrays = {name[:-4]: store.read_array(ref, name) for name in ref.files if name.endswith(".npy")}
    return laplacian_from_arrays(arrays)
