import asyncio
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.store import Store, database_path, migrations


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


async def test_transactions_are_atomic_and_isolated(tmp_path: Path) -> None:
    async with await Store.open(url(tmp_path)) as store:
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
        assert seen_inside == [2]  # the reader waited: it never saw half a transaction

        with pytest.raises(RuntimeError):
            async with store.transaction():
                await store.execute("INSERT INTO t VALUES ('c', 3)")
                raise RuntimeError("boom")
        row = await store.fetchone("SELECT count(*) FROM t")
        assert row is not None and row[0] == 2  # rolled back
