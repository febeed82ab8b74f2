"""Cleanups the command line owes however a run ends, also when an interrupt forces it to exit.

A run wraps what it creates for its own use (a temporary Secret block) in :func:`cleanup_on_exit`,
which undoes it when the run ends. An interrupt handler that is about to end the process without
unwinding (``os._exit``) calls :func:`run_cleanups` first. Each cleanup runs at most once.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_pending: dict[int, Callable[[], None]] = {}
_lock = threading.Lock()
_ids = itertools.count()


def _take(key: int) -> Callable[[], None] | None:
    """The cleanup registered under ``key``, unregistered; None when it has already been taken."""
    with _lock:
        return _pending.pop(key, None)


@contextmanager
def cleanup_on_exit(cleanup: Callable[[], None]) -> Iterator[None]:
    """Run ``cleanup`` when the ``with`` block ends, however it ends (return, error,
    KeyboardInterrupt). While the block runs, :func:`run_cleanups` may run it instead; it then does
    not run again. ``cleanup`` should report its own failures rather than raise them."""
    with _lock:
        key = next(_ids)
        _pending[key] = cleanup
    try:
        yield
    finally:
        pending = _take(key)
        if pending is not None:
            pending()


def run_cleanups() -> None:
    """Run every pending cleanup now, newest first: for an interrupt handler about to force the
    process to exit, which would skip the ``finally`` of :func:`cleanup_on_exit`. Safe to call
    from any thread and more than once; a cleanup that raises does not stop the others."""
    while True:
        with _lock:
            if not _pending:
                return
            cleanup = _pending.pop(max(_pending))
        with contextlib.suppress(Exception):  # the others must still run
            cleanup()
