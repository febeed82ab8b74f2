"""The deployments in deployments/prefect.yaml on a real `prefect server start`, a process work pool
and a worker: a run created over REST the way the UI creates one completes and writes its outputs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import fsspec
import httpx
import pytest
from PIL import Image

from conftest import REPO, SAMPLES, _free_port, make_bucket
from photostyle.core.config import StyleConfig
from photostyle.core.methods import METHODS

pytestmark = pytest.mark.slow  # a real S3 server and Prefect server, many photos

PREFECT = str(Path(sys.executable).with_name("prefect"))


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real Prefect server on 127.0.0.1 (its own home and database), and the environment that
    points the prefect CLI at it."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
    }
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("prefect server did not become healthy:\n" + (home / "server.log").read_text()[-2000:])
    try:
        yield env
    finally:
        server.terminate()
        server.wait(30)


def _cli(env: dict, *args: str, timeout: int = 120) -> str:
    done = subprocess.run([PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_a_run_created_like_the_ui_does_completes_on_a_worker(prefect_server, s3_server):
    env = prefect_server
    api = env["PREFECT_API_URL"]
    make_bucket(s3_server, "studio")
    fs = fsspec.filesystem("s3", **s3_server)
    for i, name in enumerate(["a.jpg", "sub/b.png"]):
        buf = io.BytesIO()
        Image.open(SAMPLES / "chelsea.jpg").crop((i * 30, 0, 300 + i * 30, 200)).resize((60, 40)).save(
            buf, "JPEG" if name.endswith("jpg") else "PNG"
        )
        fs.pipe(f"studio/incoming/{name}", buf.getvalue())
    fs.pipe("studio/styles/rocket.jpg", (SAMPLES / "rocket.jpg").read_bytes())

    _cli(env, "work-pool", "create", "photostyle", "--type", "process")
    _cli(env, "--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml", "--name", "stylize-collection")
    deployment = httpx.get(f"{api}/deployments/name/stylize-collection/stylize-collection").json()
    openapi = deployment["parameter_openapi_schema"]
    schema = openapi["properties"]
    assert all(p.get("description") for p in schema.values())  # the UI's form explains every field
    definitions = openapi["definitions"]
    for name, definition in definitions.items():  # the settings' nested forms too
        assert all(f.get("description") or f.get("const") for f in definition["properties"].values()), name
    assert schema["config"]["default"]["size"] == StyleConfig().size  # the defaults reach the form
    methods = definitions["StyleConfig"]["properties"]["method"]["anyOf"]  # a choice between forms
    assert [definitions[m["$ref"].rsplit("/", 1)[1]]["title"] for m in methods] == list(METHODS.names())

    endpoint = {"client_kwargs": s3_server["client_kwargs"]}  # no credentials: the worker has them
    parameters = {
        "input_uri": "s3://studio/incoming",
        "style": "s3://studio/styles/rocket.jpg",
        "output_uri": "s3://studio/toned",
        "storage_options": endpoint,
        "config": {"size": 40, "device": "cpu", "optimizer": {"iterations": 2, "init": "transfer"}},
    }
    created = httpx.post(
        f"{api}/deployments/{deployment['id']}/create_flow_run",
        json={"parameters": parameters, "state": {"type": "SCHEDULED"}},
    )
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]

    worker_env = {**env, "AWS_ACCESS_KEY_ID": s3_server["key"], "AWS_SECRET_ACCESS_KEY": s3_server["secret"]}
    _cli(worker_env, "worker", "start", "--pool", "photostyle", "--run-once", timeout=420)
    run = httpx.get(f"{api}/flow_runs/{run_id}").json()
    assert run["state_type"] == "COMPLETED", json.dumps(run["state"])[:2000]
    fs.invalidate_cache()
    assert sorted(p.rsplit("/", 1)[-1] for p in fs.find("studio/toned") if "/_" not in p) == [
        "a.jpg",
        "a.jpg.json",
        "b.png",
        "b.png.json",
    ]
    assert fs.find("studio/toned/_manifest")


def test_the_nightly_deployment_takes_its_bucket_and_schedule_from_the_environment(prefect_server):
    env = {
        **prefect_server,
        "PHOTOSTYLE_NIGHTLY_INPUT": "s3://studio/incoming",
        "PHOTOSTYLE_NIGHTLY_STYLE": "s3://studio/styles/rocket.jpg",
        "PHOTOSTYLE_NIGHTLY_OUTPUT": "s3://studio/nightly",
        "PHOTOSTYLE_NIGHTLY_CRON": "30 1 * * *",
    }
    pools = httpx.post(f"{env['PREFECT_API_URL']}/work_pools/filter", json={}).json()
    if not any(p["name"] == "photostyle" for p in pools):
        _cli(env, "work-pool", "create", "photostyle", "--type", "process")
    _cli(env, "--no-prompt", "deploy", "--prefect-file", "deployments/prefect.yaml", "--name", "nightly-bucket")
    deployment = httpx.get(f"{env['PREFECT_API_URL']}/deployments/name/stylize-collection/nightly-bucket").json()
    assert deployment["parameters"]["input_uri"] == "s3://studio/incoming"
    assert deployment["parameters"]["output_uri"] == "s3://studio/nightly"
    [schedule] = deployment["schedules"]
    assert schedule["schedule"]["cron"] == "30 1 * * *" and schedule["schedule"]["timezone"] == "UTC"
    assert deployment["work_pool_name"] == "photostyle"
