"""The quota ledger: reserve before generating, settle or release after.

Per workspace (``"slack:T123"``, ``"discord:42"``, ``"cli"``): a daily image cap
(resets 00:00 UTC), a monthly USD budget (resets on the 1st, 00:00 UTC), both
overridable per workspace in the database (0 = unlimited). Per user: a burst
rate such as ``"5/minute"`` (the ``limits`` library, moving window; in memory, or
in ``rate_storage`` — shared by every process, e.g. Redis — when one is given).

``Quotas`` holds the limits, the overrides, the rate and the usage reads; the rows
are ``bot.quota_ledger``'s. ``reserve`` tests the rate, then counts 1 image and the
estimated cost as *reserved*, or refuses what would pass a cap having reserved
nothing; ``settle`` moves the reservation to *spent* at the actual price;
``release`` drops it (a failed generation is not billed). A second call of either
does nothing. The caps hold in the database, across processes (``bot.quota_ledger``).

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
from datetime import UTC, datetime

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from bot.bounds import MAX_BUDGET_USD, MAX_DAILY_IMAGES
from bot.errors import ConfigError, QuotaExceeded
from bot.meter import Meter, SafeMeter, refusal_kind
from bot.quota_ledger import Ledger, Reservation, WallClock, periods, to_micros
from bot.quota_usage import MICRO, Limits, Tally, Usage, read_usage
from bot.store import Store

__all__ = [
    "MICRO", "Limits", "Quotas", "Reservation", "Tally", "Usage", "WallClock", "to_micros"
]  # fmt: skip


def _in_bounds(daily_images: int, monthly_budget_usd: float) -> bool:
    """Within 0 … ``bot.bounds`` (NaN is not: every comparison with it is False)."""
    return 0 <= daily_images <= MAX_DAILY_IMAGES and 0 <= monthly_budget_usd <= MAX_BUDGET_USD


def _utcnow() -> datetime:
    return datetime.now(UTC)


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
        self._ledger = Ledger(store, now=now, limits=self.get_limits)

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
                rid = await self._ledger.reserve(workspace, user, estimate, job_id)
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

    async def settle(self, reservation: Reservation, *, cost_usd: float, model: str) -> bool:
        """Bill the actual price instead of the estimate. False if already settled/released."""
        cost = to_micros(cost_usd)
        if cost < 0:
            raise ValueError("cost_usd must not be negative")
        return await self._ledger.close(reservation, "settled", cost, model)

    async def release(self, reservation: Reservation) -> bool:
        """Return the reservation unbilled. False if already settled/released."""
        return await self._ledger.close(reservation, "released", None, None)

    # -- reporting -------------------------------------------------------------
    async def usage(self, workspace: str, *, user: str | None = None) -> Usage:
        """This workspace's day and month; with ``user``, the breakdowns are that user's only."""
        limits = await self.get_limits(workspace)
        return await read_usage(self._store, workspace, limits, periods(self._now()), user)

    # -- a job's side of the ledger (restart recovery) -------------------------------
    async def held_by(self, job_id: str) -> list[Reservation]:
        """Reservations this job holds that were neither settled nor released."""
        return await self._ledger.held_by(job_id)

    async def billed(self, job_id: str) -> bool:
        """True if a run of this job has already been settled."""
        return await self._ledger.billed(job_id)

    async def left_open(self) -> list[Reservation]:
        """Open reservations of finished jobs: a crash came between recording the
        outcome and settling (delivered) or releasing (failed) the reservation."""
        return await self._ledger.left_open()
