"""Task options shared by every stage: no Prefect result caching (the artifact store is the
cache), and retries for transient I/O failures only (bad input or a bug never heals on retry)."""

from __future__ import annotations

from typing import Any

from prefect.cache_policies import NO_CACHE

from photostyle.core.errors import PhotostyleError


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


STAGE_OPTIONS: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "retries": 2,
    "retry_delay_seconds": [1, 5],
    "retry_condition_fn": is_transient,
}
