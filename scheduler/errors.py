"""Errors the policy core raises. Expected outcomes (a job that must wait) are never errors: they
are `PendingReason` values in a `Plan`. Exceptions are for bad configuration and for requests that
can never run.

    ValueError
    └── BerthError
        ├── ConfigError       a configuration table has a bad key or value
        └── InvalidRequest    a job request can never be satisfied on this cluster

Each exception builds its message in ``__init__`` so that it says what is wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence


class BerthError(ValueError):
    """Base class of the core's exceptions."""


class ConfigError(BerthError):
    """A configuration value is wrong. The message names the table, the key and the fix."""

    def __init__(self, table: str, key: str, problem: str, *, source: str = "") -> None:
        self.table = table
        self.key = key
        self.problem = problem
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}[{table}] {key}: {problem}")


class InvalidRequest(BerthError):
    """A job request that no amount of waiting would let run; ``problems`` says what to change."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems))
