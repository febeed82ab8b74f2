"""Shared fixtures: a real (temporary) Prefect API for flow tests, the sample photos."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples"
DPST_DATA = REPO.parent / "shared" / "data" / "dpst"


@pytest.fixture(scope="session")
def prefect_api():
    """A temporary Prefect server (SQLite) for the whole session, started by the test harness."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def samples() -> Path:
    """The bundled sample photos."""
    return SAMPLES
