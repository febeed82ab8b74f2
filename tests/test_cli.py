"""The command line: one-line errors for bad input, and a real run."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from photostyle.flows.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_one_line_error(err: str, needle: str):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("photostyle: error:") and needle in lines[0]
    assert "Traceback" not in err


def test_missing_file(capsys, samples, tmp_path):
    missing = str(tmp_path / "nope.jpg")
    code, _, err = _run(capsys, "stylize", missing, str(samples / "coffee.jpg"), "-o", str(tmp_path / "o.png"))
    assert code == 2
    _assert_one_line_error(err, missing)


def test_not_an_image(capsys, samples, tmp_path):
    bogus = tmp_path / "notes.jpg"
    bogus.write_text("this is not a photo")
    code, _, err = _run(capsys, "stylize", str(samples / "rocket.jpg"), str(bogus), "-o", str(tmp_path / "o.png"))
    assert code == 2
    _assert_one_line_error(err, str(bogus))


def test_truncated_image(capsys, samples, tmp_path):
    cut = tmp_path / "cut.jpg"
    cut.write_bytes((samples / "rocket.jpg").read_bytes()[:5000])
    code, _, err = _run(capsys, "stylize", str(cut), str(samples / "coffee.jpg"), "-o", str(tmp_path / "o.png"))
    assert code == 2
    _assert_one_line_error(err, str(cut))


def test_mask_of_another_shape(capsys, samples, tmp_path):
    mask = tmp_path / "mask.png"
    Image.new("RGB", (100, 300), (0, 0, 255)).save(mask)
    code, _, err = _run(
        capsys,
        "stylize",
        str(samples / "rocket.jpg"),
        str(samples / "coffee.jpg"),
        "-o",
        str(tmp_path / "o.png"),
        "--content-mask",
        str(mask),
    )
    assert code == 2
    _assert_one_line_error(err, str(mask))


def test_unsupported_output_format(capsys, samples, tmp_path):
    code, _, err = _run(
        capsys, "stylize", str(samples / "rocket.jpg"), str(samples / "coffee.jpg"), "-o", str(tmp_path / "o.gifx")
    )
    assert code == 2
    _assert_one_line_error(err, "o.gifx")


def test_a_photo_over_the_pixel_cap_given_is_refused_in_one_line(capsys, samples, tmp_path):
    rocket = str(samples / "rocket.jpg")  # 512x342: 0.175 megapixels
    argv = ["stylize", rocket, str(samples / "coffee.jpg"), "-o", str(tmp_path / "o.png")]
    code, _, err = _run(capsys, *argv, "--max-megapixels", "0.1")
    assert code == 2
    _assert_one_line_error(err, f"{rocket}: image too large (512x342, over 0.1 megapixels)")
    code, _, err = _run(capsys, *argv, "--max-megapixels", "0")
    assert code == 2
    _assert_one_line_error(err, "--max-megapixels")


@pytest.mark.parametrize("command", ["stylize", "batch"])
def test_a_bad_input_fails_before_the_models_load(capsys, samples, tmp_path, command):
    from photostyle.core.vgg import load_weights

    missing = str(tmp_path / "nope.jpg")
    load_weights.cache_clear()
    if command == "stylize":
        argv = ["stylize", str(samples / "rocket.jpg"), missing, "-o", str(tmp_path / "o.png")]
    else:
        argv = ["batch", str(samples), "--style", missing, "-o", str(tmp_path / "out")]
    code, _, err = _run(capsys, *argv)
    assert code == 2
    _assert_one_line_error(err, missing)
    assert load_weights.cache_info().currsize == 0  # the VGG weights (seconds, 0.8 GB) never loaded


def test_cli_runs_dpst_with_masks(prefect_api, capsys, samples, tmp_path):
    cmask, smask = tmp_path / "cmask.png", tmp_path / "smask.png"
    for src, dst in ((samples / "rocket.jpg", cmask), (samples / "coffee.jpg", smask)):
        w, h = Image.open(src).size
        m = Image.new("RGB", (w, h), (0, 0, 255))
        m.paste((0, 255, 0), (0, h // 2, w, h))
        m.save(dst)
    out = tmp_path / "r.jpg"
    code, stdout, err = _run(
        capsys,
        "stylize",
        str(samples / "rocket.jpg"),
        str(samples / "coffee.jpg"),
        "-o",
        str(out),
        "--content-mask",
        str(cmask),
        "--style-mask",
        str(smask),
        "--size",
        "64",
        "--iterations",
        "5",
        "--init",
        "content",
        "--device",
        "cpu",
        "--artifacts",
        str(tmp_path / "a"),
    )
    assert code == 0, err
    assert f"wrote {out}" in stdout
    sidecar = json.loads((tmp_path / "r.jpg.json").read_text())
    assert sidecar["regions"] == ["blue", "green"]
    assert sidecar["segmentation"] == {
        "source": "user-mask",
        "content": "user-mask",
        "style": "user-mask",
        "merges": {},
    }
    assert Image.open(out).format == "JPEG"


def test_output_never_overwrites_an_input(capsys, samples, tmp_path):
    content = tmp_path / "c.jpg"
    content.write_bytes((samples / "rocket.jpg").read_bytes())
    before = content.read_bytes()
    code, _, err = _run(
        capsys, "stylize", str(content), str(samples / "coffee.jpg"), "-o", str(tmp_path / "." / "c.jpg")
    )
    assert code == 2
    _assert_one_line_error(err, "would overwrite the input")
    assert content.read_bytes() == before


def test_panorama_too_thin_at_this_size(capsys, samples, tmp_path):
    thin = tmp_path / "thin.png"
    Image.new("RGB", (400, 20), (10, 20, 30)).save(thin)
    code, _, err = _run(
        capsys, "stylize", str(thin), str(samples / "coffee.jpg"), "-o", str(tmp_path / "o.png"), "--size", "64"
    )
    assert code == 2
    _assert_one_line_error(err, "too small at size 64: 64x3")
    assert "a working size of at least 310 px would give it" in err  # 310 px: 310x16


def test_corrupt_weights_file(capsys, samples, tmp_path):
    import hashlib

    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    uri = f"{junk}#sha256={hashlib.sha256(junk.read_bytes()).hexdigest()}"
    code, _, err = _run(
        capsys,
        "stylize",
        str(samples / "rocket.jpg"),
        str(samples / "coffee.jpg"),
        "-o",
        str(tmp_path / "o.png"),
        "--weights",
        uri,
    )
    assert code == 2
    _assert_one_line_error(err, "not a loadable weights file")


def test_batch_of_a_missing_folder(capsys, samples, tmp_path):
    missing = str(tmp_path / "no-such-folder")
    code, _, err = _run(capsys, "batch", missing, "--style", str(samples / "coffee.jpg"), "-o", str(tmp_path / "o"))
    assert code == 2
    _assert_one_line_error(err, missing)


def test_batch_with_a_bad_style(capsys, samples, tmp_path):
    bogus = tmp_path / "style.jpg"
    bogus.write_text("not an image")
    code, _, err = _run(capsys, "batch", str(samples), "--style", str(bogus), "-o", str(tmp_path / "o"))
    assert code == 2
    _assert_one_line_error(err, str(bogus))


def test_batch_into_its_own_input_folder(capsys, samples):
    code, _, err = _run(capsys, "batch", str(samples), "--style", str(samples / "coffee.jpg"), "-o", str(samples))
    assert code == 2
    _assert_one_line_error(err, "overwrite")


def test_batch_summary_and_exit_code_with_one_bad_photo(prefect_api, capsys, samples, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.open(samples / "rocket.jpg").resize((64, 48)).save(folder / "good.png")
    (folder / "bad.jpg").write_bytes(b"\xff\xd8 nothing more")
    out = tmp_path / "out"
    common = [str(folder), "--style", str(samples / "coffee.jpg"), "-o", str(out), "--size", "48", "--iterations", "2"]
    code, stdout, _ = _run(capsys, "batch", *common, "--device", "cpu")
    assert code == 1
    assert "2 photos: 1 ok, 0 cached, 1 failed" in stdout
    assert f"failed: {folder / 'bad.jpg'}: " in stdout
    assert (out / "good.png").exists() and not (out / "bad.jpg").exists()
    code, stdout, _ = _run(capsys, "rerun", "--stage", "score", *common, "--device", "cpu", "--only", "good.png")
    assert code == 0 and "1 photos: 1 ok" in stdout


def test_rerun_whose_selection_matches_nothing(prefect_api, capsys, samples, tmp_path):
    code, _, err = _run(
        capsys,
        "rerun",
        "--stage",
        "score",
        str(samples),
        "--style",
        str(samples / "coffee.jpg"),
        "-o",
        str(tmp_path / "o"),
        "--only",
        "nothing-*.jpg",
        "--size",
        "32",
    )
    assert code == 2
    assert "photostyle: error:" in err and "no photo matches nothing-*.jpg" in err


def test_configured_segmentation_weights_that_are_missing_fail_before_the_run(capsys, samples, tmp_path):
    missing = tmp_path / "pspnet50_ade20k.pth"
    code, _, err = _run(
        capsys,
        "stylize",
        str(samples / "rocket.jpg"),
        str(samples / "coffee.jpg"),
        "-o",
        str(tmp_path / "o.png"),
        "--segmentation-weights",
        f"{missing}#sha256={'0' * 64}",
    )
    assert code == 2
    _assert_one_line_error(err, f"{missing}: segmentation weights configured but not found")
    code, _, err = _run(
        capsys,
        "stylize",
        str(samples / "rocket.jpg"),
        str(samples / "coffee.jpg"),
        "-o",
        str(tmp_path / "o.png"),
        "--segmentation-weights",
        str(missing),
    )
    assert code == 2
    _assert_one_line_error(err, "need their sha256")
    assert not (tmp_path / "o.png").exists()


def test_rerun_of_a_stage_the_settings_skip(capsys, samples, tmp_path):
    style = str(samples / "coffee.jpg")
    code, _, err = _run(capsys, "rerun", "--stage", "finish", str(samples), "--style", style, "-o", str(tmp_path / "o"),
                        "--postprocess", "none")  # fmt: skip
    assert code == 2
    _assert_one_line_error(err, "--stage finish: these settings skip that stage")
    code, _, err = _run(capsys, "rerun", "--stage", "segment", str(samples), "--style", style, "-o",
                        str(tmp_path / "o"), "--method", "gatys")  # fmt: skip
    assert code == 2
    _assert_one_line_error(err, "--stage segment")


def test_a_setting_out_of_bounds_is_one_line_naming_the_flag(capsys, samples, tmp_path):
    code, _, err = _run(capsys, "stylize", str(samples / "rocket.jpg"), str(samples / "coffee.jpg"), "-o",
                        str(tmp_path / "o.png"), "--size", "8")  # fmt: skip
    assert code == 2
    _assert_one_line_error(err, "--size: Input should be greater than or equal to 16")
    assert not (tmp_path / "o.png").exists()


def test_a_run_without_size_options_returns_the_photo_at_its_own_size(prefect_api, capsys, samples, tmp_path):
    from photostyle.core.config import StyleConfig

    out = tmp_path / "r.jpg"
    content, style = samples / "rocket.jpg", samples / "coffee.jpg"
    code, stdout, err = _run(
        capsys, "stylize", str(content), str(style), "-o", str(out), "--iterations", "2", "--device", "cpu",
        "--method", "gatys", "--artifacts", str(tmp_path / "a"),
    )  # fmt: skip
    assert code == 0, err
    assert Image.open(out).size == Image.open(content).size
    sidecar = json.loads((tmp_path / "r.jpg.json").read_text())
    assert sidecar["params"]["size"] == StyleConfig().size and "upsample" in sidecar["stages"]
    assert sidecar["output_shape"] == [Image.open(content).height, Image.open(content).width]


def test_storage_options_from_a_file_that_is_missing_or_not_a_json_object(capsys, samples, tmp_path):
    """``--storage-options @FILE`` keeps credentials off the command line; a bad file is one line
    naming it, and a JSON error never quotes the text (it may hold a secret)."""
    common = ["stylize", str(samples / "rocket.jpg"), str(samples / "coffee.jpg"), "-o", str(tmp_path / "o.png")]
    missing = tmp_path / "nope.json"
    code, _, err = _run(capsys, *common, "--storage-options", f"@{missing}")
    assert code == 2
    _assert_one_line_error(err, f"@{missing}: cannot read it")
    broken = tmp_path / "broken.json"
    broken.write_text('{"secret": "s3cr3t-value"')
    code, _, err = _run(capsys, *common, "--storage-options", f"@{broken}")
    assert code == 2
    _assert_one_line_error(err, f"{broken}: not valid JSON")
    assert "s3cr3t-value" not in err
    code, _, err = _run(capsys, *common, "--storage-options", '["s3cr3t-value"]')
    assert code == 2
    _assert_one_line_error(err, "--storage-options: not a JSON object")
    assert "s3cr3t-value" not in err
