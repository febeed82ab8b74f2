"""Transient storage errors are retried with backoff; the stage then succeeds."""

from __future__ import annotations

from fsspec.implementations.memory import MemoryFileSystem
from fsspec.registry import register_implementation
from prefect import flow

from photostyle.core.artifacts import ArtifactStore
from photostyle.tasks.prepare import prepare_image


class FlakyFileSystem(MemoryFileSystem):
    """An in-memory filesystem whose first read of each file fails like a dropped connection."""

    protocol = "flaky"
    failed: set[str] = set()
    reads: list[str] = []

    @classmethod
    def _strip_protocol(cls, path):
        return super()._strip_protocol(path.removeprefix("flaky://"))

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        self.reads.append(path)
        if path not in self.failed:
            self.failed.add(path)
            raise ConnectionResetError(f"connection reset while reading {path}")
        return super().cat_file(path, start, end, **kwargs)


def test_a_dropped_connection_is_retried_and_the_stage_succeeds(prefect_api, samples, tmp_path, caplog):
    register_implementation("flaky", FlakyFileSystem, clobber=True)
    FlakyFileSystem().pipe_file("/retry-test/rocket.jpg", (samples / "rocket.jpg").read_bytes())

    @flow
    def prepare_flaky() -> dict:
        ref = prepare_image("flaky://retry-test/rocket.jpg", 32, ArtifactStore(str(tmp_path / "a")))
        return ref.meta

    meta = prepare_flaky()
    assert max(meta["shape"]) == 32
    assert FlakyFileSystem.reads.count("/retry-test/rocket.jpg") == 2  # failed once, then read
    assert "Retry" in caplog.text and "connection reset" in caplog.text
