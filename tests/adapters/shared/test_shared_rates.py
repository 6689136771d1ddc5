"""The per-user rate limit across two processes (two ledgers, two Redis links), and
with Redis down: counted per process, never refused for Redis' sake."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.shared import RedisLink, SharedRateStorage
from bot.errors import QuotaExceeded
from bot.quotas import Quotas
from bot.store import Store


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    async with (
        await Store.open(f"sqlite:///{tmp_path}/a.db") as a,
        await Store.open(f"sqlite:///{tmp_path}/b.db") as b,
    ):
        yield a, b


async def ledger(
    store: Store, url: str, prefix: str
) -> tuple[Quotas, RedisLink, SharedRateStorage]:
    link = RedisLink(url, prefix=prefix, timeout_s=0.5)
    rates = SharedRateStorage(link)
    quotas = Quotas(
        store, daily_images=0, monthly_budget_usd=0, user_rate="2/minute", rate_storage=rates
    )
    return quotas, link, rates


async def close(*parts: tuple[Quotas, RedisLink, SharedRateStorage]) -> None:
    for quotas, link, rates in parts:
        await quotas.aclose()
        await rates.aclose()
        await link.aclose()


async def test_the_rate_is_shared_by_two_ledgers(
    stores: tuple[Store, Store], redis_url: str, prefix: str
) -> None:
    a = await ledger(stores[0], redis_url, prefix)
    b = await ledger(stores[1], redis_url, prefix)
    try:
        await a[0].reserve(workspace="slack:T1", user="U1", estimate_usd=0.1)
        await b[0].reserve(workspace="slack:T1", user="U1", estimate_usd=0.1)
        with pytest.raises(QuotaExceeded) as refused:
            await a[0].reserve(workspace="slack:T1", user="U1", estimate_usd=0.1)
        assert refused.value.limit == "rate"
        with pytest.raises(QuotaExceeded):
            await b[0].reserve(workspace="slack:T1", user="U1", estimate_usd=0.1)
        # another person, and the same person elsewhere, are not held back
        await b[0].reserve(workspace="slack:T1", user="U2", estimate_usd=0.1)
        await a[0].reserve(workspace="discord:9", user="U1", estimate_usd=0.1)
    finally:
        await close(a, b)


async def test_with_redis_down_the_rate_holds_per_process_and_one_warning_is_logged(
    stores: tuple[Store, Store], closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="adapters.shared")
    a = await ledger(stores[0], f"redis://127.0.0.1:{closed_port}/0", "down:")
    try:
        for _ in range(2):
            await a[0].reserve(workspace="slack:T1", user="U1", estimate_usd=0.1)
        with pytest.raises(QuotaExceeded):
            await a[0].reserve(workspace="slack:T1", user="U1", estimate_usd=0.1)
        await a[0].reserve(workspace="slack:T1", user="U2", estimate_usd=0.1)
    finally:
        await close(a)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
