"""One call to one route, for a walk (``bot.walk``): the breaker's admission when a
retry is finally sent, the call under its timeout, a thread's history resent
rebased when the model refuses it, and the verdict — fed to the route's health,
and to the other routes on its channel (``bot.vendor_health``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.domain import Attempt, GenerationRequest, Outcome, ProviderImage
from bot.errors import (
    HistoryRejected,
    InvalidRequest,
    ModelNotOffered,
    ProviderError,
    ProviderMisconfigured,
    ProviderRateLimited,
    ProviderServerError,
    ProviderTimeout,
    SafetyBlocked,
)
from bot.messages import SKIPPED_RETRY
from bot.rebase import for_route, rebased
from bot.route import Route, WalkKit
from bot.status_text import not_offered_note
from bot.vendor_health import defer_below, sibling_down, vendor_wide

log = logging.getLogger("bot.router")


@dataclass(slots=True)
class Done:
    """What one call came to."""

    route: Route
    attempt: Attempt
    image: ProviderImage | None = None
    error: ProviderError | None = None
    rebased: bool = False  # the thread's history was replaced for this route


@dataclass(slots=True)
class Run:
    """One attempt task's bookkeeping. ``ticket`` is the breaker admission (None:
    not admitted yet, e.g. a retry waiting out its jitter); ``begun``: the call was
    sent, so a cancellation may have been billed."""

    route: Route
    started: float
    probe: bool  # a probe of a sick route: always hedged
    ticket: int | None
    begun: bool = False


async def call_route(
    kit: WalkKit,
    run: Run,
    request: GenerationRequest,
    *,
    deadline: float,
    delay: float = 0.0,
    sent: Callable[[str], None],
) -> Done:
    """Call ``run.route`` once (after ``delay``), within ``deadline``; ``sent(model)``
    is told as the call goes out."""
    route = run.route
    if delay:
        await asyncio.sleep(delay)
    rh = kit.board[route.label]
    model, channel = route.model, route.provider.channel
    if run.ticket is None:
        run.ticket = rh.admit()
        if run.ticket is None:
            return Done(route, Attempt(model.id, channel, Outcome.SKIPPED, detail=SKIPPED_RETRY))
    price = model.price_for(request.size)
    limit = min(model.timeout_s, deadline - kit.clock())
    run.begun = True
    token = rh.begin(run.ticket)
    sent(model.id)
    routed = for_route(request, model.id, channel)
    try:
        async with asyncio.timeout(limit):
            try:
                image = await route.provider.generate(model=model, request=routed)
            except HistoryRejected:
                if not routed.history:
                    raise
                # a signature the model did not make (a rotated key, a relay):
                # the same call once more, the thread rebased — never a user's 400
                log.warning("%s refused the thread's history; resent rebased", route.label)
                routed = rebased(routed)
                image = await route.provider.generate(model=model, request=routed)
    except asyncio.CancelledError:
        latency = rh.abandoned(token)
        log.debug("%s cancelled after %.2fs", route.label, latency)
        raise
    except (ProviderError, TimeoutError) as exc:
        err = exc if isinstance(exc, ProviderError) else ProviderTimeout(model=model.id)
        if run.probe and vendor_wide(err):
            defer_below(kit.routes, kit.board, route)
        return _failed(kit, route, token, err, by_deadline=limit < model.timeout_s)
    except Exception as exc:  # an adapter bug must not take the router down
        log.exception("provider %s raised an unmapped %s", route.label, type(exc).__name__)
        unmapped = ProviderServerError("unmapped error", model=model.id)
        return _failed(kit, route, token, unmapped, by_deadline=False)
    latency = rh.succeeded(token)
    kit.board.refresh()
    attempt = Attempt(model.id, channel, Outcome.OK, ms(latency), price)
    return Done(route, attempt, image, rebased=routed is not request)


def _failed(
    kit: WalkKit, route: Route, token: int, err: ProviderError, *, by_deadline: bool
) -> Done:
    rh = kit.board[route.label]
    if isinstance(err, ProviderTimeout) and by_deadline:
        latency = rh.abandoned(token)
    elif isinstance(err, (SafetyBlocked, InvalidRequest)):  # the model works; the prompt did not
        latency = rh.abandoned(token, counts_as_stall=False)
    else:
        retry_after = err.retry_after if isinstance(err, ProviderRateLimited) else None
        quick = vendor_wide(err) and sibling_down(kit.routes, kit.board, route)
        latency = rh.failed(token, str(err.outcome), retry_after=retry_after, sibling_down=quick)
        if isinstance(err, ModelNotOffered):  # 404: unknown or shut down
            channel = route.provider.channel
            rh.take_offline(not_offered_note(channel, kit.successor(route.model.id)))
            log.error("%s: not served by %s; switched off", route.label, channel)
        elif isinstance(err, ProviderMisconfigured):
            rh.trip(hold_s=kit.policy.misconfigured_hold_s)
            log.error("%s is misconfigured (%s); switched off", route.label, err.status)
    log.info("%s failed: %s (%.2fs)", route.label, err.outcome, latency)
    kit.board.refresh()
    attempt = Attempt(
        route.model.id, route.provider.channel, err.outcome, ms(latency), status=err.status
    )
    return Done(route, attempt, error=err)


def ms(seconds: float) -> int:
    return round(seconds * 1000)
