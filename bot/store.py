"""The embedded database: SQLite through aiosqlite.

- ``IMAGINE_DATABASE_URL``: ``sqlite:///./data/imagine.db`` (relative),
  ``sqlite:////abs/path.db`` or ``sqlite:///:memory:``. Other schemes are refused
  with a clear error; the store is a port, so a server database can come later.
- Schema migrations are numbered SQL files in ``bot/schema/`` (``0001_*.sql``,
  ``0002_*.sql`` …), applied in order inside one transaction each, tracked by
  ``PRAGMA user_version``. A database newer than this code is refused.
- WAL journal, ``busy_timeout``, foreign keys on.
- One connection runs statements one at a time, so coroutines sharing it share
  its transaction: every write is either a single atomic statement
  (``execute``) or runs inside ``transaction()``, which holds a lock so no other
  coroutine's statement lands in the middle.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///./data/imagine.db"
BUSY_TIMEOUT_MS = 5000
_MIGRATION = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

Row = aiosqlite.Row


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


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every schema file, in order; versions must be 1, 2, 3 …"""
    found = []
    for entry in resources.files("bot").joinpath("schema").iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    if [v for v, _, _ in found] != list(range(1, len(found) + 1)):
        raise ConfigError(f"schema files are not numbered 1..n: {[n for _, n, _ in found]}")
    return found


class Store:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str = DEFAULT_URL) -> Store:
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
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        current = await self.version()
        steps = migrations()
        if current > len(steps):
            raise ConfigError(
                f"the database is at schema version {current}, newer than this imagine-bot "
                f"({len(steps)}); upgrade imagine-bot or restore a backup"
            )
        for version, name, sql in steps[current:]:
            async with self.transaction():
                for statement in _statements(sql):
                    await self.execute(statement)
                await self.execute(f"PRAGMA user_version = {version}")
            log.info("database migrated to version %d (%s)", version, name)

    # -- statements ----------------------------------------------------------
    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Wait for any other coroutine's transaction; inside our own, go straight on."""
        if _IN_TRANSACTION.get():
            yield
        else:
            async with self._lock:
                yield

    async def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """One atomic statement; returns the number of rows it changed."""
        async with self._turn(), self._db.execute(sql, params) as cursor:
            return cursor.rowcount

    async def insert(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> int:
        """One INSERT; returns the new row's rowid."""
        async with self._turn(), self._db.execute(sql, params) as cursor:
            return int(cursor.lastrowid or 0)

    async def fetchone(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        async with self._turn(), self._db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        async with self._turn(), self._db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """BEGIN IMMEDIATE … COMMIT under the store's lock (ROLLBACK on error).
        Statements of this task inside the block run in it; other tasks wait."""
        if _IN_TRANSACTION.get():
            raise RuntimeError("transactions do not nest")
        async with self._lock:
            token = _IN_TRANSACTION.set(True)
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    await self._db.execute("ROLLBACK")
                    raise
                await self._db.execute("COMMIT")
            finally:
                _IN_TRANSACTION.reset(token)


_IN_TRANSACTION: ContextVar[bool] = ContextVar("imagine_store_transaction", default=False)


def _statements(sql: str) -> list[str]:
    """Split a schema file into statements (no semicolons inside literals there)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
