"""Faults a user meets at the command line, against the real parts: Ctrl-C during a batch over a
bucket (a real ``photostyle batch`` with its own temporary Prefect API, SIGINT to its process group
as a terminal sends it; S3 on moto), and a storage endpoint that accepts connections but never
answers."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import fsspec
import pytest
from PIL import Image

from conftest import make_bucket
from photostyle.core.manifest import read_manifest

pytestmark = pytest.mark.slow


def _cli_env(home: Path) -> dict[str, str]:
    """The environment of a command run by a user with no Prefect server configured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return {**env, "PREFECT_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def _photo_bucket(s3_options: dict, samples: Path, count: int) -> fsspec.AbstractFileSystem:
    """A bucket ``ctrlc`` with ``count`` small photos under in/ and the style reference."""
    make_bucket(s3_options, "ctrlc")
    fs = fsspec.filesystem("s3", **s3_options)
    source = Image.open(samples / "chelsea.jpg").convert("RGB")
    for i in range(count):
        buf = io.BytesIO()
        source.crop((i * 25, 0, i * 25 + 200, 150)).resize((80, 60)).save(buf, "JPEG")
        fs.pipe(f"ctrlc/in/p{i}.jpg", buf.getvalue())
    fs.pipe("ctrlc/style.jpg", (samples / "rocket.jpg").read_bytes())
    return fs


#: Enough L-BFGS iterations that the signal lands mid-optimisation, few enough that the rerun is quick.
ITERATIONS = 40


def _batch_command(s3_options: dict) -> list[str]:
    """A batch over the bucket with the credentials given inline, as a hurried user would."""
    return [
        *(sys.executable, "-m", "photostyle.flows.cli", "batch", "s3://ctrlc/in", "--style", "s3://ctrlc/style.jpg"),
        *("-o", "s3://ctrlc/out", "--storage-options", json.dumps(s3_options), "--size", "64"),
        *("--iterations", str(ITERATIONS), "--tolerance", "0", "--postprocess", "none", "--device", "cpu"),
        *("--concurrency", "2", "--nima-weights", "none"),
    ]


def _wait_for(log: Path, pattern: str, proc: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if re.search(pattern, log.read_text(errors="replace")):
            return
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never appeared:\n{log.read_text(errors='replace')[-3000:]}")


def _flow_run_states(home: Path) -> list[str]:
    with sqlite3.connect(home / "prefect.db") as db:
        return [row[0] for row in db.execute("select state_type from flow_run")]


def _credential_blocks(home: Path) -> list[str]:
    with sqlite3.connect(home / "prefect.db") as db:
        return [row[0] for row in db.execute("select name from block_document where name like 'photostyle-cred%'")]


def _refused(url: str) -> bool:
    host, port = re.match(r"http://([\d.]+):(\d+)", url).groups()
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return True
    return False


def test_ctrl_c_stops_a_batch_within_seconds_and_a_rerun_finishes_it(samples, tmp_path, s3_server):
    fs = _photo_bucket(s3_server, samples, 4)
    home, log_path = tmp_path / "prefect-home", tmp_path / "batch.log"
    command, env = _batch_command(s3_server), _cli_env(home)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_for(log_path, rf"Task run 'optimize-\w+' - \S+ \d+/{ITERATIONS}\b", proc, 300)
            assert len(_credential_blocks(home)) == 1  # the credentials, held for the run
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
            start = time.monotonic()
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    stopped_after = time.monotonic() - start
    output = log_path.read_text(errors="replace")
    assert code == 130, output[-3000:]
    assert "photostyle: interrupted" in output and "Traceback" not in output
    assert stopped_after < 20, f"stopped {stopped_after:.1f} s after the signal"  # it used to run on for minutes
    assert _flow_run_states(home) == ["CRASHED"]  # recorded, because the API outlived the signal
    server = re.search(r"Starting temporary server on (http://\S+)", output).group(1)
    assert _refused(server)  # and was stopped with the command
    assert f"/{ITERATIONS} " not in output[output.index("photostyle: interrupted") :]  # no stage ran on after it
    assert _credential_blocks(home) == []  # deleted on the way out

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "4 photos:" in done.stdout
    fs.invalidate_cache()
    assert sorted(p.rsplit("/", 1)[1] for p in fs.glob("ctrlc/out/p*.jpg")) == [f"p{i}.jpg" for i in range(4)]
    rows = read_manifest("s3://ctrlc/out", s3_server).to_pylist()
    last = max(rows, key=lambda r: r["timestamp"])["run_id"]
    assert len([r for r in rows if r["run_id"] == last]) == 4
    assert sorted(_flow_run_states(home)) == ["COMPLETED", "CRASHED"]


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


def test_a_storage_endpoint_that_never_answers_fails_in_one_line_after_the_retries(samples, tmp_path):
    server = SilentServer()
    endpoint = f"http://127.0.0.1:{server.port}"
    env = {**_cli_env(tmp_path / "home"), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    cli = [sys.executable, "-m", "photostyle.flows.cli"]
    stylize = [*cli, "stylize", "s3://photos/a.jpg", str(samples / "rocket.jpg"), "-o", str(tmp_path / "a.png")]
    stylize += ["--storage-options", json.dumps({"client_kwargs": {"endpoint_url": endpoint}})]
    # a batch whose options shorten the read timeout: the user's options win over the defaults
    quick = {"client_kwargs": {"endpoint_url": endpoint}, "config_kwargs": {"read_timeout": 1}}
    batch = [*cli, "batch", "s3://photos/in", "--style", "s3://photos/style.jpg", "-o", str(tmp_path / "out")]
    batch += ["--storage-options", json.dumps(quick)]
    try:
        start = time.monotonic()
        runs = [
            subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for c in (stylize, batch)
        ]
        ended: dict[int, float] = {}
        while len(ended) < len(runs) and time.monotonic() - start < 180:
            ended.update(
                {i: time.monotonic() - start for i, p in enumerate(runs) if i not in ended and p.poll() is not None}
            )
            time.sleep(0.2)
        results = [(p.wait(timeout=5), *p.communicate(), ended[i]) for i, p in enumerate(runs)]
    finally:
        server.close()
        for proc in runs:
            proc.kill()
    for (code, _out, err, seconds), url in zip(results, ("photos/a.jpg", "photos/style.jpg"), strict=True):
        assert code == 2, err[-3000:]
        assert "Traceback" not in err
        errors = [line for line in err.splitlines() if line.startswith("photostyle: error:")]
        assert len(errors) == 1 and "storage unreachable" in errors[0] and f"{endpoint}/{url}" in errors[0], err
        assert err.count("retrying in") == 3  # the documented retries, told as they happen
        assert seconds < 150, f"{seconds:.0f} s"  # s3fs's and botocore's own retries took many minutes
    assert results[1][3] < results[0][3]  # a one-second read timeout gave up sooner
