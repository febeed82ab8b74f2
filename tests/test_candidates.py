"""Best of several: candidate settings, seeded start noise, and a batch that publishes the
candidate NIMA scores highest with every candidate in the sidecar and the manifest."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from pydantic import ValidationError

from conftest import settings
from photostyle.core.config import OptimizerConfig, StyleConfig
from photostyle.core.optimize import initial_image
from photostyle.core.report import candidates_markdown, chosen_candidate


def test_candidates_take_the_methods_in_turn_and_a_repeat_the_next_seed_and_start_noise():
    config = StyleConfig.model_validate(
        {"method": {"name": "dpst", "photo_weight": 7.0}, "candidates": {"count": 5, "methods": "dpst, strotss"}}
    )
    variants = config.candidate_settings()
    assert [v.method.name for v in variants] == ["dpst", "strotss", "dpst", "strotss", "dpst"]
    assert [v.optimizer.seed for v in variants] == [612, 612, 613, 613, 614]
    # dpst reads the start noise; strotss has its own start and varies with its seed alone
    assert [v.optimizer.start_noise for v in variants] == [0.0, 0.0, 8.0, 0.0, 8.0]
    assert variants[0].method == config.method and variants[0].optimizer == config.optimizer
    assert variants[2].method.photo_weight == 7.0  # this run's method keeps this run's settings
    assert all(v.candidates == config.candidates for v in variants)


def test_one_candidate_is_the_run_itself_and_without_methods_every_candidate_is_the_runs_method():
    assert StyleConfig().candidate_settings() == [StyleConfig()]
    variants = StyleConfig.model_validate({"candidates": {"count": 3}}).candidate_settings()
    assert [v.method.name for v in variants] == ["dpst"] * 3
    assert [v.optimizer.seed for v in variants] == [612, 613, 614]


def test_candidates_need_a_nima_model_and_known_methods():
    with pytest.raises(ValidationError, match="candidates.count above 1 needs a NIMA model"):
        StyleConfig.model_validate({"candidates": {"count": 2}, "scoring": {"nima_weights": "none"}})
    with pytest.raises(ValidationError, match="unknown method picasso"):
        StyleConfig.model_validate({"candidates": {"count": 2, "methods": "dpst,picasso"}})
    StyleConfig.model_validate({"candidates": {"count": 1}, "scoring": {"nima_weights": "none"}})


@pytest.mark.parametrize("init", ["content", "transfer", "noise"])
def test_start_noise_moves_the_start_by_the_seed_and_zero_leaves_it_alone(init):
    content = torch.rand(1, 3, 16, 20) * 255

    def start(**fields):
        return initial_image(content, OptimizerConfig(init=init, **fields), transfer=lambda: np.full((16, 20, 3), 0.5))

    if init != "noise":  # a deterministic start: the seed alone changes nothing
        assert torch.equal(start(), start(seed=3))
    a, b = start(start_noise=8.0), start(start_noise=8.0, seed=613)
    assert not torch.equal(a, b)
    assert torch.equal(a, start(start_noise=8.0))
    spread = (a - start()).std().item()
    assert 5.0 < spread < 9.0  # about the noise asked for (less where it clips at 0 and 255)
    assert a.min() >= 0 and a.max() <= 255


def test_the_candidates_table_marks_the_published_one():
    candidates = [
        {"index": 0, "method": "dpst", "seed": 612, "scores": {"nima_mean": 4.5}, "chosen": False},
        {"index": 1, "method": "gatys", "seed": 612, "scores": {"nima_mean": 5.25}, "chosen": True},
    ]
    table = candidates_markdown(candidates)
    assert "| 2 | gatys | 612 | 5.25 |" in table and table.count("| yes |") == 1
    assert chosen_candidate(candidates) == "2 of 2 (gatys)"
    assert candidates_markdown([]) == "" and chosen_candidate(None) == ""


def test_a_batch_publishes_the_best_candidate_and_records_every_one(prefect_api, samples, tmp_path):
    from photostyle.core.artifacts import ArtifactStore
    from photostyle.core.manifest import read_manifest
    from photostyle.flows.stylize_collection import stylize_collection

    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(samples / "chelsea.jpg").resize((72, 48)).save(folder / "cat.png")
    out = tmp_path / "out"
    batch = {
        "input_uri": str(folder),
        "style": str(samples / "rocket.jpg"),
        "output_uri": str(out),
        "config": settings(
            48, optimizer={"iterations": 3, "init": "transfer"}, candidates={"count": 3, "methods": "dpst,gatys"}
        ),
    }
    assert stylize_collection(**batch)["ok"] == 1
    [row] = read_manifest(str(out)).to_pylist()
    candidates = row["candidates"]
    assert [(c["index"], c["method"], c["seed"]) for c in candidates] == [
        (0, "dpst", 612),
        (1, "gatys", 612),
        (2, "dpst", 613),
    ]
    assert len({c["result_key"] for c in candidates}) == 3
    assert all(c["seconds"] > 0 for c in candidates)  # each optimised in this run
    means = [c["nima_mean"] for c in candidates]
    assert [c["chosen"] for c in candidates] == [m == max(means) for m in means]
    [chosen] = [c for c in candidates if c["chosen"]]
    # at the working size the published image is the chosen candidate's result, with its scores
    store = ArtifactStore(str(out / "_artifacts"))
    kept = store.read_image(store.get(chosen["result_stage"], chosen["result_key"]))
    published = np.asarray(Image.open(out / "cat.png").convert("RGB"), dtype=np.float32) / 255
    assert np.abs(kept - published).max() <= 1 / 255 + 1e-6
    assert row["nima_mean"] == pytest.approx(chosen["nima_mean"])
    assert dict(row["stage_keys"])["optimize"] == chosen["result_key"]
    # the others stay in the artifact store
    for c in candidates:
        assert c["result_stage"] == "optimize" and store.get("optimize", c["result_key"]) is not None
    assert stylize_collection(**batch)["cached"] == 1
    [again] = [r for r in read_manifest(str(out)).to_pylist() if r["status"] == "cached"]
    assert [c["result_key"] for c in again["candidates"]] == [c["result_key"] for c in candidates]
    assert all(c["seconds"] == 0 for c in again["candidates"])  # nothing computed the second time
