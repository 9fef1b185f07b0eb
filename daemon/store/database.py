"""The connection to the store, and the one writer.

SQLite (the default) allows one writer at a time; Berth keeps exactly one: every write runs on a
single dedicated thread, in a transaction opened with ``BEGIN IMMEDIATE`` (so a transaction never
has to upgrade a read lock and fail with "database is locked" half way). Writes that arrive
while the writer is busy are *grouped*: the next transaction runs all of them and commits once,
which is what lets hundreds of concurrent submissions share one fsync. Reads run on their own
threads (WAL lets them proceed beside the writer). Nothing here blocks the event loop.

Other databases (PostgreSQL by URL) take the same path without the SQLite pragmas.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from daemon.store.migrations import migrate

_T = TypeVar("_T")
Write = Callable[[Connection], Any]


def open_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, poolclass=NullPool if ":memory:" in url else None)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """The store's engine with its single writer thread and a small pool of readers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="berth-writer")
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="berth-reader")
        self._batch: list[tuple[Write, asyncio.Future[Any]]] = []
        self._flushing = False
        self.commits = 0  # transactions committed by the writer (for metrics and benchmarks)

    def migrate(self) -> int:
        return migrate(self.engine.begin)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self.engine.dispose()

    async def read(self, query: Callable[[Connection], _T]) -> _T:
        def run() -> _T:
            with self.engine.connect() as connection:
                return query(connection)

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    def read_now(self, query: Callable[[Connection], _T]) -> _T:
        """A blocking read, for start-up before the event loop serves anyone."""
        with self.engine.connect() as connection:
            return query(connection)

    def write_now(self, write: Callable[[Connection], _T]) -> _T:
        """A blocking write, for start-up and shutdown only."""
        with self.engine.begin() as connection:
            return write(connection)

    async def write(self, write: Callable[[Connection], _T]) -> _T:
        """Run ``write`` in a transaction on the writer thread, grouped with other writes that
        are waiting; returns its result once the transaction has committed. If the group fails,
        each write is retried alone so one bad write fails only its own caller."""
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._batch.append((write, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._batch:
                batch, self._batch = self._batch, []
                try:
                    results = await loop.run_in_executor(self._writer, self._run_group, batch)
                except Exception:  # noqa: BLE001 - retried one by one below
                    for write, future in batch:
                        try:
                            result = await loop.run_in_executor(
                                self._writer, self._run_group, [(write, future)]
                            )
                            future.set_result(result[0])
                        except Exception as err:  # noqa: BLE001 - handed to the caller
                            future.set_exception(err)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._flushing = False

    def _run_group(self, batch: list[tuple[Write, asyncio.Future[Any]]]) -> list[Any]:
        with self.engine.begin() as connection:
            results = [write(connection) for write, _ in batch]
        self.commits += 1
        return results
