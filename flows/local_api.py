"""The temporary Prefect API a command starts when none is configured, out of reach of Ctrl-C.

Prefect starts its temporary server as a child in the command's process group, so the terminal's
Ctrl-C stopped the server at once and the run could never be recorded as crashed. This one is the
same server (Prefect's ``SubprocessASGIServer``) in a process group of its own, which the
command stops when it exits; on Linux the kernel also stops it when the command dies (even by
SIGKILL), so it never outlives the command."""

from __future__ import annotations

import ctypes
import functools
import subprocess
import sys
from typing import Any
from unittest import mock

from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

_PR_SET_PDEATHSIG = 1
_SIGTERM = 15


def _die_with_parent() -> None:
    """In the child before exec: ask for SIGTERM when the parent dies (Linux only)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, _SIGTERM)


class _OwnGroupServer(SubprocessASGIServer):
    """Prefect's temporary server, started in its own process group."""

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        popen = functools.partial(subprocess.Popen, process_group=0, preexec_fn=_die_with_parent)
        with mock.patch.object(subprocess, "Popen", popen):
            return super()._run_uvicorn_command()


def start_local_api() -> str | None:
    """Start the temporary server now, from the main thread (the one whose death stops it), when
    Prefect would start one itself (no API URL configured); Prefect's clients then use it, since
    Prefect keeps one temporary server per process. Its address, or None when an API is configured."""
    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    server = _OwnGroupServer()
    if not isinstance(server, _OwnGroupServer):  # Prefect's own started first
        return server.api_url
    server.start()
    return server.api_url
