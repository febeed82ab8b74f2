"""Stage ``laplacian``: the prepared content's matting Laplacian as CSR arrays."""

from __future__ import annotations

import scipy.sparse
from prefect import task

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, npy_bytes, stage_key
from photostyle.core.laplacian import laplacian_from_arrays, laplacian_to_arrays, matting_laplacian
from photostyle.tasks.options import STAGE_OPTIONS

STAGE = "laplacian"
VERSION = 1
EPS = 1e-7
RADIUS = 1


@task(name="laplacian", **STAGE_OPTIONS)
def laplacian(content: ArtifactRef, store: ArtifactStore) -> ArtifactRef:
    """Levin et al.'s matting Laplacian of the content (radius 1, eps 1e-7)."""
    params = {"eps": EPS, "radius": RADIUS}

    def compute() -> tuple[dict[str, bytes], dict]:
        matrix = matting_laplacian(store.read_image(content), eps=EPS, radius=RADIUS)
        files = {f"{name}.npy": npy_bytes(array) for name, array in laplacian_to_arrays(matrix).items()}
        return files, {"nnz": int(matrix.nnz), "size": int(matrix.shape[0])}

    return store.get_or_create(STAGE, stage_key(STAGE, VERSION, {"content": content.digest}, params), compute)


def load_laplacian(store: ArtifactStore, ref: ArtifactRef) -> scipy.sparse.csr_matrix:
    """The CSR matrix of a ``laplacian`` reference."""
    arrays = {name[:-4]: store.read_array(ref, name) for name in ref.files if name.endswith(".npy")}
    return laplacian_from_arrays(arrays)
