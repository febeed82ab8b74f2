"""Credentials given to the CLI, against a real Prefect API and an S3 server (moto): kept off the
command line when read from a file, and held in a Secret block of a random name only while the
run lasts, however it ends."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import fsspec
import pytest
from PIL import Image

from conftest import SAMPLES, make_bucket
from photostyle.core.artifacts import canonical_json, sha256_hex
from photostyle.core.errors import PhotostyleError
from photostyle.flows.cleanup import run_cleanups
from photostyle.flows.cli import main
from photostyle.flows.storage import split_secrets

KEY, SECRET = "AKIACREDENTIALSTEST7", "credentials/TEST+secret/9z"
BLOCK_NAME = re.compile(r"photostyle-credentials-[0-9a-f]{32}")


@pytest.fixture(scope="module")
def photos(s3_server) -> dict:
    """A bucket with a small content photo and a style; returns storage options with test credentials."""
    make_bucket(s3_server, "creds")
    fs = fsspec.filesystem("s3", **s3_server)
    for name, source in (("content.png", "rocket.jpg"), ("style.png", "coffee.jpg")):
        with fs.open(f"creds/in/{name}", "wb") as fh:
            Image.open(SAMPLES / source).convert("RGB").resize((48, 32)).save(fh, "PNG")
    return {**s3_server, "key": KEY, "secret": SECRET}


def _stylize_argv(output: str, storage_options: str) -> list[str]:
    return [
        "stylize",
        "s3://creds/in/content.png",
        "s3://creds/in/style.png",
        "-o",
        output,
        "--storage-options",
        storage_options,
        "--size",
        "32",
        "--scales",
        "1",
        "--iterations",
        "2",
        "--device",
        "cpu",
        "--output-size",
        "working",
        "--postprocess",
        "none",
    ]


def _block_exists(name: str) -> bool:
    from prefect.blocks.system import Secret

    try:
        Secret.load(name)
    except ValueError:
        return False
    return True


def _flow_run_parameters(output: str) -> dict:
    """The parameters of the flow run that wrote ``output``, as the Prefect API stores them."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(limit=200)
    (run,) = [r for r in runs if r.parameters.get("output") == output]
    return run.parameters


def test_credentials_from_a_file_are_held_in_a_random_block_only_while_the_run_lasts(prefect_api, photos, tmp_path):
    """A real ``photostyle stylize`` process: the credentials are read from a file, so they are
    not in its command line; while it runs a Secret block holds them under a name that cannot be
    checked against a guess; when it ends the block is gone."""
    from prefect.settings import PREFECT_API_URL

    options_file = tmp_path / "s3.json"
    options_file.write_text(json.dumps(photos))
    output = "s3://creds/out/from-file.png"
    cmd = [sys.executable, "-m", "photostyle.flows.cli", *_stylize_argv(output, f"@{options_file}")]
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: set[str] = set()
    while proc.poll() is None:
        seen |= _temporary_blocks()
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes() if Path(f"/proc/{proc.pid}").exists() else b""
        assert SECRET.encode() not in cmdline and KEY.encode() not in cmdline
        time.sleep(0.2)
    stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr[-3000:]
    assert "wrote s3://creds/out/from-file.png" in stdout and "warning: credentials" not in stderr

    block = _flow_run_parameters(output)["storage_block"]
    assert BLOCK_NAME.fullmatch(block)
    assert block in seen  # it existed while the run lasted
    assert not _block_exists(block)  # and was deleted when it ended
    digest = sha256_hex(canonical_json(split_secrets(photos)[1]))
    assert digest[:8] not in block


def _temporary_blocks() -> set[str]:
    """Names of the Secret blocks the CLI makes for credentials, as the API lists them now."""
    from prefect import get_client

    with get_client(sync_client=True) as client:
        documents = client.read_block_documents()
    return {d.name for d in documents if d.name and d.name.startswith("photostyle-credentials-")}


@pytest.mark.parametrize("ending", ["error", "interrupt", "interrupt handler"])
def test_a_block_made_for_inline_credentials_is_deleted_however_the_run_ends(
    prefect_api, photos, capsys, monkeypatch, ending
):
    """The flow ends in an error, a KeyboardInterrupt, or an interrupt handler runs the pending
    cleanups (before it would force the process to exit): the block is gone each time."""
    import photostyle.flows.stylize_pair as stylize_pair_module

    blocks: list[str] = []

    def flow(**parameters):
        from prefect.blocks.system import Secret

        block = parameters["storage_block"]
        blocks.append(block)
        stored = Secret.load(block).get()
        assert (json.loads(stored) if isinstance(stored, str) else stored) == {"key": KEY, "secret": SECRET}
        assert "key" not in parameters["storage_options"]
        if ending == "error":
            raise PhotostyleError("the flow failed")
        if ending == "interrupt handler":
            run_cleanups()
            assert not _block_exists(block)
        raise KeyboardInterrupt

    monkeypatch.setattr(stylize_pair_module, "stylize_pair", flow)
    code = main(_stylize_argv("s3://creds/out/inline.png", json.dumps(photos)))
    err = capsys.readouterr().err
    assert code == (2 if ending == "error" else 130), err
    assert "warning: credentials on the command line are visible" in err
    assert "could not delete" not in err
    (block,) = blocks
    assert BLOCK_NAME.fullmatch(block) and not _block_exists(block)
