"""Prefect settings photostyle needs unless the user set them: a patient ephemeral API start-up
and no analytics (this tool may run offline). Imports nothing from Prefect, so it can run first."""

from __future__ import annotations

import os

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def apply_prefect_defaults() -> None:
    """Set the defaults in the environment, leaving any value the user chose."""
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
