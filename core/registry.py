"""Registries of pluggable parts (methods, segmenters, loss terms) and the typed settings they carry.

A registry maps a name to an entry. Entries that carry a settings class (``entry.config``, a
``Settings`` subclass whose ``name`` field is a ``Literal`` of the entry's name) make a
discriminated union: ``Annotated[Base, OneOf(REGISTRY, default="dpst")]`` validates a field as the
settings class registered under the value's ``name``. The union is read from the registry when a
model's schema is built, and the models that hold it are rebuilt when an entry is added later, so
a new method or segmenter is one module and one ``register`` call.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema


class Settings(BaseModel):
    """Base of every settings model: frozen (hashable, safe to share) and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Named(Protocol):
    name: str


E = TypeVar("E", bound=Named)


class Registry(Generic[E]):
    """Entries by name. ``builtins`` are modules that register the built-in entries; they are
    imported on the first lookup, so that they may import the modules that use the registry."""

    def __init__(self, kind: str, builtins: tuple[str, ...] = ()):
        self.kind = kind
        self._builtins = builtins
        self._loaded = not builtins
        self._entries: dict[str, E] = {}
        self._listeners: list[Callable[[], None]] = []

    def register(self, entry: E) -> E:
        """Add an entry; a name can be registered once (register a new name for a variant)."""
        self._load()
        if entry.name in self._entries and self._entries[entry.name] is not entry:
            raise ValueError(f"a {self.kind} named {entry.name!r} is already registered")
        self._entries[entry.name] = entry
        if self._loaded:
            for listener in self._listeners:
                listener()
        return entry

    def unregister(self, name: str) -> None:
        """Remove an entry (for tests that register a temporary one)."""
        self._entries.pop(name, None)
        for listener in self._listeners:
            listener()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever an entry is added after the built-ins were loaded."""
        self._listeners.append(listener)

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for module in self._builtins:
                importlib.import_module(module)

    def get(self, name: str) -> E:
        """The entry called ``name``; a ``LookupError`` naming the choices otherwise."""
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise LookupError(f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}") from None

    def names(self) -> tuple[str, ...]:
        """The registered names, in registration order."""
        self._load()
        return tuple(self._entries)

    def __iter__(self) -> Iterator[E]:
        self._load()
        return iter(list(self._entries.values()))

    def configs(self) -> dict[str, type[Settings]]:
        """The settings class of every entry that has one."""
        return {e.name: e.config for e in self if getattr(e, "config", None) is not None}


@dataclass(frozen=True)
class OneOf:
    """Pydantic marker for ``Annotated[Base, OneOf(registry, default)]``: a discriminated union,
    on ``name``, of the settings classes in ``registry``. A mapping without ``name`` takes
    ``default``; a bare string is taken as the name. The JSON schema lists the choices as ``anyOf``,
    which the Prefect UI renders as a choice between forms."""

    registry: Registry
    default: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        choices = {name: handler.generate_schema(cls) for name, cls in self.registry.configs().items()}
        union = core_schema.tagged_union_schema(choices, discriminator="name")
        return core_schema.no_info_before_validator_function(self._with_name, union)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict:
        json_schema = handler(schema)
        json_schema = handler.resolve_ref_schema(json_schema)
        if "oneOf" in json_schema:
            json_schema["anyOf"] = json_schema.pop("oneOf")
            json_schema.pop("discriminator", None)
        return json_schema

    def _with_name(self, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, Mapping) and "name" not in value:
            return {**value, "name": self.default}
        return value


def rebuild_on_change(registry: Registry, *models: type[BaseModel]) -> None:
    """Rebuild ``models`` (in this order: inner ones first) when ``registry`` changes, so that
    their unions take the new entry; models not built yet pick it up when they are."""

    def rebuild() -> None:
        for model in models:
            if model.__pydantic_complete__:
                model.model_rebuild(force=True)

    registry.on_change(rebuild)
