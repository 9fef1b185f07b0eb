"""Reading one table of a configuration file, with errors that name the file, table, key and fix.

The configuration loaders of the core (`scheduler.clusterconfig`, `scheduler.quotas`) get plain
mappings that a driver parsed from TOML or YAML. `ConfigTable` wraps one of them: it refuses keys
it does not know (suggesting the nearest known one, so ``max_gpu`` says "did you mean
'max_gpus'?"), and turns the `ValueError` of a value parser (`scheduler.units`, or the small ones
here), and their `TypeError`, into a `ConfigError` that says where the value was.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from scheduler.errors import ConfigError

_T = TypeVar("_T")


def suggest(key: str, known: Collection[str]) -> str:
    """``" (did you mean 'x'?)"`` for the known name nearest ``key``, else ``""``."""
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class ConfigTable:
    """One table (``name`` like ``groups.researcher``) of the file ``source``."""

    __slots__ = ("data", "name", "source")

    def __init__(
        self,
        name: str,
        data: object,
        *,
        source: str = "",
        allowed: Collection[str] | None = None,
    ) -> None:
        self.name = name
        self.source = source
        if not isinstance(data, Mapping):
            cut = max(name.rfind("."), name.rfind("["))
            parent, key = (name[:cut], name[cut:].lstrip(".")) if cut > 0 else (name, "")
            raise ConfigError(parent, key, f"expected a table, got {data!r}", source=source)
        for key in data:
            if not isinstance(key, str):
                raise self.error(str(key), "keys must be strings; quote the key")
        self.data: Mapping[str, Any] = data
        if allowed is not None:
            for key in data:
                if key not in allowed:
                    raise self.error(
                        key,
                        f"unknown key{suggest(key, allowed)}; the keys this table takes are "
                        f"{', '.join(allowed)}",
                    )

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.name, key, problem, source=self.source)

    def sub(self, key: str, *, allowed: Collection[str] | None = None) -> ConfigTable:
        """The table under ``key`` (which must be present)."""
        return ConfigTable(
            f"{self.name}.{key}", self.data[key], source=self.source, allowed=allowed
        )

    def parse(self, key: str, parse: Callable[[Any], _T]) -> _T:
        """``parse(self.data[key])``, its ValueError or TypeError turned into a ConfigError."""
        try:
            return parse(self.data[key])
        except (TypeError, ValueError) as exc:
            raise self.error(key, str(exc)) from None

    def get(self, key: str, parse: Callable[[Any], _T], default: _T) -> _T:
        return self.parse(key, parse) if key in self.data else default

    def required(self, key: str, parse: Callable[[Any], _T]) -> _T:
        if key not in self.data:
            raise self.error(key, "missing; this key is required")
        return self.parse(key, parse)


def text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def strings(value: object) -> tuple[str, ...]:
    """A list of strings; a single string stands for a list of one."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"expected a list of strings, got {value!r}")
    return tuple(value)


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {value!r}")
    return value


def choice(choices: Mapping[str, _T]) -> Callable[[object], _T]:
    """A parser for one of ``choices``' keys (any case)."""

    def parse(value: object) -> _T:
        if not isinstance(value, str) or value.lower() not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return choices[value.lower()]

    return parse
