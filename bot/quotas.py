"""The quota ledger: reserve before generating, settle or release after.

Per workspace (``"slack:T123"``, ``"discord:42"``, ``"cli"``): a daily image cap
(resets 00:00 UTC), a monthly USD budget (resets on the 1st, 00:00 UTC), both
overridable per workspace in the database (0 = unlimited). Per user: a burst
rate such as ``"5/minute"`` (the ``limits`` library, moving window; in memory, or
in ``rate_storage`` — shared by every process, e.g. Redis — when one is given).

``reserve`` counts 1 image and the estimated cost as *reserved* in one
transaction whose conditional UPDATEs refuse what would pass a cap; ``settle``
moves the reservation to *spent* at the actual price; ``release`` drops it (a
failed generation is not billed). Both change the reservation row's state only
if it is still ``reserved``, so a second call does nothing. Money is integer
micro-dollars in the database, so the ledger adds up exactly.

The caps hold in the database (several processes may share it: on PostgreSQL each
conditional UPDATE waits for its row's lock and then re-checks the cap, and every
transaction takes the day's row before the month's, so none overshoots or deadlocks).
It is a transaction, not one statement: SQLite has no UPDATE inside a WITH, and no
PostgreSQL statement can undo one counter when the other refuses (short of an error).
The rate lives in this process unless ``rate_storage`` is shared (its owner opens and
closes it, and keeps it answering: ``adapters/shared`` falls back to memory while Redis
is down). How many of a workspace's jobs *run* at once is the job
runner's one cap (``IMAGINE_GUILD_CONCURRENCY``: further jobs wait their turn),
not the ledger's. Reservations carry their job's id, so restart recovery finds
what a crashed run left reserved (``held_by``, ``left_open``). The rate
limiter keeps wall-clock time; the periods follow the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from bot.bounds import MAX_BUDGET_USD, MAX_DAILY_IMAGES
from bot.errors import ConfigError, QuotaExceeded
from bot.meter import Meter, SafeMeter, refusal_kind
from bot.quota_usage import MICRO, Limits, Periods, Tally, Usage, read_usage
from bot.store import Row, Store

__all__ = [
    "MICRO", "Limits", "Quotas", "Reservation", "Tally", "Usage", "WallClock", "to_micros"
]  # fmt: skip

WallClock = Callable[[], datetime]
"""Aware datetimes; ``datetime.now(UTC)`` in production, a fake in tests."""


def to_micros(usd: float) -> int:
    return round(usd * MICRO)


def _in_bounds(daily_images: int, monthly_budget_usd: float) -> bool:
    """Within 0 … ``bot.bounds`` (NaN is not: every comparison with it is False)."""
    return 0 <= daily_images <= MAX_DAILY_IMAGES and 0 <= monthly_budget_usd <= MAX_BUDGET_USD


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Reservation:
    id: int
    workspace: str
    user: str
    estimate_usd: float
    job_id: str | None = None


def _periods(now: datetime) -> Periods:
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
    """A reservation over a cap (inside ``_reserve``: rolls its transaction back)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits


class Quotas:
    def __init__(
        self,
        store: Store,
        *,
        daily_images: int = 100,
        monthly_budget_usd: float = 50.0,
        user_rate: str | None = "5/minute",
        now: WallClock = _utcnow,
        meter: Meter | None = None,
        rate_storage: Storage | None = None,
    ) -> None:
        if not _in_bounds(daily_images, monthly_budget_usd):
            raise ConfigError(
                f"quota limits must be 0 (unlimited) to {MAX_DAILY_IMAGES:,} images a day"
                f" and 0 to ${MAX_BUDGET_USD:,} a month"
            )
        self._store = store
        self._defaults = Limits(daily_images, monthly_budget_usd)
        self._now = now
        self._meter = SafeMeter(meter)  # told of each refusal
        self._rate: RateLimitItem | None = None
        if user_rate and user_rate.strip():
            try:
                self._rate = parse(user_rate)
            except ValueError as exc:
                raise ConfigError(f"IMAGINE_USER_RATE: {user_rate!r} is not a rate") from exc
        self._own_storage: MemoryStorage | None = None
        if rate_storage is None:
            rate_storage = self._own_storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(rate_storage)  # it needs moving windows
        # rate test → ledger → rate hit, one caller at a time per person (only with a rate:
        # people's reservations never wait on each other; the store batches their commits)
        self._gates: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._counted: set[tuple[str, str, str]] = set()  # (workspace, day, month) rows made

    async def aclose(self) -> None:
        """Stop the rate limiter's expiry task (the ledger itself is in the store; a
        shared ``rate_storage`` is its owner's to close)."""
        timer = self._own_storage.timer if self._own_storage is not None else None
        if timer is not None and not timer.done():
            timer.cancel()
            await asyncio.wait([timer])

    # -- limits ----------------------------------------------------------------
    async def get_limits(self, workspace: str) -> Limits:
        row = await self._store.fetchone(
            "SELECT daily_images, monthly_budget_musd FROM quota_overrides WHERE workspace = ?",
            (workspace,),
        )
        if row is None:
            return self._defaults
        daily, budget = row
        return Limits(
            self._defaults.daily_images if daily is None else int(daily),
            self._defaults.monthly_budget_usd if budget is None else budget / MICRO,
        )

    async def set_override(
        self,
        workspace: str,
        *,
        daily_images: int | None = None,
        monthly_budget_usd: float | None = None,
    ) -> Limits:
        """Set this workspace's limits (None leaves one as it is; 0 = unlimited; at most
        ``bot.bounds``' — ``bot.admin`` says so to a person before it gets here)."""
        if not _in_bounds(daily_images or 0, monthly_budget_usd or 0):
            raise ValueError("quota limits out of bounds (see bot.bounds)")
        budget = None if monthly_budget_usd is None else to_micros(monthly_budget_usd)
        await self._store.execute(
            "INSERT INTO quota_overrides VALUES (?, ?, ?, ?) ON CONFLICT (workspace) DO UPDATE"
            " SET daily_images = coalesce(excluded.daily_images, quota_overrides.daily_images),"
            " monthly_budget_musd = coalesce(excluded.monthly_budget_musd,"
            " quota_overrides.monthly_budget_musd),"
            " updated_at = excluded.updated_at",
            (workspace, daily_images, budget, self._now().timestamp()),
        )
        return await self.get_limits(workspace)

    async def clear_override(self, workspace: str) -> None:
        await self._store.execute("DELETE FROM quota_overrides WHERE workspace = ?", (workspace,))

    # -- the ledger ------------------------------------------------------------
    async def reserve(
        self,
        *,
        workspace: str,
        user: str,
        estimate_usd: float,
        job_id: str | None = None,
    ) -> Reservation:
        """Reserve 1 image and ``estimate_usd``, or raise QuotaExceeded having reserved nothing."""
        estimate = to_micros(estimate_usd)
        if estimate < 0:
            raise ValueError("estimate_usd must not be negative")
        async with self._gate(workspace, user):
            try:
                if self._rate and not await self._limiter.test(self._rate, workspace, user):
                    stats = await self._limiter.get_window_stats(self._rate, workspace, user)
                    raise QuotaExceeded(
                        "rate",
                        used=self._rate.amount - stats.remaining,
                        cap=self._rate.amount,
                        resets_at=datetime.fromtimestamp(stats.reset_time, UTC),
                    )
                rid = await self._reserve(workspace, user, estimate, job_id)
            except QuotaExceeded as exc:
                self._meter.refused(kind=refusal_kind(exc.limit))
                raise
            if self._rate:
                await self._limiter.hit(self._rate, workspace, user)
        return Reservation(rid, workspace, user, estimate / MICRO, job_id)

    def _gate(self, workspace: str, user: str) -> asyncio.Lock | contextlib.nullcontext[None]:
        if not self._rate:
            return contextlib.nullcontext()
        gate = self._gates.get((workspace, user))
        if gate is None:
            gate = self._gates[(workspace, user)] = asyncio.Lock()
        return gate

    async def _reserve(self, workspace: str, user: str, estimate: int, job_id: str | None) -> int:
        now = self._now()
        day, month, next_day, next_month = _periods(now)
        counters = (workspace, day, month)
        try:
            async with self._store.transaction() as db:
                limits = await self.get_limits(workspace)
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
                return await self._reserve(workspace, user, estimate, job_id)
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

    async def settle(self, reservation: Reservation, *, cost_usd: float, model: str) -> bool:
        """Bill the actual price instead of the estimate. False if already settled/released."""
        cost = to_micros(cost_usd)
        if cost < 0:
            raise ValueError("cost_usd must not be negative")
        return await self._close(reservation, "settled", cost, model)

    async def release(self, reservation: Reservation) -> bool:
        """Return the reservation unbilled. False if already settled/released."""
        return await self._close(reservation, "released", None, None)

    async def _close(
        self, reservation: Reservation, state: str, cost: int | None, model: str | None
    ) -> bool:
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

    # -- reporting -------------------------------------------------------------
    async def usage(self, workspace: str, *, user: str | None = None) -> Usage:
        """This workspace's day and month; with ``user``, the breakdowns are that user's only."""
        limits = await self.get_limits(workspace)
        return await read_usage(self._store, workspace, limits, _periods(self._now()), user)

    # -- a job's side of the ledger (restart recovery) -------------------------------
    async def held_by(self, job_id: str) -> list[Reservation]:
        """Reservations this job holds that were neither settled nor released."""
        rows = await self._store.fetchall(
            'SELECT id, workspace, "user", estimate_musd, job_id FROM quota_reservations'
            " WHERE job_id = ? AND state = 'reserved' ORDER BY id",
            (job_id,),
        )
        return [_reservation(r) for r in rows]

    async def billed(self, job_id: str) -> bool:
        """True if a run of this job has already been settled."""
        row = await self._store.fetchone(
            "SELECT 1 FROM quota_reservations WHERE job_id = ? AND state = 'settled' LIMIT 1",
            (job_id,),
        )
        return row is not None

    async def left_open(self) -> list[Reservation]:
        """Open reservations of finished jobs: a crash came between recording the
        outcome and settling (delivered) or releasing (failed) the reservation."""
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
