"""Live freshness: what each channel really serves, and shutdowns coming up.

At start and then daily (hourly while a route is off) each configured channel
is asked for its model list through the provider port (``ModelLister``: Gemini
``models.list``, OpenAI ``models.list``), which spends no image:

- a chain model the channel does not list → that route is taken offline (🔴
  "not offered by <channel>") and never called; listed again → back on;
- a channel without a list (a relay) or one that fails to answer → skipped
  quietly, its routes left as they are;
- a shutdown date within ``warn_days`` — from the list (OpenAI's
  ``shutdown_date``) or the catalogue (``retired`` in the future) — becomes a
  notice "X shuts down on D — its successor is Y" for ``doctor``,
  ``/imagine-status``, ``imagine-bot models`` and the status channels.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.catalog import Catalog
from bot.ports import ImageProvider, ModelLister
from bot.router import Router
from bot.status_text import not_offered_note, shutdown_text
from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class ChannelOffer:
    channel: str
    models: dict[str, date | None] | None  # id → shutdown date; None: no list to read
    error: str | None = None  # why the list could not be read (our words)
    checked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ShutdownNotice:
    model: str
    on: date
    successor: str | None

    @property
    def text(self) -> str:
        return shutdown_text(self.model, self.on, self.successor)


class Freshness:
    def __init__(
        self,
        router: Router,
        catalog: Catalog,
        *,
        today: Callable[[], date] = date.today,
        warn_days: int = 30,
        timeout_s: float = 30.0,
        interval_s: float = DAY_S,
        recheck_s: float = 3600.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_notices: Callable[[list[ShutdownNotice]], Awaitable[None]] | None = None,
    ) -> None:
        self._router, self._catalog, self._today = router, catalog, today
        self._warn, self._timeout = timedelta(days=warn_days), timeout_s
        self._interval, self._recheck, self._sleep = interval_s, recheck_s, sleep
        self._on_notices = on_notices
        self.offers: dict[str, ChannelOffer] = {}
        self._task: asyncio.Task[None] | None = None

    # -- one look --------------------------------------------------------------
    async def check(self) -> None:
        """Ask every channel of the router's routes for its list; apply what it says."""
        providers: dict[str, ImageProvider] = {}
        for route in self._router.routes:
            providers.setdefault(route.provider.channel, route.provider)
        offers = await asyncio.gather(*(self._ask(n, p) for n, p in providers.items()))
        self.offers = {offer.channel: offer for offer in offers}
        board = self._router.board
        for route in self._router.routes:
            offer = self.offers.get(route.provider.channel)
            if offer is None or offer.models is None:
                continue
            rh = board[route.label]
            if route.model.id in offer.models:
                if rh.offline is not None:
                    log.info("%s is offered by %s again", route.label, offer.channel)
                    rh.bring_online()
            elif rh.offline is None:
                successor = self._catalog.successor(route.model.id)
                log.warning("%s is not offered by %s; switched off", route.label, offer.channel)
                rh.take_offline(not_offered_note(offer.channel, successor))
        board.notices = [notice.text for notice in self.notices()]
        board.refresh()

    async def _ask(self, channel: str, provider: ImageProvider) -> ChannelOffer:
        now = datetime.now(UTC)
        if not isinstance(provider, ModelLister):
            return ChannelOffer(channel, None, None, now)
        try:
            async with asyncio.timeout(self._timeout):
                listed = await provider.list_models()
        except TimeoutError:
            log.warning("model list of %s: no answer in %g s", channel, self._timeout)
            return ChannelOffer(channel, None, "no answer in time", now)
        except Exception as exc:  # a list is a courtesy: never let it stop the bot
            log.warning("model list of %s unavailable: %s", channel, type(exc).__name__)
            return ChannelOffer(channel, None, type(exc).__name__, now)
        if listed is None:
            return ChannelOffer(channel, None, None, now)
        return ChannelOffer(channel, {m.id: m.shutdown for m in listed}, None, now)

    def notices(self) -> list[ShutdownNotice]:
        """Models in use whose shutdown is within ``warn_days`` (soonest first)."""
        today = self._today()
        found: dict[str, date] = {}
        for route in self._router.routes:
            model = route.model.id
            dates = [route.model.retired] if route.model.retired else []
            offer = self.offers.get(route.provider.channel)
            if offer is not None and offer.models is not None:
                listed = offer.models.get(model)
                dates += [listed] if listed else []
            for when in dates:
                if today <= when <= today + self._warn:
                    found[model] = min(when, found.get(model, when))
        return sorted(
            (ShutdownNotice(m, on, self._catalog.successor(m)) for m, on in found.items()),
            key=lambda n: (n.on, n.model),
        )

    # -- the daily task ---------------------------------------------------------
    def start(
        self, on_notices: Callable[[list[ShutdownNotice]], Awaitable[None]] | None = None
    ) -> None:
        """Check now and then every ``interval_s``; hand each round's notices on."""
        self._on_notices = on_notices or self._on_notices
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="freshness")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
                if self._on_notices is not None:
                    await self._on_notices(self.notices())
            except Exception:
                log.exception("freshness check failed")
            board = self._router.board
            off = any(board[r.label].offline for r in self._router.routes)
            await self._sleep(self._recheck if off else self._interval)
