"""Where a flow's storage options come from, keeping credentials out of flow parameters.

Flow parameters are stored by the Prefect API with the run, in plain text, so the flows accept only
non-secret options there (endpoint, region, ...). Credentials come from a Prefect Secret block
(``storage_block``: a JSON object of storage options) or from the environment, which fsspec/s3fs
read themselves (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...). The CLI moves credentials given on its
command line into a Secret block before it starts a flow.
"""

from __future__ import annotations

import json

from photostyle.core.artifacts import canonical_json, sha256_hex
from photostyle.core.errors import PhotostyleError
from photostyle.core.filesystems import merge_options

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


def stash_credentials(storage_options: dict | None, storage_block: str | None) -> tuple[dict | None, str | None]:
    """For the CLI: move credentials out of ``storage_options`` into a Secret block (named by
    their hash, so the same credentials reuse one block); return the options and block to pass."""
    public, secret = split_secrets(storage_options or {})
    if not secret:
        return storage_options, storage_block
    if storage_block:
        raise PhotostyleError("give credentials either in --storage-options or in --storage-block, not both")
    from prefect.blocks.system import Secret

    name = f"photostyle-credentials-{sha256_hex(canonical_json(secret))[:16]}"
    Secret(value=json.dumps(secret)).save(name, overwrite=True)
    return public or None, name
