"""Task options shared by every stage: retries with backoff for transient I/O failures only (bad
input or a bug never heals on retry), and Prefect caching keyed by the stage's artifact key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect.cache_policies import NO_CACHE

from photostyle.core.errors import PhotostyleError
from photostyle.tasks.caching import StageKey


def _transient_errors() -> tuple[type[BaseException], ...]:
    """Storage and network errors: OSError and timeouts, plus the connection errors botocore and
    aiohttp raise untranslated once s3fs has given up (they are not OSErrors)."""
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


TRANSIENT_ERRORS = _transient_errors()


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry storage and network errors, never input errors or other bugs."""
    try:
        state.result(raise_on_failure=True)
    except PhotostyleError:
        return False
    except TRANSIENT_ERRORS:
        return True
    except Exception:
        return False
    return False


RETRY_OPTIONS: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": [1, 4, 16],
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": is_transient,
}

#: Tasks that are not cached by Prefect (publish, fingerprint).
STAGE_OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE, **RETRY_OPTIONS}


def cached_stage(stage: str, key_fn: Callable[[dict[str, Any]], str | None]) -> dict[str, Any]:
    """Options of a stage task whose Prefect cache key is its artifact key. Its result (a small
    ``ArtifactRef``) is stored as JSON, not a pickle: reading a cache record never runs code."""
    return {
        "cache_policy": StageKey(stage=stage, key_fn=key_fn),
        "persist_result": True,
        "result_serializer": "json",
        **RETRY_OPTIONS,
    }
