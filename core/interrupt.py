"""A process-wide request to stop, so long work in worker threads ends soon after Ctrl-C.

Python delivers SIGINT to the main thread only; stages running in other threads (a batch's photos)
would carry on to the end. The command line sets the request when it is interrupted, and the long
loops (each optimisation step, each stage) check it and raise :class:`Interrupted`."""

from __future__ import annotations

import threading

_STOP = threading.Event()


class Interrupted(KeyboardInterrupt):
    """Raised in any thread once a stop has been requested: unwinds like Ctrl-C, and no
    ``except Exception`` (which records a photo as failed) catches it."""


def request_stop() -> None:
    """Ask every thread of this process to stop at its next check."""
    _STOP.set()


def stop_requested() -> bool:
    """Whether a stop has been requested."""
    return _STOP.is_set()


def check_interrupted() -> None:
    """Raise :class:`Interrupted` when a stop has been requested."""
    if _STOP.is_set():
        raise Interrupted("stop requested")


def clear_stop() -> None:
    """Forget a stop request (for a process that goes on to run something else, such as tests)."""
    _STOP.clear()
