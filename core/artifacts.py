"""Content-addressed artifact store over any fsspec URL.

A stage's artifact lives at ``{root}/{stage}/{key}/``: its files, then ``ref.json`` written last,
so an artifact is complete exactly when ``ref.json`` exists (a killed writer leaves no reference).
``key`` = hash(stage, stage version, parameters, the *digests* of its inputs); ``digest`` = hash of
the artifact's own files. Downstream keys use digests, so a stage that is recomputed with the same
output does not invalidate what follows it. ``ref.json`` also holds each file's sha256, checked on
every read: a file changed on disk after it was written raises ``CorruptArtifact`` and removes
the ``ref.json``, so the artifact counts as missing and is computed again.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from photostyle.core.errors import PhotostyleError
from photostyle.core.imageio import decode_image, read_bytes, remove_file, url_to_fs, write_bytes_atomic

REF_FILE = "ref.json"
#: Where a single pair's artifacts go unless the user says otherwise (a batch keeps its own under
#: its output, in ``_artifacts/``).
DEFAULT_ARTIFACT_ROOT = ".photostyle/artifacts"
#: The stages of the DAG, in order; each writes its artifacts under ``{root}/{stage}/{key}/``.
Stage = Literal["prepare", "segment", "group", "laplacian", "optimize", "finish", "upsample", "score", "publish"]
STAGES: tuple[str, ...] = get_args(Stage)


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: object) -> bytes:
    """Deterministic JSON bytes (sorted keys, no whitespace) for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def stage_key(stage: str, version: int, inputs: dict[str, str | None], params: dict | None = None) -> str:
    """The content-addressed key of a stage run: its inputs' digests, parameters and version."""
    payload = {"stage": stage, "version": version, "inputs": inputs, "params": params or {}}
    return sha256_hex(canonical_json(payload))[:32]


def file_hashes(files: dict[str, bytes]) -> dict[str, str]:
    """The sha256 of each named file."""
    return {name: sha256_hex(data) for name, data in sorted(files.items())}


def digest_of(hashes: dict[str, str], meta: dict) -> str:
    """Digest of an artifact's content, from its files' sha256 and the metadata downstream stages
    read (both, so two artifacts that differ only in metadata never share a digest)."""
    return sha256_hex(canonical_json({"files": dict(sorted(hashes.items())), "meta": meta}))[:32]


def npy_bytes(array: np.ndarray) -> bytes:
    """Deterministic .npy encoding (np.savez embeds timestamps, so it is not used)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def npy_load(data: bytes) -> np.ndarray:
    """Decode .npy bytes without pickle."""
    return np.load(io.BytesIO(data), allow_pickle=False)


@dataclass(frozen=True)
class ArtifactRef:
    """A small, serialisable reference to a stored artifact: what tasks pass between them."""

    stage: str
    key: str
    uri: str
    digest: str
    files: tuple[str, ...]
    meta: dict = field(default_factory=dict, hash=False, compare=False)
    cached: bool = field(default=False, compare=False)
    seconds: float | None = field(default=None, compare=False)  # compute time, not content
    #: Each file's sha256, checked when it is read (empty for artifacts stored before 0.4).
    hashes: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def file_uri(self, name: str) -> str:
        """URI of one of the artifact's files."""
        return f"{self.uri}/{name}"


class CorruptArtifact(PhotostyleError):
    """A stored file whose content no longer matches the sha256 its ``ref.json`` recorded. The
    store has removed that ``ref.json``: running the stage again recomputes the artifact."""

    def __init__(self, stage: str, key: str, name: str) -> None:
        super().__init__(stage, key, name)
        self.stage, self.key, self.name = stage, key, name

    def __str__(self) -> str:
        return (
            f"{self.stage} artifact {self.key}: {self.name} does not match its recorded sha256 "
            "(changed on disk); it is discarded and will be computed again"
        )


class ArtifactStore:
    """Stage artifacts under ``root`` (a local folder or any fsspec URL)."""

    def __init__(self, root: str, storage_options: dict | None = None):
        self.root = root.rstrip("/")
        self.storage_options = storage_options or {}

    def __repr__(self) -> str:  # never print storage options: they may hold credentials
        return f"ArtifactStore({self.root!r})"

    def __getstate__(self) -> dict:
        return {"root": self.root, "storage_options": self.storage_options}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["root"], state["storage_options"])

    def _uri(self, stage: str, key: str) -> str:
        return f"{self.root}/{stage}/{key}"

    def get(self, stage: str, key: str) -> ArtifactRef | None:
        """The stored artifact for this key, or None when it does not exist (yet) or its
        ``ref.json`` cannot be parsed."""
        try:
            info = self.read_json(f"{stage}/{key}/{REF_FILE}")
        except ValueError:  # a damaged ref.json: the artifact is as good as missing
            return None
        if info is None:
            return None
        return ArtifactRef(
            stage,
            key,
            self._uri(stage, key),
            info["digest"],
            tuple(info["files"]),
            info.get("meta", {}),
            True,
            info.get("seconds"),
            hashes=info.get("sha256", {}),
        )

    def put(
        self, stage: str, key: str, files: dict[str, bytes], meta: dict | None = None, seconds: float | None = None
    ) -> ArtifactRef:
        """Store files under the key, then commit by writing ``ref.json`` last."""
        uri = self._uri(stage, key)
        meta = meta or {}
        for name, data in files.items():
            write_bytes_atomic(f"{uri}/{name}", data, self.storage_options)
        hashes = file_hashes(files)
        digest = digest_of(hashes, meta)
        info = {
            "stage": stage,
            "key": key,
            "digest": digest,
            "files": sorted(files),
            "sha256": hashes,
            "meta": meta,
            "seconds": seconds,
        }
        write_bytes_atomic(f"{uri}/{REF_FILE}", canonical_json(info), self.storage_options)
        return ArtifactRef(stage, key, uri, digest, tuple(sorted(files)), meta, False, seconds, hashes)

    def get_or_create(
        self, stage: str, key: str, compute: Callable[[], tuple[dict[str, bytes], dict]], refresh: bool = False
    ) -> ArtifactRef:
        """The artifact for ``key``, computing and storing it only when it is not stored yet
        (or always, with ``refresh``: a stage rerun overwrites what is stored).

        ``compute`` returns (files, meta); the seconds it took are recorded beside them.
        """
        found = None if refresh else self.get(stage, key)
        if found is not None:
            return found
        start = time.perf_counter()
        files, meta = compute()
        return self.put(stage, key, files, meta, round(time.perf_counter() - start, 4))

    def read(self, ref: ArtifactRef, name: str) -> bytes:
        """One file of an artifact, checked against the sha256 its ``ref.json`` recorded; a
        mismatch removes the ``ref.json`` (the artifact then counts as missing) and raises
        ``CorruptArtifact``."""
        data = read_bytes(ref.file_uri(name), self.storage_options)
        expected = ref.hashes.get(name)
        if expected is not None and sha256_hex(data) != expected:
            remove_file(f"{ref.uri}/{REF_FILE}", self.storage_options)
            raise CorruptArtifact(ref.stage, ref.key, name)
        return data

    def read_array(self, ref: ArtifactRef, name: str) -> np.ndarray:
        """An .npy file of an artifact."""
        return npy_load(self.read(ref, name))

    def read_image(self, ref: ArtifactRef, name: str = "image.png", long_side: int | None = None) -> np.ndarray:
        """An image file of an artifact, as HxWx3 float32 in [0,1]; with ``long_side``, decoded at
        reduced size for a resize to that long side. No size cap: the store's images are its own."""
        return decode_image(self.read(ref, name), ref.file_uri(name), long_side, max_pixels=sys.maxsize)

    def read_json(self, name: str) -> dict | None:
        """A small JSON record under the root (e.g. ``_sources/...``), or None when absent."""
        fs, path = url_to_fs(f"{self.root}/{name}", self.storage_options)
        try:
            return json.loads(fs.cat_file(path))
        except FileNotFoundError:
            return None

    def write_json(self, name: str, value: dict) -> None:
        """Write a small JSON record under the root, atomically."""
        write_bytes_atomic(f"{self.root}/{name}", canonical_json(value), self.storage_options)

    def describe(self) -> dict:
        """What may be shown to users: the root, never the storage options."""
        return {"root": self.root}
