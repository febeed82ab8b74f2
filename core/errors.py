"""Exceptions with one-line, user-facing messages (the CLI prints them without a traceback)."""

from __future__ import annotations


class PhotostyleError(Exception):
    """Base class of every error photostyle raises on purpose."""


class InputError(PhotostyleError, ValueError):
    """A bad input file: ``str()`` is ``"{uri}: {problem}"``, naming the file and what is wrong."""

    def __init__(self, uri: str, problem: str) -> None:
        super().__init__(uri, problem)
        self.uri = uri
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.uri}: {self.problem}"


class ResultError(PhotostyleError):
    """A run that finished without a usable result (the photo was fine, the settings did not work for it)."""
