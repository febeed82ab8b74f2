"""Model weights from any fsspec URI, checked against their sha256 before anything is unpickled.

Files are read whole, hashed, and only then loaded with ``torch.load(..., weights_only=True)``,
so a tampered or truncated file is refused and a loaded file can never run code.
"""

from __future__ import annotations

import hashlib
import io
import urllib.parse

import torch

from photostyle.core.errors import InputError
from photostyle.core.imageio import read_bytes


def read_verified(uri: str, sha256: str, storage_options: dict | None = None, what: str = "weights") -> bytes:
    """The bytes at ``uri``, refused (naming the file) when missing or when their sha256 differs."""
    try:
        data = read_bytes(uri, storage_options)
    except InputError as exc:
        raise InputError(
            uri, f"{what} not found ({exc.problem})" if "not found" in exc.problem.lower() else exc.problem
        ) from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256.lower():
        raise InputError(uri, f"sha256 mismatch: expected {sha256}, got {actual}")
    return data


def load_state_dict(data: bytes, uri: str) -> dict[str, torch.Tensor]:
    """A state dict from verified bytes (``weights_only``: tensors and plain containers only)."""
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch file, or one that needs pickle
        raise InputError(uri, f"not a loadable weights file ({type(exc).__name__})") from None
    if not isinstance(state, dict):
        raise InputError(uri, "not a state dict")
    return state


def parse_spec(spec: str, what: str = "weights") -> tuple[str, str]:
    """The URI and (lower-case) sha256 of a ``URI#sha256=HEX`` setting."""
    uri, _, fragment = spec.partition("#")
    digest = dict(urllib.parse.parse_qsl(fragment)).get("sha256", "")
    if not uri or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise InputError(spec, f"{what} need their sha256: give URI#sha256=<64 hex digits>")
    return uri, digest.lower()
