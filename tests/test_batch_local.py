"""The batch flow on a local folder: photos run concurrently while optimisations take turns on
the device, and temporary files an interrupted run left behind are cleaned up."""

from __future__ import annotations

import threading
import time

import pytest
from PIL import Image

import photostyle.tasks.optimize as optimize_module
import photostyle.tasks.photo as photo_module
from conftest import settings
from photostyle.flows.stylize_collection import stylize_collection


class Peak:
    """Counts how many calls of a function run at once."""

    def __init__(self, fn):
        self.fn, self.active, self.peak, self.lock = fn, 0, 0, threading.Lock()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(0.2)  # widen the window in which an overlap would show
            return self.fn(*args, **kwargs)
        finally:
            with self.lock:
                self.active -= 1


@pytest.mark.slow
def test_photos_overlap_but_optimisations_take_turns(prefect_api, samples, tmp_path, monkeypatch):
    source = Image.open(samples / "chelsea.jpg").convert("RGB")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        source.crop((i * 30, 0, 200 + i * 30, 150)).resize((80, 60)).save(folder / f"p{i}.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".p0.png.photostyle-abc123de.tmp").write_bytes(b"half a file from a killed run")
    photos = Peak(photo_module.stylize_photo)
    optimisations = Peak(optimize_module.run_method)
    monkeypatch.setattr(photo_module, "stylize_photo", photos)
    monkeypatch.setattr(optimize_module, "run_method", optimisations)

    summary = stylize_collection(
        input_uri=str(folder),
        style=str(samples / "coffee.jpg"),
        output_uri=str(out),
        config=settings(48, optimizer={"iterations": 3, "init": "transfer"}),
        concurrency=4,
    )
    assert summary["ok"] == 4 and summary["failed"] == 0
    assert photos.peak > 1  # photos ran concurrently
    assert optimisations.peak == 1  # but the device ran one optimisation at a time
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("_")) == sorted(
        [f"p{i}.png" for i in range(4)] + [f"p{i}.png.json" for i in range(4)]
    )


def test_a_batch_into_a_users_folder_removes_only_its_own_temporary_files(prefect_api, samples, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(samples / "coffee.jpg").resize((48, 32)).save(folder / "one.png")
    out = tmp_path / "out"
    (out / "keep").mkdir(parents=True)
    users = [out / ".draft.v2.tmp", out / "keep" / ".my.notes.tmp", out / ".one.png.abc123.tmp"]
    for path in users:
        path.write_bytes(b"the user's")
    stale = out / "keep" / ".one.png.photostyle-k1lled42.tmp"
    stale.write_bytes(b"half a file from a killed run")

    summary = stylize_collection(
        input_uri=str(folder),
        style=str(samples / "rocket.jpg"),
        output_uri=str(out),
        config=settings(32, optimizer={"iterations": 2, "init": "transfer"}),
    )
    assert summary["ok"] == 1
    assert all(path.read_bytes() == b"the user's" for path in users)
    assert not stale.exists()


@pytest.mark.slow
def test_photos_run_on_a_two_worker_dask_cluster(prefect_api, samples, tmp_path):
    import os

    from photostyle.core.manifest import read_manifest

    source = Image.open(samples / "rocket.jpg").convert("RGB")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        source.crop((i * 40, 0, 300 + i * 40, 200)).resize((64, 43)).save(folder / f"r{i}.jpg")
    out = tmp_path / "out"
    batch = dict(
        input_uri=str(folder),
        style=str(samples / "coffee.jpg"),
        output_uri=str(out),
        config=settings(40, optimizer={"iterations": 2, "init": "transfer"}, scoring={"nima_weights": "none"}),
        concurrency=2,
        dask_workers=2,
    )
    summary = stylize_collection(**batch)
    assert summary["ok"] == 4 and summary["failed"] == 0
    assert sorted(p.name for p in out.glob("r*.jpg")) == [f"r{i}.jpg" for i in range(4)]
    workers = {row["worker"] for row in read_manifest(str(out)).to_pylist()}
    assert len(workers) == 2 and not any(w.endswith(f":{os.getpid()}") for w in workers)
    again = stylize_collection(**batch)
    assert again["cached"] == 4  # the cache works the same across worker processes


def test_a_collection_run_publishes_a_table_and_its_progress(prefect_api, samples, tmp_path):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(samples / "coffee.jpg").resize((64, 43)).save(folder / "one.png")
    (folder / "two.jpg").write_bytes(b"\xff\xd8 broken")
    state = stylize_collection(
        input_uri=str(folder),
        style=str(samples / "rocket.jpg"),
        output_uri=str(tmp_path / "out"),
        config=settings(32, optimizer={"iterations": 2}),
        return_state=True,
    )
    assert state.is_failed()
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    by_type = {a.type: a for a in artifacts}
    assert by_type["progress"].data == 100.0
    import json

    table = json.loads(by_type["table"].data)
    assert {row["photo"].rsplit("/", 1)[-1]: row["status"] for row in table} == {"one.png": "ok", "two.jpg": "failed"}
    assert [row["error"] for row in table if row["status"] == "failed"][0].startswith(str(folder / "two.jpg"))
    assert by_type["table"].description == "2 photos: 1 ok, 0 cached, 1 failed"


def test_a_flat_result_fails_its_photo_in_one_line_unless_the_photo_is_flat(prefect_api, samples, tmp_path):
    """One iteration from the noise start keeps the start: a flat image, which is no result for a
    photo with content, and the right one for a photo of one colour."""
    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(samples / "rocket.jpg").resize((64, 43)).save(folder / "rocket.png")
    Image.new("RGB", (64, 43), (90, 120, 150)).save(folder / "grey.png")
    state = stylize_collection(
        input_uri=str(folder),
        style=str(samples / "coffee.jpg"),
        output_uri=str(tmp_path / "out"),
        config=settings(32, method="gatys", optimizer={"iterations": 1, "init": "noise", "scales": 1}),
        return_state=True,
    )
    summary = state.result(raise_on_failure=False)
    assert summary["ok"] == 1 and summary["failed"] == 1
    [(uri, error)] = summary["failures"].items()
    assert uri == str(folder / "rocket.png") and "\n" not in error
    assert error.startswith(f"{uri}: the optimised image is flat")
    assert (tmp_path / "out" / "grey.png").exists() and not (tmp_path / "out" / "rocket.png").exists()
