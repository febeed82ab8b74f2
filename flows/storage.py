"""Where a flow's storage options come from, keeping credentials out of flow parameters.

Flow parameters are stored by the Prefect API with the run, in plain text, so the flows accept only
non-secret options there (endpoint, region, ...). Credentials come from a Prefect Secret block
(``storage_block``: a JSON object of storage options) or from the environment, which fsspec/s3fs
read themselves (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...). The CLI moves credentials given on its
command line into a temporary Secret block, deleted when the run ends.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from photostyle.core.errors import PhotostyleError
from photostyle.core.filesystems import merge_options
from photostyle.flows.cleanup import cleanup_on_exit

#: Option names that hold credentials (at any depth, e.g. inside ``client_kwargs``).
SECRET_KEYS = frozenset(
    {
        "key",
        "secret",
        "token",
        "password",
        "session_token",
        "access_key",
        "secret_key",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "account_key",
        "sas_token",
        "client_secret",
        "credentials",
        "connection_string",
    }
)


def split_secrets(options: dict) -> tuple[dict, dict]:
    """(options without credentials, the credentials), both keeping the nesting of ``options``."""
    public: dict = {}
    secret: dict = {}
    for name, value in options.items():
        if isinstance(value, dict):
            pub, sec = split_secrets(value)
            if pub:
                public[name] = pub
            if sec:
                secret[name] = sec
        elif name.lower() in SECRET_KEYS:
            secret[name] = value
        else:
            public[name] = value
    return public, secret


def _load_block(name: str) -> dict:
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(name).get()
    except ValueError as exc:
        raise PhotostyleError(f"storage block {name!r}: {exc}") from None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise PhotostyleError(f"storage block {name!r}: not a JSON object") from None
    if not isinstance(value, dict):
        raise PhotostyleError(f"storage block {name!r}: not a JSON object")
    return value


def resolve_storage_options(storage_options: dict | None = None, storage_block: str | None = None) -> dict:
    """The storage options of a flow run: a Secret block's (e.g. ``{"key": ..., "secret": ...}``)
    merged with the parameter's, which must not hold credentials."""
    _, secret = split_secrets(storage_options or {})
    if secret:
        raise PhotostyleError(
            "storage_options holds credentials (" + ", ".join(sorted(_names(secret))) + "); flow parameters "
            "are stored in the Prefect API, so give them in a Secret block (storage_block) or the environment"
        )
    options = _load_block(storage_block) if storage_block else {}
    return merge_options(options, storage_options or {})


def _names(options: dict) -> list[str]:
    return [n for k, v in options.items() for n in (_names(v) if isinstance(v, dict) else [k])]


#: Name prefix of the Secret blocks the CLI makes for credentials given on its command line.
TEMPORARY_BLOCK_PREFIX = "photostyle-credentials-"


@contextmanager
def temporary_credentials(
    storage_options: dict | None, storage_block: str | None
) -> Iterator[tuple[dict | None, str | None]]:
    """For the CLI: yield the storage options and block a flow run gets as parameters, with any
    credentials in ``storage_options`` moved into a Secret block that exists only while the
    ``with`` block runs. Its name is random, so it tells nothing about the credentials; it is
    deleted however the block ends, or earlier by :func:`photostyle.flows.cleanup.run_cleanups`
    (an interrupt). Without credentials nothing is stored and the arguments come back as given."""
    public, secret = split_secrets(storage_options or {})
    if not secret:
        yield storage_options, storage_block
        return
    if storage_block:
        raise PhotostyleError("give credentials either in --storage-options or in --storage-block, not both")
    from prefect.blocks.system import Secret

    name = f"{TEMPORARY_BLOCK_PREFIX}{uuid.uuid4().hex}"
    with cleanup_on_exit(lambda: _delete_temporary_block(name)):
        Secret(value=json.dumps(secret)).save(name)
        yield public or None, name


def _delete_temporary_block(name: str) -> None:
    """Delete a Secret block this process made; when the API cannot be reached, say so on stderr
    with the command that deletes it later (the credentials stay in the Prefect database until then)."""
    from prefect.blocks.system import Secret
    from prefect.exceptions import ObjectNotFound

    try:
        Secret.delete(name)
    except (ValueError, ObjectNotFound):  # never saved, or already deleted
        pass
    except Exception as exc:  # noqa: BLE001 - a cleanup reports its failure instead of raising it
        print(
            f"photostyle: warning: could not delete the Secret block {name} holding the credentials "
            f"({type(exc).__name__}); delete it with: prefect block delete secret/{name}",
            file=sys.stderr,
        )
