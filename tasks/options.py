"""Task options shared by every stage: retries with backoff for transient I/O failures only (bad
input or a bug never heals on retry), and Prefect caching keyed by the stage's artifact key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect.cache_policies import NO_CACHE

from photostyle.core.errors import PhotostyleError
from photostyle.tasks.caching import StageKey


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry storage and network errors (OSError, timeouts), never input errors or other bugs."""
    try:
        state.result(raise_on_failure=True)
    except PhotostyleError:
        return False
    except (OSError, TimeoutError):
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
    """Options of a stage task whose Prefect cache key is its artifact key."""
    return {"cache_policy": StageKey(stage=stage, key_fn=key_fn), "persist_result": True, **RETRY_OPTIONS}
