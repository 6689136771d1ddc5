"""The ledger's rows: reservations and the day's and month's counters they move.

``Ledger.reserve`` counts 1 image and the estimate as *reserved* in one transaction
whose conditional UPDATEs refuse what would pass a cap (``QuotaExceeded``, nothing
reserved); ``close`` moves a reservation to *spent* at the actual price (settled) or
drops it (released), only if it is still ``reserved``, so a second call does nothing.
Money is integer micro-dollars in the database, so the ledger adds up exactly.

The caps hold in the database (several processes may share it: on PostgreSQL each
conditional UPDATE waits for its row's lock and then re-checks the cap, and every
transaction takes the day's row before the month's, so none overshoots or deadlocks).
It is a transaction, not one statement: SQLite has no UPDATE inside a WITH, and no
PostgreSQL statement can undo one counter when the other refuses (short of an error).
Reservations carry their job's id, so restart recovery finds what a crashed run left
reserved (``held_by``, ``left_open``). ``bot.quotas.Quotas`` holds a ledger and adds
the limits it checks against, the per-user rate and the public calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.errors import QuotaExceeded
from bot.quota_usage import MICRO, Limits, Periods
from bot.store import Row, Store

WallClock = Callable[[], datetime]
"""Aware datetimes; ``datetime.now(UTC)`` in production, a fake in tests."""


def to_micros(usd: float) -> int:
    return round(usd * MICRO)


@dataclass(frozen=True)
class Reservation:
    id: int
    workspace: str
    user: str
    estimate_usd: float
    job_id: str | None = None


def periods(now: datetime) -> Periods:
    """(day, month, next midnight, first of next month), all UTC."""
    if now.tzinfo is None:
        raise ValueError("the quota clock must return timezone-aware datetimes")
    today = now.astimezone(UTC).date()
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return (
        today.isoformat(),
        f"{today:%Y-%m}",
        _midnight(today + timedelta(days=1)),
        _midnight(next_month),
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), UTC)


COUNTED_MAX = 10_000  # workspaces' counter rows known to exist, at most
_RESERVE = (  # 1 image and the estimate, on today's and this month's counters, or nothing
    "UPDATE quota_usage SET reserved = reserved + CASE counter WHEN 'images' THEN 1 ELSE :n END"
    " WHERE workspace = :w AND ("
    "(counter = 'images' AND period = :d"
    " AND (CAST(:ci AS BIGINT) = 0 OR spent + reserved + 1 <= :ci))"
    " OR (counter = 'musd' AND period = :m"
    " AND (CAST(:cm AS BIGINT) = 0 OR spent + reserved + :n <= :cm)))"
)


class _DoesNotFit(Exception):
    """A reservation over a cap (inside ``Ledger.reserve``: rolls its transaction back)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits


class Ledger:
    """The reservation rows and counters of one store (``Quotas`` holds one)."""

    def __init__(
        self, store: Store, *, now: WallClock, limits: Callable[[str], Awaitable[Limits]]
    ) -> None:
        """``limits``: a workspace's caps, read inside the reserving transaction."""
        self._store = store
        self._now = now
        self._limits = limits
        self._counted: set[tuple[str, str, str]] = set()  # (workspace, day, month) rows made

    async def reserve(self, workspace: str, user: str, estimate: int, job_id: str | None) -> int:
        """Reserve 1 image and ``estimate`` micro-dollars: the reservation's id, or
        QuotaExceeded having reserved nothing."""
        now = self._now()
        day, month, next_day, next_month = periods(now)
        counters = (workspace, day, month)
        try:
            async with self._store.transaction() as db:
                limits = await self._limits(workspace)
                if counters not in self._counted:  # made once, never deleted
                    await db.execute(
                        "INSERT INTO quota_usage (workspace, counter, period)"
                        " VALUES (?, 'images', ?), (?, 'musd', ?) ON CONFLICT DO NOTHING",
                        (workspace, day, workspace, month),
                    )
                caps = {"ci": limits.daily_images, "cm": to_micros(limits.monthly_budget_usd)}
                # both counters in one statement, each row checked under its own lock
                if (
                    await db.execute(
                        _RESERVE, {"w": workspace, "d": day, "m": month, "n": estimate, **caps}
                    )
                    < 2
                ):
                    raise _DoesNotFit(limits)  # the transaction rolls back: nothing reserved
                row = await db.fetchone(
                    "INSERT INTO quota_reservations"
                    ' (workspace, "user", job_id, day, month, estimate_musd, created_at)'
                    " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (workspace, user, job_id, day, month, estimate, now.timestamp()),
                )
                assert row is not None
        except _DoesNotFit as refused:
            usage = await self._store.fetchall(
                "SELECT counter, spent + reserved FROM quota_usage"
                " WHERE workspace = ? AND ((counter = 'images' AND period = ?)"
                " OR (counter = 'musd' AND period = ?))",
                (workspace, day, month),
            )
            used = {str(counter): int(total) for counter, total in usage}
            if len(used) < 2 and counters in self._counted:  # the rows went: make them again
                self._counted.discard(counters)
                return await self.reserve(workspace, user, estimate, job_id)
            cap_i, budget = refused.limits.daily_images, refused.limits.monthly_budget_usd
            if cap_i and used.get("images", 0) + 1 > cap_i:
                raise QuotaExceeded(
                    "daily images", used=used.get("images", 0), cap=cap_i, resets_at=next_day
                ) from None
            raise QuotaExceeded(
                "monthly budget", used=used.get("musd", 0) / MICRO, cap=budget, resets_at=next_month
            ) from None
        if len(self._counted) > COUNTED_MAX:
            self._counted.clear()  # yesterday's are of no use: start again
        self._counted.add(counters)
        return int(row[0])

    async def close(
        self, reservation: Reservation, state: str, cost: int | None, model: str | None
    ) -> bool:
        """``state`` "settled" (at ``cost`` micro-dollars, by ``model``) or "released";
        False if the reservation was no longer ``reserved``."""
        async with self._store.transaction() as db:
            if not await db.execute(
                "UPDATE quota_reservations SET state = ?, cost_musd = ?, model = ?, closed_at = ?"
                " WHERE id = ? AND state = 'reserved'",
                (state, cost, model, self._now().timestamp(), reservation.id),
            ):
                return False
            row = await db.fetchone(
                "SELECT workspace, day, month, estimate_musd FROM quota_reservations WHERE id = ?",
                (reservation.id,),
            )
            assert row is not None
            workspace, day, month, estimate = row
            for counter, period, held, spent in (
                ("images", day, 1, 1),
                ("musd", month, estimate, cost),
            ):
                await db.execute(
                    "UPDATE quota_usage SET reserved = reserved - ?, spent = spent + ?"
                    " WHERE workspace = ? AND counter = ? AND period = ?",
                    (held, spent if state == "settled" else 0, workspace, counter, period),
                )
        return True

    # -- a job's side of the ledger (restart recovery; ``Quotas`` says what each means) --
    async def held_by(self, job_id: str) -> list[Reservation]:
        rows = await self._store.fetchall(
            'SELECT id, workspace, "user", estimate_musd, job_id FROM quota_reservations'
            " WHERE job_id = ? AND state = 'reserved' ORDER BY id",
            (job_id,),
        )
        return [_reservation(r) for r in rows]

    async def billed(self, job_id: str) -> bool:
        row = await self._store.fetchone(
            "SELECT 1 FROM quota_reservations WHERE job_id = ? AND state = 'settled' LIMIT 1",
            (job_id,),
        )
        return row is not None

    async def left_open(self) -> list[Reservation]:
        rows = await self._store.fetchall(
            'SELECT r.id, r.workspace, r."user", r.estimate_musd, r.job_id'
            " FROM quota_reservations r JOIN jobs j ON j.id = r.job_id"
            " WHERE r.state = 'reserved' AND j.state IN ('delivered', 'failed') ORDER BY r.id"
        )
        return [_reservation(r) for r in rows]


def _reservation(row: Row) -> Reservation:
    """A ``(id, workspace, user, estimate_musd, job_id)`` row."""
    rid, workspace, user, estimate, job_id = row
    return Reservation(rid, workspace, user, estimate / MICRO, job_id)
