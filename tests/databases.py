"""Both databases for the store, ledger, job and session tests: ``db_url`` runs a test
once on a SQLite file and once on PostgreSQL, in a schema of its own (``t_<uuid>``,
reached through the URL's ``search_path``), dropped afterwards — so tests never
meet, even under pytest-xdist.

The server is ``IMAGINE_TEST_POSTGRES_URL`` (default the local PostgreSQL,
``postgresql://postgres@127.0.0.1:5432/test``). Unreachable, the PostgreSQL half is
skipped with the reason — except under ``CI``, where it fails (``.ci/run`` starts
the server first).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

POSTGRES_URL = os.environ.get(
    "IMAGINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


async def _server() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(POSTGRES_URL, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        why = f"PostgreSQL is unreachable at IMAGINE_TEST_POSTGRES_URL ({exc!r})"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; .ci/run starts it (README, Development)")
        pytest.skip(f"{why}; start it: sudo service postgresql start")


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A URL of the test server whose tables land in a fresh schema (dropped after)."""
    schema = f"t_{uuid.uuid4().hex}"
    admin = await _server()
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{sep}search_path={schema}"
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL: a SQLite file in ``tmp_path``, then a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/imagine.db"
        return
    async with postgres_schema() as url:
        yield url


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """PostgreSQL only (for what only PostgreSQL has: migrations across processes …)."""
    async with postgres_schema() as url:
        yield url
