"""Schema versions and the steps between them.

`migrate` brings any store to `SCHEMA_VERSION`: an empty database gets every table; an older one
runs each later step in order, in one transaction per step, recording the new version with it.
A store newer than this Berth is refused (an older daemon must not write a newer schema).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, select
from sqlmodel import SQLModel

from daemon.store.tables import SCHEMA_VERSION, MetaRow

Step = Callable[[Connection], None]


def _create_v1(connection: Connection) -> None:
    SQLModel.metadata.create_all(connection)


# STEPS[n] takes a store from version n to n + 1.
STEPS: dict[int, Step] = {0: _create_v1}


class SchemaTooNew(RuntimeError):
    pass


def current_version(connection: Connection) -> int:
    if not connection.dialect.has_table(connection, MetaRow.__tablename__):
        return 0
    table = MetaRow.__table__  # type: ignore[attr-defined]
    value = connection.execute(
        select(table.c.value).where(table.c.key == "schema_version")
    ).scalar_one_or_none()
    return int(value) if value is not None else 0


def migrate(begin: Callable[[], object]) -> int:
    """Run the missing steps; ``begin`` opens a transaction (``engine.begin``). Returns the
    version the store had before."""
    with begin() as connection:  # type: ignore[attr-defined]
        start = current_version(connection)
    if start > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the store has schema version {start}, newer than this Berth's {SCHEMA_VERSION}; "
            "upgrade Berth or point database_url at another store"
        )
    for version in range(start, SCHEMA_VERSION):
        with begin() as connection:  # type: ignore[attr-defined]
            STEPS[version](connection)
            table = MetaRow.__table__  # type: ignore[attr-defined]
            connection.execute(table.delete().where(table.c.key == "schema_version"))
            connection.execute(
                table.insert().values(key="schema_version", value=str(version + 1))
            )
    return start
