"""Filesystems for URLs, with bounded network waits, and which storage errors are worth retrying.

A store that accepts connections but never answers must not hang a run. S3 clients get connect
and read timeouts and make one attempt per call, so the project's own retries (three, after about
1, 4 and 16 s) are the only ones: a dead endpoint fails in about a minute instead of s3fs's and
botocore's nested retries (five times five attempts of 15 s each). Options the user gives win.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import fsspec

T = TypeVar("T")

#: Storage options every filesystem of a protocol gets unless the user sets them.
NETWORK_DEFAULTS: dict[str, dict] = {
    "s3": {"config_kwargs": {"connect_timeout": 5, "read_timeout": 10, "retries": {"total_max_attempts": 1}}},
}
NETWORK_DEFAULTS["s3a"] = NETWORK_DEFAULTS["s3"]
#: Attempts per call of a filesystem's own retry loop (s3fs's is set on the instance, not by an option).
OWN_ATTEMPTS = 1

#: Seconds before each retry of a transient storage error (each jittered by up to RETRY_JITTER).
RETRY_DELAYS: tuple[float, ...] = (1.0, 4.0, 16.0)
RETRY_JITTER = 0.5


def merge_options(base: dict, extra: dict) -> dict:
    """``base`` updated with ``extra``, merging nested dicts (``client_kwargs``) key by key."""
    merged = dict(base)
    for name, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = merge_options(merged[name], value)
        else:
            merged[name] = value
    return merged


def with_network_defaults(uri: str, storage_options: dict | None) -> dict:
    """The storage options for ``uri``: the protocol's network defaults under the given ones."""
    protocol = fsspec.core.split_protocol(uri)[0] or "file"
    return merge_options(NETWORK_DEFAULTS.get(protocol, {}), storage_options or {})


def url_to_fs(uri: str, storage_options: dict | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """fsspec's filesystem and path for ``uri``, with the network defaults and one attempt per
    call in the filesystem's own retry loop (``retries``), where it has one."""
    fs, path = fsspec.core.url_to_fs(uri, **with_network_defaults(uri, storage_options))
    if isinstance(getattr(fs, "retries", None), int):
        fs.retries = OWN_ATTEMPTS
    return fs, path


def _transient_errors() -> tuple[type[BaseException], ...]:
    """Storage and network errors: OSError and timeouts, plus the connection and timeout errors
    botocore and aiohttp raise untranslated once s3fs has given up (they are not OSErrors)."""
    errors: list[type[BaseException]] = [OSError, TimeoutError]
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError

        errors += [BotoConnectionError, HTTPClientError]
    except ImportError:
        pass
    try:
        from aiohttp import ClientError

        errors.append(ClientError)
    except ImportError:
        pass
    return tuple(errors)


#: The errors a retry may heal.
TRANSIENT_ERRORS = _transient_errors()


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a storage or network error (a file that is missing is not: retrying
    does not make it appear)."""
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(
        exc, FileNotFoundError | IsADirectoryError | NotADirectoryError | PermissionError
    )


def retrying(call: Callable[[], T], on_retry: Callable[[BaseException, float], None] | None = None) -> T:
    """``call()``, retried after each of RETRY_DELAYS (jittered) while it fails with a transient
    storage error; ``on_retry(error, seconds)`` is told before each wait. The last error is raised."""
    for delay in (*RETRY_DELAYS, None):
        try:
            return call()
        except Exception as exc:
            if delay is None or not is_transient(exc):
                raise
            wait = delay * (1 + random.uniform(-RETRY_JITTER, RETRY_JITTER))
            if on_retry is not None:
                on_retry(exc, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")
