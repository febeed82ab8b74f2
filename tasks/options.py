"""Task options shared by every stage: retries with backoff for transient I/O failures only (bad
input or a bug never heals on retry), and Prefect caching keyed by the stage's artifact key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect.cache_policies import NO_CACHE

from photostyle.core.errors import PhotostyleError
from photostyle.core.filesystems import RETRY_DELAYS, RETRY_JITTER
from photostyle.core.filesystems import is_transient as is_transient_error
from photostyle.tasks.caching import StageKey


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry storage and network errors, never input errors or other bugs."""
    try:
        state.result(raise_on_failure=True)
    except PhotostyleError:
        return False
    except Exception as exc:
        return is_transient_error(exc)
    return False


RETRY_OPTIONS: dict[str, Any] = {
    "retries": len(RETRY_DELAYS),
    "retry_delay_seconds": list(RETRY_DELAYS),
    "retry_jitter_factor": RETRY_JITTER,
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
