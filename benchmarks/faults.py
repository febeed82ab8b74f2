"""Fault injection: a batch over a bucket (moto's S3 server on 127.0.0.1), killed at random points
and run again, round after round; after every round each photo must have exactly one output, its
sidecar, and one row in the final run's manifest, and nothing half-written may ever be visible.

Each round writes to its own output prefix: a batch is started, killed after a random time (before
90% of the shortest full batch seen) with SIGKILL or SIGINT (to its process group, as a terminal
sends Ctrl-C), then run again to the end. Rounds go on until ``--rounds`` of them were killed
mid-run. Prints one line per round and the counts.

    python benchmarks/faults.py --rounds 20
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from photostyle.flows.prefect_env import apply_prefect_defaults

apply_prefect_defaults()

import fsspec  # noqa: E402
from PIL import Image  # noqa: E402

from photostyle.core.imageio import decode_image  # noqa: E402
from photostyle.core.manifest import read_manifest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"
CORRUPT = "broken.jpg"
FINISHED = "none (finished first)"


def start_s3() -> tuple[object, dict]:
    """A moto S3 server on a free port, and fsspec options for it."""
    import logging
    import socket

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    return server, {"key": "fault", "secret": "fault-secret", "client_kwargs": {"endpoint_url": endpoint}}


def fill_bucket(options: dict, photos: int) -> tuple[fsspec.AbstractFileSystem, list[str]]:
    """A bucket with ``photos`` small photos, one corrupt one and a style reference."""
    import boto3

    boto3.client(
        "s3",
        endpoint_url=options["client_kwargs"]["endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id=options["key"],
        aws_secret_access_key=options["secret"],
    ).create_bucket(Bucket="faults")
    fs = fsspec.filesystem("s3", **options)
    source = Image.open(SAMPLES / "coffee.jpg").convert("RGB")
    names = []
    for i in range(photos):
        buf = io.BytesIO()
        source.crop((i * 20, i * 10, i * 20 + 240, i * 10 + 180)).resize((96, 72)).save(buf, "JPEG")
        names.append(f"set{i % 2}/p{i}.jpg")
        fs.pipe(f"faults/in/{names[-1]}", buf.getvalue())
    fs.pipe(f"faults/in/{CORRUPT}", buf.getvalue()[:300])
    fs.pipe("faults/style.jpg", (SAMPLES / "rocket.jpg").read_bytes())
    return fs, names


def command(output: str, options: dict, iterations: int) -> list[str]:
    return [
        *(sys.executable, "-m", "photostyle.flows.cli", "batch", "s3://faults/in"),
        *("--style", "s3://faults/style.jpg", "-o", output, "--storage-options", json.dumps(options)),
        *("--size", "64", "--iterations", str(iterations), "--device", "cpu", "--concurrency", "2"),
    ]


def visible_outputs(fs: fsspec.AbstractFileSystem, prefix: str) -> dict[str, bytes]:
    """The files under ``prefix`` a user sees (not the manifest or artifacts), with their bytes."""
    fs.invalidate_cache()
    base = prefix.removeprefix("s3://")
    paths = [p for p in fs.find(base) if "/_manifest/" not in p and "/_artifacts/" not in p]
    return {p[len(base) + 1 :]: fs.cat_file(p) for p in paths}


def check_whole(files: dict[str, bytes]) -> list[str]:
    """Problems with what is visible: every image decodes, every sidecar parses, no temp file."""
    problems = []
    for name, data in files.items():
        if name.endswith(".tmp"):
            problems.append(f"temporary file {name}")
        elif name.endswith(".json"):
            try:
                json.loads(data)
            except ValueError:
                problems.append(f"half-written sidecar {name}")
        else:
            try:
                decode_image(data, name)
            except Exception as exc:  # noqa: BLE001 - any failure is a problem to report
                problems.append(f"half-written image {name}: {exc}")
    return problems


def check_round(fs, output: str, options: dict, names: list[str]) -> tuple[list[str], dict]:
    """Problems after the completing run, and the final run's status counts."""
    files = visible_outputs(fs, output)
    problems = check_whole(files)
    expected = set(names) | {f"{n}.json" for n in names}
    if set(files) != expected:
        problems.append(f"outputs {sorted(set(files) ^ expected)} differ from one per photo")
    rows = read_manifest(output, options).to_pylist()
    last = max(rows, key=lambda r: r["timestamp"])["run_id"]
    final = [r for r in rows if r["run_id"] == last]
    inputs = [r["input_uri"].removeprefix("s3://faults/in/") for r in final]
    if sorted(inputs) != sorted([*names, CORRUPT]):
        problems.append(f"final manifest rows {sorted(inputs)} are not one per photo")
    counts: dict[str, int] = {}
    for row in final:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return problems, counts


def run_round(k: int, fs, options: dict, names: list[str], env: dict, args, full_seconds: float) -> dict:
    output = f"s3://faults/out/round-{k:02d}"
    cmd = command(output, options, args.iterations)
    delay = random.uniform(0.5, 0.9 * full_seconds)
    how = random.choice([signal.SIGKILL, signal.SIGINT])
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, how)
        killed = True
    code = proc.wait(timeout=120)
    problems = check_whole(visible_outputs(fs, output))
    written = len([n for n in visible_outputs(fs, output) if not n.endswith(".json")])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    found, counts = check_round(fs, output, options, names)
    problems += found
    if done.returncode != 1:  # the corrupt photo fails its row
        problems.append(f"completing run exited {done.returncode}: {done.stderr[-500:]}")
    return {
        "round": k,
        "kill_after_s": round(delay, 1),
        "signal": how.name if killed else FINISHED,
        "exit": code,
        "outputs_before_rerun": written,
        "final": counts,
        "problems": problems,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    random.seed(args.seed)
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    server, options = start_s3()
    try:
        with prefect_test_harness(server_startup_timeout=120):
            env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
            fs, names = fill_bucket(options, args.photos)
            start = time.monotonic()
            subprocess.run(command("s3://faults/out/timing", options, args.iterations), env=env, capture_output=True)
            full = time.monotonic() - start
            print(f"a full batch of {args.photos + 1} photos took {full:.0f} s; kills fall before 90% of the shortest")
            results: list[dict] = []
            while sum(r["signal"] != FINISHED for r in results) < args.rounds and len(results) < 2 * args.rounds:
                result = run_round(len(results), fs, options, names, env, args, full)
                results.append(result)
                if result["signal"] == FINISHED:
                    full = min(full, result["kill_after_s"])
                print(json.dumps(result), flush=True)
    finally:
        server.stop()
    bad = [r for r in results if r["problems"]]
    kills = sum(r["signal"] != FINISHED for r in results)
    print(f"{len(results)} rounds, {kills} killed mid-run, {len(bad)} with problems")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
