"""The content-addressed artifact store, on a local folder and on memory://."""

import numpy as np
import pytest

from photostyle.core.artifacts import ArtifactStore, npy_bytes, npy_load, stage_key


def test_stage_key_depends_on_inputs_params_and_version():
    base = stage_key("optimize", 1, {"content": "a"}, {"iterations": 10})
    assert base == stage_key("optimize", 1, {"content": "a"}, {"iterations": 10})
    assert base != stage_key("optimize", 1, {"content": "b"}, {"iterations": 10})
    assert base != stage_key("optimize", 1, {"content": "a"}, {"iterations": 11})
    assert base != stage_key("optimize", 2, {"content": "a"}, {"iterations": 10})
    assert base != stage_key("score", 1, {"content": "a"}, {"iterations": 10})


def test_npy_bytes_is_deterministic_and_round_trips():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert npy_bytes(a) == npy_bytes(a.copy())
    assert np.array_equal(npy_load(npy_bytes(a)), a)


@pytest.mark.parametrize("root", ["local", "memory://artifact-test"])
def test_put_get_and_get_or_create(tmp_path, root):
    store = ArtifactStore(str(tmp_path / "store") if root == "local" else root)
    assert store.get("prepare", "k1") is None
    calls = []

    def compute():
        calls.append(1)
        return {"a.npy": npy_bytes(np.ones(3))}, {"shape": [3]}

    first = store.get_or_create("prepare", "k1", compute)
    again = store.get_or_create("prepare", "k1", compute)
    assert len(calls) == 1
    assert not first.cached and again.cached
    assert first.digest == again.digest and again.meta["shape"] == [3]
    assert first.seconds is not None and again.seconds == first.seconds
    assert np.array_equal(store.read_array(again, "a.npy"), np.ones(3))


def test_digest_covers_files_and_metadata_but_not_timing(tmp_path):
    store = ArtifactStore(str(tmp_path))
    a = store.put("s", "k1", {"x": b"same"}, {"names": ["red"]}, seconds=1.0)
    b = store.put("s", "k2", {"x": b"same"}, {"names": ["red"]}, seconds=2.0)
    c = store.put("s", "k3", {"x": b"same"}, {"names": ["blue"]})  # same pixels, other region names
    d = store.put("s", "k4", {"x": b"different"}, {"names": ["red"]})
    assert a.digest == b.digest
    assert len({a.digest, c.digest, d.digest}) == 3


def test_incomplete_artifact_is_not_found(tmp_path):
    store = ArtifactStore(str(tmp_path))
    (tmp_path / "s" / "k").mkdir(parents=True)
    (tmp_path / "s" / "k" / "x").write_bytes(b"partial")  # files written, no ref.json: a killed writer
    assert store.get("s", "k") is None


def test_repr_hides_storage_options():
    store = ArtifactStore("s3://bucket/prefix", {"key": "AKIASECRET", "secret": "hunter2"})
    assert "hunter2" not in repr(store) and "AKIASECRET" not in str(store.describe())


def test_a_file_changed_on_disk_is_caught_on_read_and_its_artifact_forgotten(tmp_path):
    import json
    import os

    from photostyle.core.artifacts import CorruptArtifact

    store = ArtifactStore(str(tmp_path))
    store.put("optimize", "k", {"image.npy": npy_bytes(np.ones((4, 4))), "history.json": b"[]"}, {"shape": [4, 4]})
    ref = store.get("optimize", "k")
    path = tmp_path / "optimize" / "k" / "image.npy"
    path.write_bytes(os.urandom(path.stat().st_size))  # same size, other bytes
    assert store.read(ref, "history.json") == b"[]"  # the other file is fine
    with pytest.raises(CorruptArtifact, match="optimize artifact k: image.npy does not match"):
        store.read_array(ref, "image.npy")
    assert store.get("optimize", "k") is None  # counts as missing now: the stage will recompute it
    again = store.put(
        "optimize", "k", {"image.npy": npy_bytes(np.ones((4, 4))), "history.json": b"[]"}, {"shape": [4, 4]}
    )
    assert again.digest == ref.digest and np.array_equal(store.read_array(again, "image.npy"), np.ones((4, 4)))

    (tmp_path / "optimize" / "k" / "ref.json").write_bytes(os.urandom(200))  # a damaged ref.json
    assert store.get("optimize", "k") is None
    old = {"stage": "s", "key": "old", "digest": "d", "files": ["x"], "meta": {}, "seconds": None}
    (tmp_path / "s" / "old").mkdir(parents=True)
    (tmp_path / "s" / "old" / "x").write_bytes(b"stored by 0.3")
    (tmp_path / "s" / "old" / "ref.json").write_text(json.dumps(old))  # no per-file sha256: still read
    assert store.read(store.get("s", "old"), "x") == b"stored by 0.3"
