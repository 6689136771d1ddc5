"""Two models of one vendor often fail together (Nano Banana Pro and the fast Nano
Banana both behind Google's channel): what one route's failure says about the
other routes on its channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.errors import ProviderError, ProviderOverloaded, ProviderServerError

if TYPE_CHECKING:
    from bot.health import HealthBoard
    from bot.route import Route


def vendor_wide(err: ProviderError) -> bool:
    """An error that may be the vendor's, not the model's (503s, 5xx)."""
    return isinstance(err, ProviderOverloaded | ProviderServerError)


def sibling_down(routes: Sequence[Route], board: HealthBoard, route: Route) -> bool:
    """Another route on ``route``'s channel has its breaker open: a failure here then
    trips after a run of 2, not 3."""
    return any(
        other is not route
        and other.provider.channel == route.provider.channel
        and board[other.label].tripped
        for other in routes
    )


def defer_below(routes: Sequence[Route], board: HealthBoard, route: Route) -> None:
    """A failed probe pushes back the probes of the open routes *below* it on its
    channel (never a better model's) by their interval and at least the failed
    route's: while the vendor is down, the lower models are not asked more often
    than the best one, so an outage costs about one probe per interval per vendor."""
    below, interval = False, board[route.label].open_period()
    for other in routes:
        if other is route:
            below = True
        elif below and other.provider.channel == route.provider.channel:
            board[other.label].defer_probe(at_least=interval)
