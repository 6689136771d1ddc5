"""The store on both databases (``db_url``: SQLite, then PostgreSQL), and what only
one of them has: WAL and ``PRAGMA user_version``; ``schema_version`` and processes
migrating together."""

import asyncio
import time
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.store import Store, database_path, migrations
from bot.store_sql import numbered


def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/data/imagine.db"


async def test_creates_the_file_migrates_and_uses_wal(tmp_path: Path) -> None:
    async with await Store.open(url(tmp_path)) as store:
        assert await store.version() == len(migrations()) >= 1
        mode = await store.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"
        tables = {r[0] for r in await store.fetchall("SELECT name FROM sqlite_master")}
        assert {"blobs", "sessions", "versions"} <= tables
    assert (tmp_path / "data" / "imagine.db").is_file()
    async with await Store.open(url(tmp_path)) as again:  # reopening migrates nothing
        assert await again.version() == len(migrations())


async def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    async with await Store.open(url(tmp_path)) as store:
        await store.execute("PRAGMA user_version = 999")
    with pytest.raises(ConfigError, match="newer than this imagine-bot"):
        await Store.open(url(tmp_path))


def test_only_sqlite_urls() -> None:
    assert database_path("sqlite:///./data/x.db") == "./data/x.db"
    assert database_path("sqlite:////var/lib/x.db") == "/var/lib/x.db"
    assert database_path("sqlite:///:memory:") == ":memory:"
    for bad in ("postgresql://u:secret@h/db", "sqlite:///", "imagine.db"):
        with pytest.raises(ConfigError) as info:
            database_path(bad)
        assert "secret" not in str(info.value)


async def test_transactions_are_atomic_and_isolated(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        await store.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
        seen_inside: list[int] = []

        async def writer() -> None:
            async with store.transaction():
                await store.execute("INSERT INTO t VALUES ('a', 1)")
                await asyncio.sleep(0.05)  # another task runs meanwhile
                await store.execute("INSERT INTO t VALUES ('b', 2)")

        async def reader() -> None:
            await asyncio.sleep(0.01)
            row = await store.fetchone("SELECT count(*) FROM t")
            assert row is not None
            seen_inside.append(row[0])

        await asyncio.gather(writer(), reader())
        # never half a transaction: SQLite's reader waits for it, PostgreSQL's sees before
        assert seen_inside == ([2] if store.dialect == "sqlite" else [0])

        with pytest.raises(RuntimeError):
            async with store.transaction():
                await store.execute("INSERT INTO t VALUES ('c', 3)")
                raise RuntimeError("boom")
        row = await store.fetchone("SELECT count(*) FROM t")
        assert row is not None and row[0] == 2  # rolled back
        with pytest.raises(RuntimeError, match="nest"):
            async with store.transaction(), store.transaction():
                pass


async def test_rows_and_parameters_behave_alike(db_url: str) -> None:
    async with await Store.open(db_url) as store:
        await store.execute("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, note TEXT)")
        assert await store.execute("INSERT INTO t VALUES (?, ?, '?:x'), ('b', 2, NULL)", ("a", 1))
        changed = await store.execute(
            "UPDATE t SET n = n + :by WHERE k = :k OR n >= :by", {"k": "a", "by": 2}
        )
        assert changed == 2
        row = await store.fetchone("SELECT k, n, note FROM t WHERE k = ?", ("a",))
        assert row is not None
        k, n, note = row
        assert (k, n, note) == (row[0], row["n"], row["note"]) == ("a", 3, "?:x")
        assert len(row) == 3
        rows = await store.fetchall("SELECT k FROM t ORDER BY k")
        assert [r["k"] for r in rows] == ["a", "b"]
        assert await store.execute("INSERT INTO t VALUES ('a', 9, '') ON CONFLICT DO NOTHING") == 0


def test_parameters_become_numbered_outside_literals_and_casts() -> None:
    sql, args = numbered("SELECT '?', x::text, \"a?\" FROM t WHERE a = ? AND b = ?", (1, 2))
    assert (sql, args) == ("SELECT '?', x::text, \"a?\" FROM t WHERE a = $1 AND b = $2", [1, 2])
    sql, args = numbered(
        "UPDATE t SET n = n + :by WHERE k = :k AND :by > 0 -- :no", {"by": 1, "k": "a"}
    )
    assert (sql, args) == ("UPDATE t SET n = n + $1 WHERE k = $2 AND $1 > 0 -- :no", [1, "a"])
    with pytest.raises(ValueError):
        numbered("SELECT ? , :k", (1,))


async def test_urls_other_than_sqlite_and_postgresql_are_refused_without_secrets() -> None:
    for bad in ("mysql://u:secret@h/db", "imagine.db", "postgresql://u:secret@127.0.0.1:1/db"):
        with pytest.raises(ConfigError, match="IMAGINE_DATABASE_URL") as info:
            await Store.open(bad)
        assert "secret" not in str(info.value)


def test_both_dialects_have_the_same_migrations() -> None:
    sqlite, postgres = migrations("sqlite"), migrations("postgresql")
    assert [(v, name) for v, name, _ in sqlite] == [(v, name) for v, name, _ in postgres]


async def test_both_dialects_make_the_same_tables_and_columns(tmp_path: Path, pg_url: str) -> None:
    async with await Store.open(url(tmp_path)) as lite:
        tables = [
            r[0] for r in await lite.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        want = {
            t: {r["name"] for r in await lite.fetchall(f"PRAGMA table_info({t})")} for t in tables
        }
    async with await Store.open(pg_url) as pg:
        rows = await pg.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
        )
        assert await pg.version() == len(migrations("postgresql"))
    got: dict[str, set[str]] = {}
    for table, column in rows:
        got.setdefault(table, set()).add(column)
    got["jobs"].discard("rowid")  # SQLite's is implicit
    assert got == want


async def test_postgresql_processes_starting_together_migrate_once(pg_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(pg_url) for _ in range(3)))
    try:
        row = await stores[0].fetchone("SELECT count(*), max(version) FROM schema_version")
        assert row is not None and tuple(row) == (len(migrations()), len(migrations()))
        await stores[0].execute("INSERT INTO schema_version (version, name) VALUES (999, 'x')")
    finally:
        for store in stores:
            await store.close()
    with pytest.raises(ConfigError, match="newer than this imagine-bot"):
        await Store.open(pg_url)


async def test_a_postgresql_process_holds_no_more_connections_than_its_pool(pg_url: str) -> None:
    """IMAGINE_DATABASE_POOL: with 2, ten 0.1 s statements at once take five rounds —
    they share two server connections (processes × pool stays under max_connections)."""
    store = await Store.open(pg_url, pool=2)
    try:
        await store.fetchone("SELECT 1")
        start = time.monotonic()
        await asyncio.gather(*(store.fetchone("SELECT pg_sleep(0.1)") for _ in range(10)))
        assert time.monotonic() - start >= 0.45
    finally:
        await store.close()
