"""Prefect's task-run logger: a photo that fails on its own is logged without a stray empty
traceback, and a real exception keeps its traceback."""

from __future__ import annotations

import io
import logging

from photostyle.tasks.log_filters import TASK_RUN_LOGGER


def test_a_failed_photo_is_logged_without_an_empty_traceback_and_a_real_one_is_kept():
    import photostyle.tasks.photo  # noqa: F401 - defining the photo task installs the filter

    logger = logging.getLogger(TASK_RUN_LOGGER)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    # only this handler: Prefect's own (console, API) want a flow run to log into
    handlers, propagate = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [handler], False
    try:
        logger.error("Task run failed with state: Failed('a.jpg: not an image')", exc_info=True)
        try:
            raise ValueError("a real failure")
        except ValueError:
            logger.error("Task run encountered an exception", exc_info=True)
    finally:
        logger.handlers, logger.propagate = handlers, propagate
    out = stream.getvalue()
    assert "not an image" in out and "NoneType: None" not in out
    assert "Traceback" in out and "ValueError: a real failure" in out
