"""What the ledger reports: a workspace's day and month, per model and per user
(``Quotas.usage``), read from the counters and the settled reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store import Store

MICRO = 1_000_000
Periods = tuple[str, str, datetime, datetime]
"""(day, month, next midnight, first of next month), all UTC."""


@dataclass(frozen=True)
class Limits:
    daily_images: int  # 0 = unlimited
    monthly_budget_usd: float  # 0 = unlimited


@dataclass(frozen=True)
class Tally:
    images_today: int
    images_month: int
    spent_usd: float


@dataclass(frozen=True)
class Usage:
    workspace: str
    limits: Limits
    images_today: int  # settled today
    images_reserved: int  # reserved today, not yet settled or released
    spent_usd: float  # settled this month
    reserved_usd: float
    daily_resets_at: datetime
    monthly_resets_at: datetime
    in_flight: int  # reserved, not yet settled or released (queued or running)
    by_model: dict[str, Tally]  # settled this month
    by_user: dict[str, Tally]


async def read_usage(
    store: Store, workspace: str, limits: Limits, periods: Periods, user: str | None
) -> Usage:
    day, month, next_day, next_month = periods
    counters = {
        (counter, period): (spent, reserved)
        for counter, period, spent, reserved in await store.fetchall(
            "SELECT counter, period, spent, reserved FROM quota_usage WHERE workspace = ?"
            " AND ((counter = 'images' AND period = ?) OR (counter = 'musd' AND period = ?))",
            (workspace, day, month),
        )
    }
    images, images_reserved = counters.get(("images", day), (0, 0))
    spent, reserved = counters.get(("musd", month), (0, 0))
    open_row = await store.fetchone(
        "SELECT count(*) FROM quota_reservations WHERE workspace = ? AND state = 'reserved'",
        (workspace,),
    )
    return Usage(
        workspace=workspace,
        limits=limits,
        images_today=images,
        images_reserved=images_reserved,
        spent_usd=spent / MICRO,
        reserved_usd=reserved / MICRO,
        daily_resets_at=next_day,
        monthly_resets_at=next_month,
        in_flight=int(open_row[0]) if open_row else 0,
        by_model=await _tallies(store, "model", workspace, day, month, user),
        by_user=await _tallies(store, "user", workspace, day, month, user),
    )


async def _tallies(
    store: Store, column: str, workspace: str, day: str, month: str, user: str | None
) -> dict[str, Tally]:
    column = f'"{column}"'  # "user" is a reserved word in PostgreSQL
    rows = await store.fetchall(
        f"SELECT {column}, sum(CASE WHEN day = ? THEN 1 ELSE 0 END), count(*),"
        " sum(cost_musd) FROM quota_reservations WHERE workspace = ? AND month = ?"
        " AND state = 'settled' AND (CAST(? AS TEXT) IS NULL OR \"user\" = ?)"
        f" GROUP BY {column} ORDER BY {column}",
        (day, workspace, month, user, user),
    )
    # int(): PostgreSQL sums BIGINTs as NUMERIC (Decimal)
    return {
        key: Tally(int(today), int(count), int(cost) / MICRO) for key, today, count, cost in rows
    }
