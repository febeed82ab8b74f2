"""Prefect task caching keyed by the stages' content-addressed keys.

Each stage task's Prefect cache key is its artifact key (``{stage}/{key}/prefect-result``), and
Prefect's result record is stored inside that artifact's folder in the artifact store, through
the ``ArtifactResultStorage`` block. So the record and the artifact live and die together: a
deleted artifact can never leave a Prefect cache hit pointing at nothing, and every filesystem
(local, s3://, memory://) takes the same path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import anyio
from prefect import Task
from prefect.blocks.fields import SecretDict
from prefect.cache_policies import CachePolicy
from prefect.filesystems import WritableFileSystem
from prefect.states import State
from pydantic import Field

from photostyle.core.artifacts import ArtifactRef, ArtifactStore, canonical_json, sha256_hex
from photostyle.core.imageio import read_bytes, write_bytes_atomic

RESULT_FILE = "prefect-result"
OTHER_RESULTS = "_prefect"


@dataclasses.dataclass
class StageKey(CachePolicy):
    """Cache policy: the key is the stage's artifact key, computed by ``key_fn`` from the task's
    inputs (digests and parameters, never arrays). ``key_fn`` returning None disables caching."""

    stage: str = ""
    key_fn: Callable[[dict[str, Any]], str | None] | None = None

    def compute_key(
        self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any
    ) -> str | None:
        key = self.key_fn(inputs) if self.key_fn else None
        return None if key is None else f"{self.stage}/{key}/{RESULT_FILE}"


class ArtifactResultStorage(WritableFileSystem):
    """Prefect result storage inside the photostyle artifact store (any fsspec URL)."""

    _block_type_name = "Photostyle Artifact Store"
    _description = "Where photostyle keeps Prefect's cached stage results: beside the artifacts."

    root: str = Field(description="Artifact store root, e.g. s3://bucket/out/_artifacts")
    storage_options: SecretDict = Field(
        default_factory=lambda: SecretDict({}), description="fsspec storage options (kept secret)"
    )

    def _uri(self, path: str) -> str:
        """Stage results sit in their artifact's folder; anything else Prefect stores (the records
        of failed runs, under random keys) goes to ``_prefect/`` beside the stages."""
        return f"{self.root.rstrip('/')}/{path if '/' in path else OTHER_RESULTS + '/' + path}"

    def _options(self) -> dict:
        return self.storage_options.get_secret_value()

    def read_path(self, path: str, _sync: bool | None = None) -> bytes:
        """Bytes of a stored result record (raises when absent, which Prefect reads as 'no hit')."""
        return read_bytes(self._uri(path), self._options())

    def write_path(self, path: str, content: bytes, _sync: bool | None = None) -> str:
        """Store a result record atomically."""
        write_bytes_atomic(self._uri(path), content, self._options())
        return path

    async def aread_path(self, path: str) -> bytes:
        return await anyio.to_thread.run_sync(self.read_path, path)

    async def awrite_path(self, path: str, content: bytes) -> str:
        return await anyio.to_thread.run_sync(self.write_path, path, content)


_SAVED: dict[str, ArtifactResultStorage] = {}


def result_storage_for(store: ArtifactStore) -> ArtifactResultStorage:
    """The (saved) result-storage block for an artifact store; saved once per process."""
    ident = sha256_hex(canonical_json({"root": store.root, "options": store.storage_options}))[:16]
    if ident not in _SAVED:
        block = ArtifactResultStorage(root=store.root, storage_options=store.storage_options)
        block.save(f"photostyle-results-{ident}", overwrite=True)
        _SAVED[ident] = block
    return _SAVED[ident]


def bind(task: Task, storage: ArtifactResultStorage, refresh: bool = False) -> Task:
    """The stage task with its results stored beside the artifacts (and recomputed if ``refresh``)."""
    return task.with_options(result_storage=storage, refresh_cache=refresh)


def run_stage(task: Task, *args: Any, **kwargs: Any) -> ArtifactRef:
    """Run a stage task (with its retries) and return its reference, marked ``cached`` when
    Prefect served it from cache; a failed stage raises its own exception."""
    state: State = task(*args, return_state=True, **kwargs)
    ref = state.result()
    return dataclasses.replace(ref, cached=True) if state.name == "Cached" else ref
