"""The embedded database (the default): SQLite through aiosqlite, behind ``bot.store``.

- ``IMAGINE_DATABASE_URL``: ``sqlite:///./data/imagine.db`` (relative),
  ``sqlite:////abs/path.db`` or ``sqlite:///:memory:``.
- Schema migrations are numbered SQL files in ``bot/schema/`` (``0001_*.sql``,
  ``0002_*.sql`` …), applied in order inside one transaction each, tracked by
  ``PRAGMA user_version``. A database newer than this code is refused.
- WAL journal, ``busy_timeout``, foreign keys on.
- One connection runs statements one at a time, so coroutines sharing it share
  its transaction: every write is either a single atomic statement
  (``execute``) or runs inside ``transaction()``, which holds a lock so no other
  coroutine's statement lands in the middle.
- **Group commit.** A commit waits for the disk (``fsync``: ~5 ms here), so writes
  that queue for the connection together share one: the first opens a batch
  (``BEGIN IMMEDIATE``) and queues its ``COMMIT`` behind everyone already waiting;
  each ``transaction()`` in it is a savepoint (an error undoes only its own); each
  write returns only once the batch is committed, and a read that runs while one is
  open waits for it too, so nobody acts on what is not yet on disk. A commit that
  fails fails every write in its batch.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

import aiosqlite

from bot.errors import ConfigError
from bot.store_sql import Dialect, Params, Row, migrations, refuse_newer, statements

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///./data/imagine.db"
BUSY_TIMEOUT_MS = 5000

T = TypeVar("T")


def database_path(url: str) -> str:
    """The SQLite path in ``url`` (``":memory:"`` for an in-memory database)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise ConfigError(
            f"IMAGINE_DATABASE_URL: only sqlite:/// URLs are supported (got {scheme}:)"
        )
    path = url[len(prefix) :]
    if not path:
        raise ConfigError("IMAGINE_DATABASE_URL: no database path after sqlite:///")
    return path


class SqliteStore:
    dialect: Dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()  # FIFO: whoever queued first runs first
        self._batch: asyncio.Future[None] | None = None  # the open BEGIN; done when committed
        self._commits: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, url: str = DEFAULT_URL) -> SqliteStore:
        path = database_path(url)
        if path != ":memory:":
            await asyncio.to_thread(Path(path).parent.mkdir, parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)  # we manage transactions
        db.row_factory = aiosqlite.Row
        store = cls(db)
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        while self._commits:  # what was written is committed before the connection closes
            await asyncio.wait(set(self._commits))
        await self._db.close()

    async def __aenter__(self) -> SqliteStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        current = await self.version()
        steps = migrations("sqlite")
        refuse_newer(current, len(steps))
        for version, name, sql in steps[current:]:
            async with self.transaction():
                for statement in statements(sql):
                    await self.execute(statement)
                await self.execute(f"PRAGMA user_version = {version}")
            log.info("database migrated to version %d (%s)", version, name)

    # -- statements ----------------------------------------------------------
    async def _write(self, run: Callable[[], Awaitable[T]]) -> T:
        """``run`` (one statement) in the open batch; returns once that is committed."""
        if _IN_TRANSACTION.get():
            return await run()
        async with self._lock:
            batch = await self._begin()
            try:
                result = await run()
            except BaseException:
                self._lost(batch)
                raise
        await asyncio.shield(batch)
        return result

    async def _read(self, run: Callable[[], Awaitable[T]]) -> T:
        """``run`` on its own, or in the open batch (then returning once it is committed)."""
        if _IN_TRANSACTION.get():
            return await run()
        async with self._lock:
            batch = self._batch
            result = await run()
        if batch is not None:
            await asyncio.shield(batch)
        return result

    # Each statement is one trip to aiosqlite's thread (``execute_fetchall``): no cursor
    # to fetch from and close in further trips; rows changed are ``total_changes`` moved.
    async def execute(self, sql: str, params: Params = ()) -> int:
        """One atomic statement; returns the number of rows it changed."""

        async def run() -> int:
            before = self._db.total_changes
            await self._db.execute_fetchall(sql, params)
            return self._db.total_changes - before

        return await self._write(run)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async def run() -> Row | None:
            rows = await self._db.execute_fetchall(sql, params)
            return next(iter(rows), None)

        return await self._read(run)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async def run() -> list[Row]:
            return list(await self._db.execute_fetchall(sql, params))

        return await self._read(run)

    async def returning(self, sql: str, params: Params = ()) -> Row | None:
        """One write statement (in the open batch, like ``execute``) and its first row."""

        async def run() -> Row | None:
            rows = await self._db.execute_fetchall(sql, params)
            return next(iter(rows), None)

        return await self._write(run)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteStore]:
        """All or nothing, under the store's lock (a savepoint of the open batch); returns
        once committed. Statements of this task inside the block run in it; others wait."""
        if _IN_TRANSACTION.get():
            raise RuntimeError("transactions do not nest")
        async with self._lock:
            batch = await self._begin()
            token = _IN_TRANSACTION.set(True)
            try:
                await self._db.execute_fetchall("SAVEPOINT tx")
                try:
                    yield self
                except BaseException:
                    await self._undo(batch)
                    raise
                await self._db.execute_fetchall("RELEASE tx")
            finally:
                _IN_TRANSACTION.reset(token)
        await asyncio.shield(batch)

    # -- group commit (under the lock) ----------------------------------------
    async def _begin(self) -> asyncio.Future[None]:
        """The open batch, or a new one whose COMMIT queues behind everyone waiting now."""
        if self._batch is None:
            await self._db.execute_fetchall("BEGIN IMMEDIATE")
            self._batch = batch = asyncio.get_running_loop().create_future()
            batch.add_done_callback(_retrieved)
            task = asyncio.create_task(self._commit(batch))
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)
        return self._batch

    async def _commit(self, batch: asyncio.Future[None]) -> None:
        try:
            async with self._lock:
                if self._batch is not batch:
                    return  # already ended (see ``_lost``)
                self._batch = None
                try:
                    await self._db.execute_fetchall("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        await self._db.execute_fetchall("ROLLBACK")
                    raise
        except asyncio.CancelledError:
            batch.cancel()
            raise
        except Exception as exc:
            batch.set_exception(exc)
        else:
            batch.set_result(None)

    async def _undo(self, batch: asyncio.Future[None]) -> None:
        """A transaction failed: undo its savepoint (the rest of the batch stands)."""
        try:
            await self._db.execute_fetchall("ROLLBACK TO tx")
            await self._db.execute_fetchall("RELEASE tx")
        except sqlite3.Error:
            pass
        self._lost(batch)

    def _lost(self, batch: asyncio.Future[None]) -> None:
        """After an error: if SQLite rolled the whole batch back, its writes all failed."""
        if self._batch is batch and not self._db.in_transaction:
            self._batch = None
            batch.set_exception(sqlite3.OperationalError("the transaction was rolled back"))


def _retrieved(batch: asyncio.Future[None]) -> None:
    if not batch.cancelled():
        batch.exception()  # its writers raise it; nobody left waiting is not an error


_IN_TRANSACTION: ContextVar[bool] = ContextVar("imagine_store_transaction", default=False)
