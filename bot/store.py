"""The database port: one ``Store`` for SQLite (the default) or PostgreSQL.

``Store.open(url)`` picks the backend by the URL's scheme (``IMAGINE_DATABASE_URL``):

- ``sqlite:///./data/imagine.db`` (relative), ``sqlite:////abs/path.db``,
  ``sqlite:///:memory:`` — ``bot.store_sqlite``: one connection, group commit.
- ``postgresql://user:pass@host:5432/db`` (or ``postgres://``; further query
  parameters such as ``?search_path=imagine`` are server settings) —
  ``bot.store_pg``: an asyncpg pool, one connection per transaction.

Callers write one SQL for both: ``?`` or ``:name`` parameters, ``INSERT … ON CONFLICT
DO NOTHING`` (not ``INSERT OR IGNORE``), ``"user"`` quoted (a reserved word in
PostgreSQL), no ``rowid`` but ``jobs.rowid`` (a column there), ``RETURNING`` for new
ids, and ``json_set`` from here for the one JSON edit they make in SQL.

Every write is a single atomic statement (``execute``) or runs inside
``transaction()``: all or nothing; statements of the task inside the block run in
it (a task's transaction is found through a context variable). Transactions do not
nest. A write returns once committed. Image bytes live in the database too (the
``blobs`` table: BLOB / BYTEA; README "Where data lives" says why).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from bot.errors import ConfigError
from bot.store_sql import Dialect, Params, Row, migrations
from bot.store_sqlite import DEFAULT_URL, SqliteStore, database_path

__all__ = ["DEFAULT_URL", "Row", "Store", "database_path", "migrations", "scheme"]

POSTGRES_SCHEMES = ("postgresql", "postgres")


class Backend(Protocol):
    """What a database driver module provides (``SqliteStore``, ``PostgresStore``)."""

    dialect: Dialect

    async def close(self) -> None: ...
    async def version(self) -> int: ...
    async def execute(self, sql: str, params: Params = ()) -> int: ...
    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...
    async def returning(self, sql: str, params: Params = ()) -> Row | None: ...
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...
    def transaction(self) -> AbstractAsyncContextManager[object]: ...


def scheme(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"`` (ConfigError for anything else; never echoes
    the rest of the URL, which may hold a password)."""
    found = url.split("://", 1)[0].lower() if "://" in url else ""
    if found == "sqlite":
        return "sqlite"
    if found in POSTGRES_SCHEMES:
        return "postgresql"
    raise ConfigError(
        "IMAGINE_DATABASE_URL: use sqlite:///path.db or postgresql://user:pass@host/db"
        + (f" (got {found}://)" if found else "")
    )


class Store:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.dialect: Dialect = backend.dialect

    @classmethod
    async def open(cls, url: str = DEFAULT_URL, *, pool: int = 10) -> Store:
        """``pool``: PostgreSQL connections this process may hold (SQLite: one)."""
        if scheme(url) == "postgresql":
            from bot.store_pg import PostgresStore

            return cls(await PostgresStore.open(url, pool=pool))  # asyncpg imported only here
        return cls(await SqliteStore.open(url))

    async def close(self) -> None:
        await self._backend.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def version(self) -> int:
        """The schema version the database is at (the number of migrations applied)."""
        return await self._backend.version()

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One atomic statement; returns the number of rows it changed."""
        return await self._backend.execute(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return await self._backend.fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return await self._backend.fetchall(sql, params)

    async def returning(self, sql: str, params: Params = ()) -> Row | None:
        """One atomic write statement with a ``RETURNING`` clause; its first row (None:
        it wrote nothing). One trip, where a write and a read would be two."""
        return await self._backend.returning(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """All or nothing; returns once committed. Transactions do not nest."""
        async with self._backend.transaction():
            yield self

    def clock(self) -> str:
        """SQL for the database's time now, in seconds since the epoch: processes on
        several machines compare heartbeats by one clock (``bot.leases``)."""
        if self.dialect == "postgresql":
            return "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)"
        return "((julianday('now') - 2440587.5) * 86400.0)"

    def json_set(self, column: str, key: str) -> str:
        """SQL for ``column`` (JSON text) with top-level ``key`` set to the JSON text
        given as the next ``?`` parameter."""
        if self.dialect == "postgresql":
            return f"(jsonb_set(CAST({column} AS jsonb), '{{{key}}}', CAST(? AS jsonb)))::text"
        return f"json_set({column}, '$.{key}', json(?))"
