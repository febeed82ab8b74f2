"""A filter for Prefect's task-run logger.

A photo that fails on its own makes its task return a Failed state carrying its manifest row
(``photo_task``); Prefect logs that state with ``exc_info=True`` although no exception is being
handled, which prints a stray "NoneType: None" under the error, as if something had crashed.
"""

from __future__ import annotations

import logging

#: The logger Prefect's task engine reports task runs' ends on.
TASK_RUN_LOGGER = "prefect.task_runs"


class NoEmptyTraceback(logging.Filter):
    """Drops a record's traceback request when there is no exception to show."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is None:
            record.exc_info = None
        return True


def quiet_empty_tracebacks(name: str = TASK_RUN_LOGGER) -> None:
    """Install ``NoEmptyTraceback`` on the logger ``name`` once (calling again does nothing)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, NoEmptyTraceback) for f in logger.filters):
        logger.addFilter(NoEmptyTraceback())
