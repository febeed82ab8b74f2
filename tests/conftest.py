"""Shared fixtures: a real (temporary) Prefect API for flow tests, the sample photos."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from photostyle.flows.prefect_env import apply_prefect_defaults

apply_prefect_defaults()

# Prefect binds its console log handler to sys.stderr when it first sets logging up: do that now,
# while that is pytest's session-long stream, not one test's captured stream (closed after it).
from prefect.logging.configuration import setup_logging  # noqa: E402

setup_logging()

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"
#: The DPST example pairs: $PHOTOSTYLE_DPST_DATA, else ../shared/data/dpst beside the checkout.
DPST_CANDIDATES = [Path(p) for p in (os.environ.get("PHOTOSTYLE_DPST_DATA"),) if p] + [
    REPO.parent / "shared" / "data" / "dpst"
]


def settings(size: int = 64, **sections: Any):
    """Test settings: a small working size on the CPU, no finishing step and the output at the
    working size unless ``finish`` or ``upsample`` say otherwise, with the given sections as dicts
    (or a method's name), e.g. ``settings(48, optimizer={"iterations": 2})``."""
    from photostyle.core.config import StyleConfig

    plain = {"upsample": {"output_size": "working"}, "finish": {"postprocess": "none"}}
    return StyleConfig.model_validate({"size": size, "device": "cpu", **plain, **sections})


@pytest.fixture(scope="session")
def prefect_api():
    """A temporary Prefect server (SQLite) for the whole session, started by the test harness."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def dpst_data() -> Path:
    """The DPST example data (read in place, never copied); skipped, visibly, where it is absent."""
    for path in DPST_CANDIDATES:
        if (path / "segmentation").is_dir():
            return path
    pytest.skip("DPST example data not found (set PHOTOSTYLE_DPST_DATA)")


@pytest.fixture
def samples() -> Path:
    """The bundled sample photos."""
    return SAMPLES


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto) on 127.0.0.1; yields fsspec storage options for it."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield {
            "key": "photostyle-test",
            "secret": "photostyle-test-secret",
            "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1"},
        }
    finally:
        server.stop()


def make_bucket(s3_options: dict, name: str) -> None:
    """Create a bucket on the test S3 server (s3fs's mkdir sends a location moto refuses)."""
    import boto3

    boto3.client(
        "s3",
        endpoint_url=s3_options["client_kwargs"]["endpoint_url"],
        region_name="us-east-1",
        aws_access_key_id=s3_options["key"],
        aws_secret_access_key=s3_options["secret"],
    ).create_bucket(Bucket=name)


@pytest.fixture(scope="session")
def pspnet_weights(tmp_path_factory) -> tuple[Path, str]:
    """A PSPNet-50 ADE20K checkpoint with seeded random weights, saved as the authors publish
    theirs ({"state_dict": {"module.…": …}}); returns its path and sha256."""
    import hashlib

    import torch

    from photostyle.core.scene_parsing import PSPNet

    torch.manual_seed(0)
    model = PSPNet()
    for m in model.modules():  # spread the random BN statistics so that labels vary over an image
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("weights") / "train_epoch_100.pth"
    torch.save({"epoch": 100, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()
