"""The registry of cleanups an interrupt handler runs before it forces the process to exit."""

from __future__ import annotations

import pytest

from photostyle.flows.cleanup import cleanup_on_exit, run_cleanups


def test_a_cleanup_runs_once_whether_the_block_ends_or_an_interrupt_handler_runs_it_first():
    ran: list[str] = []
    with cleanup_on_exit(lambda: ran.append("ended")):
        pass
    with pytest.raises(KeyboardInterrupt), cleanup_on_exit(lambda: ran.append("interrupted")):
        raise KeyboardInterrupt
    with cleanup_on_exit(lambda: ran.append("by the handler")):
        run_cleanups()
        run_cleanups()
    assert ran == ["ended", "interrupted", "by the handler"]


def test_run_cleanups_runs_every_pending_one_newest_first_even_when_one_raises():
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("the API is gone")

    with cleanup_on_exit(lambda: ran.append("first")), cleanup_on_exit(broken):
        with cleanup_on_exit(lambda: ran.append("last")):
            run_cleanups()
        assert ran == ["last", "first"]
    assert ran == ["last", "first"]
