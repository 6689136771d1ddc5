import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.admin import Admin
from bot.errors import ConfigError, InputError, QuotaExceeded
from bot.guild_settings import GuildSettings
from bot.messages import user_error
from bot.quotas import Quotas, Reservation, Tally
from bot.store import Store

PRO, FLASH = 0.134, 0.039  # USD per image


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    async with await Store.open(db_url) as store:
        yield store


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 3, 14, 12, 0, tzinfo=UTC))


def ledger(store: Store, clock: Clock, **limits: Any) -> Quotas:
    options: dict[str, Any] = {
        "daily_images": 0,
        "monthly_budget_usd": 0,
        "user_rate": None,
    }
    return Quotas(store, now=clock, **(options | limits))


async def burst(quotas: Quotas, n: int, estimate: float, workspace: str = "slack:T1") -> list[Any]:
    return await asyncio.gather(
        *(
            quotas.reserve(workspace=workspace, user=f"U{i}", estimate_usd=estimate)
            for i in range(n)
        ),
        return_exceptions=True,
    )


async def open_rows(store: Store) -> int:
    row = await store.fetchone("SELECT count(*) FROM quota_reservations WHERE state = 'reserved'")
    assert row is not None
    return int(row[0])


async def test_50_concurrent_reserves_against_a_daily_cap_of_10(store: Store, clock: Clock) -> None:
    quotas = ledger(store, clock, daily_images=10)
    results = await burst(quotas, 50, PRO)
    won = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(won) == 10 and len(refused) == 40
    assert {(e.limit, e.used, e.cap) for e in refused} == {("daily images", 10, 10)}
    before = await quotas.usage("slack:T1")
    assert (before.images_reserved, before.images_today, before.spent_usd) == (10, 0, 0)
    assert before.reserved_usd == pytest.approx(10 * PRO)
    assert await open_rows(store) == 10

    prices = [PRO if i % 2 else FLASH for i in range(10)]
    await asyncio.gather(
        *(
            quotas.settle(r, cost_usd=p, model="pro" if p == PRO else "flash")
            for r, p in zip(won, prices, strict=True)
        )
    )
    after = await quotas.usage("slack:T1")
    assert (after.images_today, after.images_reserved, after.reserved_usd) == (10, 0, 0)
    assert after.spent_usd == 0.865  # 5 × 0.134 + 5 × 0.039, exact: the ledger is in µUSD
    assert after.by_model == {"flash": Tally(5, 5, 0.195), "pro": Tally(5, 5, 0.67)}
    assert await open_rows(store) == 0


async def test_50_concurrent_reserves_against_a_monthly_budget(store: Store, clock: Clock) -> None:
    quotas = ledger(store, clock, monthly_budget_usd=1.00)
    results = await burst(quotas, 50, PRO)
    won = [r for r in results if isinstance(r, Reservation)]
    assert len(won) == 7  # 7 × 0.134 = 0.938; an 8th would make 1.072
    refused = {(e.limit, e.used, e.cap) for e in results if isinstance(e, QuotaExceeded)}
    assert refused == {("monthly budget", 0.938, 1.0)}
    assert (await quotas.usage("slack:T1")).reserved_usd == 0.938

    for r in won:  # each costs less than estimated: the difference is freed
        await quotas.settle(r, cost_usd=FLASH, model="flash")
    usage = await quotas.usage("slack:T1")
    assert (usage.spent_usd, usage.reserved_usd) == (0.273, 0)
    assert len([r for r in await burst(quotas, 10, PRO) if isinstance(r, Reservation)]) == 5


async def test_money_adds_up_exactly(store: Store, clock: Clock) -> None:
    quotas = ledger(store, clock, monthly_budget_usd=1.00)
    for _ in range(10):
        r = await quotas.reserve(workspace="cli", user="me", estimate_usd=0.1)
        await quotas.settle(r, cost_usd=0.1, model="m")
    assert (await quotas.usage("cli")).spent_usd == 1.0  # float addition would say 0.9999999999
    with pytest.raises(QuotaExceeded):
        await quotas.reserve(workspace="cli", user="me", estimate_usd=0.01)


async def test_a_counter_row_that_went_is_made_again(store: Store, clock: Clock) -> None:
    """The ledger remembers which counter rows exist (one statement fewer per image); if
    someone deletes them (a hand clean-up, a restore), the next reservation still works."""
    quotas = ledger(store, clock, daily_images=5)
    await quotas.reserve(workspace="cli", user="me", estimate_usd=0.1)
    await store.execute("DELETE FROM quota_usage")
    await quotas.reserve(workspace="cli", user="me", estimate_usd=0.1)
    assert (await quotas.usage("cli")).images_reserved == 1


async def test_release_refunds_and_second_calls_do_nothing(store: Store, clock: Clock) -> None:
    quotas = ledger(store, clock, daily_images=5, monthly_budget_usd=1.0)
    empty = await quotas.usage("cli")
    r = await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO, job_id="job-1")
    held = await quotas.usage("cli")
    assert (held.images_reserved, held.reserved_usd, held.in_flight) == (1, PRO, 1)

    assert await quotas.release(r) is True  # the model answered 503: not billed
    assert await quotas.usage("cli") == empty
    assert await quotas.release(r) is False
    assert await quotas.settle(r, cost_usd=PRO, model="pro") is False
    assert await quotas.usage("cli") == empty
    row = await store.fetchone("SELECT state, job_id FROM quota_reservations WHERE id = ?", (r.id,))
    assert row is not None and tuple(row) == ("released", "job-1")

    s = await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO)
    assert await quotas.settle(s, cost_usd=FLASH, model="flash") is True
    assert await quotas.settle(s, cost_usd=PRO, model="pro") is False
    assert await quotas.release(s) is False
    usage = await quotas.usage("cli")
    assert (usage.images_today, usage.spent_usd, usage.reserved_usd) == (1, FLASH, 0)


async def test_settling_below_the_estimate_frees_the_difference(store: Store, clock: Clock) -> None:
    quotas = ledger(store, clock, monthly_budget_usd=0.20)
    first = await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO)
    with pytest.raises(QuotaExceeded):  # 0.268 > 0.20
        await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO)
    await quotas.settle(first, cost_usd=FLASH, model="flash")
    await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO)  # 0.173 fits


async def test_a_refusal_says_what_when_and_reserves_nothing(store: Store, clock: Clock) -> None:
    clock.now = datetime(2025, 12, 31, 22, 30, tzinfo=UTC)
    quotas = ledger(store, clock, daily_images=1, monthly_budget_usd=0.5)
    await quotas.reserve(workspace="cli", user="me", estimate_usd=0.2)
    before = await quotas.usage("cli")
    with pytest.raises(QuotaExceeded) as daily:
        await quotas.reserve(workspace="cli", user="me", estimate_usd=0.01)
    assert (daily.value.limit, daily.value.used, daily.value.cap) == ("daily images", 1, 1)
    assert daily.value.resets_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert "resets 2026-01-01 00:00 UTC" in user_error(daily.value).message

    await quotas.set_override("cli", daily_images=0)  # unlimited images; the budget still holds
    with pytest.raises(QuotaExceeded) as monthly:
        await quotas.reserve(workspace="cli", user="me", estimate_usd=0.31)
    assert (monthly.value.limit, monthly.value.used, monthly.value.cap) == (
        "monthly budget",
        0.2,
        0.5,
    )
    assert monthly.value.resets_at == datetime(2026, 1, 1, tzinfo=UTC)
    clock.now = datetime(2026, 2, 10, tzinfo=UTC)
    with pytest.raises(QuotaExceeded) as later:
        await quotas.reserve(workspace="cli", user="me", estimate_usd=0.51)
    assert later.value.resets_at == datetime(2026, 3, 1, tzinfo=UTC)

    clock.now = datetime(2025, 12, 31, 22, 30, tzinfo=UTC)
    after = await quotas.usage("cli")
    assert (after.images_reserved, after.reserved_usd) == (before.images_reserved, 0.2)
    assert await open_rows(store) == 1


async def test_per_user_rate(store: Store, clock: Clock) -> None:
    quotas = ledger(store, clock, user_rate="2/minute")
    for _ in range(2):
        await quotas.reserve(workspace="slack:T1", user="alice", estimate_usd=0)
    start = datetime.now(UTC)
    with pytest.raises(QuotaExceeded) as info:
        await quotas.reserve(workspace="slack:T1", user="alice", estimate_usd=0)
    assert (info.value.limit, info.value.used, info.value.cap) == ("rate", 2, 2)
    assert info.value.resets_at is not None
    assert start < info.value.resets_at <= start + timedelta(seconds=60)
    await quotas.reserve(workspace="slack:T1", user="bob", estimate_usd=0)
    await quotas.reserve(workspace="discord:9", user="alice", estimate_usd=0)  # another platform
    assert (await quotas.usage("slack:T1")).images_reserved == 3
    await quotas.aclose()


async def test_a_refused_call_does_not_use_a_rate_slot(store: Store, clock: Clock) -> None:
    quotas = ledger(store, clock, user_rate="2/minute", daily_images=1)
    await quotas.reserve(workspace="cli", user="me", estimate_usd=0)
    with pytest.raises(QuotaExceeded, match="daily images"):
        await quotas.reserve(workspace="cli", user="me", estimate_usd=0)
    await quotas.set_override("cli", daily_images=2)
    await quotas.reserve(workspace="cli", user="me", estimate_usd=0)  # 2nd accepted call
    await quotas.aclose()


async def test_overrides_persist_across_reopening(db_url: str, clock: Clock) -> None:
    async with await Store.open(db_url) as store:
        quotas = ledger(store, clock, daily_images=100, monthly_budget_usd=50)
        limits = await quotas.set_override("discord:42", daily_images=3)
        assert (limits.daily_images, limits.monthly_budget_usd) == (3, 50)
        await quotas.set_override("discord:42", monthly_budget_usd=7.5)  # daily stays 3
    async with await Store.open(db_url) as store:
        quotas = ledger(store, clock, daily_images=100, monthly_budget_usd=50)
        limits = await quotas.get_limits("discord:42")
        assert (limits.daily_images, limits.monthly_budget_usd) == (3, 7.5)
        assert (await quotas.get_limits("discord:43")).daily_images == 100
        assert (
            len([r for r in await burst(quotas, 5, 0, "discord:42") if isinstance(r, Reservation)])
            == 3
        )
        await quotas.clear_override("discord:42")
        assert (await quotas.usage("discord:42")).limits.daily_images == 100
    with pytest.raises(ValueError):
        await quotas.set_override("x", daily_images=-1)


async def test_periods_roll_over_at_midnight_and_month_end(store: Store, clock: Clock) -> None:
    clock.now = datetime(2025, 1, 31, 23, 59, tzinfo=UTC)
    quotas = ledger(store, clock, daily_images=2, monthly_budget_usd=0.3)
    late = await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO)
    await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO)
    with pytest.raises(QuotaExceeded, match="daily images"):
        await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO)

    clock.now = datetime(2025, 2, 1, 0, 0, 1, tzinfo=UTC)
    await quotas.settle(late, cost_usd=PRO, model="pro")  # billed to the day it was reserved
    usage = await quotas.usage("cli")
    assert (usage.images_today, usage.images_reserved, usage.spent_usd) == (0, 0, 0)
    assert usage.daily_resets_at == datetime(2025, 2, 2, tzinfo=UTC)
    assert usage.monthly_resets_at == datetime(2025, 3, 1, tzinfo=UTC)
    for _ in range(2):
        await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO)
    with pytest.raises(QuotaExceeded, match="daily images"):
        await quotas.reserve(workspace="cli", user="me", estimate_usd=PRO)


async def test_usage_breaks_down_by_model_and_user(store: Store, clock: Clock) -> None:
    clock.now = datetime(2025, 3, 13, 9, tzinfo=UTC)
    quotas = ledger(store, clock, daily_images=100, monthly_budget_usd=50)

    async def make(user: str, model: str, cost: float) -> None:
        r = await quotas.reserve(workspace="slack:T1", user=user, estimate_usd=PRO)
        await quotas.settle(r, cost_usd=cost, model=model)

    await make("alice", "pro", PRO)  # yesterday
    clock.now = datetime(2025, 3, 14, 9, tzinfo=UTC)
    await make("alice", "flash", FLASH)
    await make("bob", "flash", FLASH)
    failed = await quotas.reserve(workspace="slack:T1", user="bob", estimate_usd=PRO)
    await quotas.release(failed)
    await make("carol", "pro", PRO)
    await quotas.reserve(workspace="other", user="alice", estimate_usd=PRO)

    usage = await quotas.usage("slack:T1")
    assert (usage.images_today, usage.spent_usd) == (3, 0.346)
    assert usage.by_model == {"flash": Tally(2, 2, 0.078), "pro": Tally(1, 2, 0.268)}
    assert usage.by_user == {
        "alice": Tally(1, 2, 0.173),
        "bob": Tally(1, 1, FLASH),
        "carol": Tally(1, 1, PRO),
    }
    mine = await quotas.usage("slack:T1", user="bob")
    assert mine.by_user == {"bob": Tally(1, 1, FLASH)}
    assert mine.by_model == {"flash": Tally(1, 1, FLASH)}
    assert mine.images_today == 3  # the workspace's total; the breakdown is bob's


async def test_bad_configuration_is_refused(store: Store, clock: Clock) -> None:
    for bad in ("5 per fortnight", "often", "/minute"):
        with pytest.raises(ConfigError, match="IMAGINE_USER_RATE"):
            ledger(store, clock, user_rate=bad)
    with pytest.raises(ConfigError):
        ledger(store, clock, daily_images=-1)
    naive = ledger(store, Clock(datetime(2025, 1, 1)))
    with pytest.raises(ValueError, match="timezone-aware"):
        await naive.reserve(workspace="cli", user="me", estimate_usd=0)


async def test_two_processes_share_one_ledger(db_url: str, clock: Clock) -> None:
    """The cap holds in the database, not only in one Quotas: e.g. the bot and the CLI."""
    async with await Store.open(db_url) as one, await Store.open(db_url) as two:
        a, b = ledger(one, clock, daily_images=10), ledger(two, clock, daily_images=10)
        results = await asyncio.gather(burst(a, 25, PRO), burst(b, 25, PRO))
        won = [r for batch in results for r in batch if isinstance(r, Reservation)]
        assert len(won) == 10
        assert (await a.usage("slack:T1")).images_reserved == 10
        assert await open_rows(one) == 10


async def test_huge_admin_numbers_are_refused_naming_the_limit(store: Store, clock: Clock) -> None:
    """Issue 13.7: `/imagine-admin quota daily 1e30` and `budget 1e300` (shared by Slack,
    Discord and the playground) are refused in words naming the limit, and nothing changes;
    the largest allowed values fit the ledger (int64 micro-dollars) and can be reserved."""
    quotas = ledger(store, clock, daily_images=7, monthly_budget_usd=9)
    admin = Admin(GuildSettings(store), quotas)
    asks = {
        ("quota", "daily", "1e30"): "at most 1,000,000 images",
        ("quota", "daily", "1000001"): "at most 1,000,000 images",
        ("budget", "1e300"): "at most $1,000,000",
        ("budget", "$1000000.01"): "at most $1,000,000",
        ("budget", "inf"): "isn't a number I can use",
        ("budget", "nan"): "isn't a number I can use",
    }
    for words, said in asks.items():
        with pytest.raises(InputError) as caught:
            await admin.change(words, workspace="slack:T1", user="U1", channel="C", shown_as="#c")
        assert said in user_error(caught.value).message, words
    assert await quotas.get_limits("slack:T1") == (await quotas.get_limits("none"))
    for words in (("quota", "daily", "1000000"), ("budget", "1000000")):
        await admin.change(words, workspace="slack:T1", user="U1", channel="C", shown_as="#c")
    limits = await quotas.get_limits("slack:T1")
    assert (limits.daily_images, limits.monthly_budget_usd) == (1_000_000, 1_000_000)
    held = await quotas.reserve(workspace="slack:T1", user="U1", estimate_usd=999_999)
    assert await quotas.settle(held, cost_usd=999_999, model="m")
    assert (await quotas.usage("slack:T1")).spent_usd == 999_999
    with pytest.raises(ValueError):
        await quotas.set_override("slack:T1", monthly_budget_usd=1e300)
    with pytest.raises(ConfigError, match="1,000,000"):
        ledger(store, clock, monthly_budget_usd=float("inf"))
