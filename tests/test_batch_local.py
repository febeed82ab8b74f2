"""The batch flow on a local folder: photos run concurrently while optimisations take turns on
the device, and temporary files an interrupted run left behind are cleaned up."""

from __future__ import annotations

import threading
import time

from PIL import Image

import photostyle.tasks.optimize as optimize_module
import photostyle.tasks.photo as photo_module
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


def test_photos_overlap_but_optimisations_take_turns(prefect_api, samples, tmp_path, monkeypatch):
    source = Image.open(samples / "chelsea.jpg").convert("RGB")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        source.crop((i * 30, 0, 200 + i * 30, 150)).resize((80, 60)).save(folder / f"p{i}.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".p0.png.abc123.tmp").write_bytes(b"half a file from a killed run")
    photos = Peak(photo_module.stylize_photo)
    optimisations = Peak(optimize_module.stylize)
    monkeypatch.setattr(photo_module, "stylize_photo", photos)
    monkeypatch.setattr(optimize_module, "stylize", optimisations)

    summary = stylize_collection(input_uri=str(folder), style=str(samples / "coffee.jpg"), output_uri=str(out),
                                 size=48, iterations=3, init="transfer", device="cpu", concurrency=4)
    assert summary["ok"] == 4 and summary["failed"] == 0
    assert photos.peak > 1  # photos ran concurrently
    assert optimisations.peak == 1  # but the device ran one optimisation at a time
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith("_")) == sorted(
        [f"p{i}.png" for i in range(4)] + [f"p{i}.png.json" for i in range(4)])
