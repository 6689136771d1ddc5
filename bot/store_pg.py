"""The server database: PostgreSQL through an asyncpg pool, behind ``bot.store``.

- ``IMAGINE_DATABASE_URL``: ``postgresql://user:pass@host:5432/db``; query parameters
  asyncpg does not know are server settings (``?search_path=imagine`` keeps the tables
  in schema ``imagine``, which must exist).
- Schema migrations are ``bot/schema/postgres/000N_*.sql`` (the same numbers as
  SQLite's), applied in order, one transaction each, recorded in ``schema_version``
  (one row per version). Processes starting together take turns on an advisory
  lock, so each version is applied once. A database newer than this code is refused.
- A statement outside ``transaction()`` runs on any pooled connection and commits
  on its own (READ COMMITTED). A transaction holds one connection; statements of its
  task inside the block run on it. Many processes may share the database: a
  conditional ``UPDATE`` waits for the row's lock and then re-checks its condition,
  so the ledger's caps and the jobs' state changes hold across processes.
- Callers' ``?`` / ``:name`` parameters become ``$n`` (``bot.store_sql.numbered``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from bot.errors import ConfigError
from bot.store_sql import Dialect, Params, Row, migrations, numbered, refuse_newer, statements

log = logging.getLogger(__name__)

POOL_MAX = 10
MIGRATION_LOCK = 0x1A6E_0001  # pg_advisory_lock key: "imagine-bot migrates"


class PostgresStore:
    dialect: Dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # the connection of this task's open transaction, per store
        self._tx: ContextVar[Any] = ContextVar(f"imagine_pg_tx_{id(self)}", default=None)

    @classmethod
    async def open(cls, url: str, *, pool: int = POOL_MAX) -> PostgresStore:
        try:
            connections = await asyncpg.create_pool(url, min_size=1, max_size=pool)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise ConfigError(
                f"IMAGINE_DATABASE_URL: cannot reach PostgreSQL at {_where(url)} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        store = cls(connections)
        try:
            await store._migrate()
        except BaseException:
            await connections.close()
            raise
        return store

    async def close(self) -> None:
        await self._pool.close()

    async def version(self) -> int:
        row = await self.fetchone("SELECT coalesce(max(version), 0) FROM schema_version")
        return int(row[0]) if row else 0

    async def _migrate(self) -> None:
        steps = migrations("postgresql")
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                current = int(
                    await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
                )
                refuse_newer(current, len(steps))
                for version, name, sql in steps[current:]:
                    async with conn.transaction():
                        for statement in statements(sql):
                            await conn.execute(statement)
                        await conn.execute(
                            "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
                            version,
                            name,
                        )
                    log.info("database migrated to version %d (%s)", version, name)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    # -- statements ----------------------------------------------------------
    def _on(self) -> Any:
        """This task's transaction's connection, or the pool (a connection per call)."""
        return self._tx.get() or self._pool

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One atomic statement; returns the number of rows it changed."""
        text, args = numbered(sql, params)
        status: str = await self._on().execute(text, *args)
        count = status.rsplit(" ", 1)[-1]  # "UPDATE 3", "INSERT 0 1", "CREATE TABLE"
        return int(count) if count.isdigit() else 0

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        text, args = numbered(sql, params)
        row: Row | None = await self._on().fetchrow(text, *args)
        return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        text, args = numbered(sql, params)
        return list(await self._on().fetch(text, *args))

    async def returning(self, sql: str, params: Params = ()) -> Row | None:
        return await self.fetchone(sql, params)  # outside a transaction: autocommitted

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresStore]:
        """All or nothing on one pooled connection; statements of this task inside the
        block run on it. Returns once committed."""
        if self._tx.get() is not None:
            raise RuntimeError("transactions do not nest")
        async with self._pool.acquire() as conn, conn.transaction():
            token = self._tx.set(conn)
            try:
                yield self
            finally:
                self._tx.reset(token)


def _where(url: str) -> str:
    """``host:port/db`` of ``url``, never its user or password."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.hostname or 'localhost'}{port}{parts.path or '/'}"
