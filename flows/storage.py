"""Where a flow's storage options come from: given ones, a Prefect Secret block, or (neither) the
environment, which fsspec/s3fs read themselves (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...)."""

from __future__ import annotations

import json

from prefect.blocks.system import Secret

from photostyle.core.errors import PhotostyleError


def resolve_storage_options(storage_options: dict | None = None, storage_block: str | None = None) -> dict:
    """Storage options merged from a Secret block (a JSON object, e.g. ``{"key": ..., "secret": ...,
    "client_kwargs": {"endpoint_url": ...}}``) and explicit options (which win)."""
    options: dict = {}
    if storage_block:
        try:
            value = Secret.load(storage_block).get()
        except ValueError as exc:
            raise PhotostyleError(f"storage block {storage_block!r}: {exc}") from None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise PhotostyleError(f"storage block {storage_block!r}: not a JSON object") from None
        if not isinstance(value, dict):
            raise PhotostyleError(f"storage block {storage_block!r}: not a JSON object")
        options.update(value)
    options.update(storage_options or {})
    return options
