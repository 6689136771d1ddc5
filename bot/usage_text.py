"""Platform-neutral words for ``/imagine-usage`` and the settings view: the numbers a
workspace and a caller see, with their limits and reset times (UTC). Slack blocks
and Discord embeds lay these out; neither computes them. Limits of 0 mean
unlimited, as in ``bot.quotas``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.quotas import Limits, Tally, Usage


def utc(when: datetime) -> str:
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def images(n: int) -> str:
    return f"{n} image" + ("" if n == 1 else "s")


def budget(limits: Limits) -> str:
    return usd(limits.monthly_budget_usd) if limits.monthly_budget_usd else "unlimited"


@dataclass(frozen=True, slots=True)
class UsageView:
    today: str  # "7 images of 100 + 1 in progress"
    spent: str  # "$1.23 of $50.00 + $0.13 reserved"
    daily_resets: str
    monthly_resets: str
    you_today: str
    you_month: str  # "12 images · $1.23"
    by_model: tuple[tuple[str, str], ...]  # (model id, "3 today · 12 images this month · $1.23")
    rate: str | None  # the per-person rate as configured (user-visible text; escape it)
    in_flight: int

    @property
    def notes(self) -> list[str]:
        notes = [f"Per-person rate limit: {self.rate}" if self.rate else "No per-person rate limit"]
        if self.in_flight:
            notes.append(f"{self.in_flight} generating now")
        return notes


def usage_view(*, workspace: Usage, mine: Usage, limits: Limits, rate: str | None) -> UsageView:
    """The workspace's day and month against ``limits``; the caller's share from
    ``mine`` (``Quotas.usage(ws, user=…)``); this month per model."""
    today = images(workspace.images_today)
    today += f" of {limits.daily_images}" if limits.daily_images else " (no daily limit)"
    if workspace.images_reserved:
        today += f" + {workspace.images_reserved} in progress"
    spent = usd(workspace.spent_usd)
    cap = limits.monthly_budget_usd
    spent += f" of {usd(cap)}" if cap else " (no monthly budget)"
    if workspace.reserved_usd:
        spent += f" + {usd(workspace.reserved_usd)} reserved"
    you = _sum(mine.by_user.values())
    by_model = tuple(
        (
            model,
            f"{t.images_today} today · {images(t.images_month)} this month · {usd(t.spent_usd)}",
        )
        for model, t in sorted(workspace.by_model.items())
    )
    return UsageView(
        today=today,
        spent=spent,
        daily_resets=utc(workspace.daily_resets_at),
        monthly_resets=utc(workspace.monthly_resets_at),
        you_today=images(you.images_today),
        you_month=f"{images(you.images_month)} · {usd(you.spent_usd)}",
        by_model=by_model,
        rate=rate,
        in_flight=workspace.in_flight,
    )


def _month(t: Tally) -> str:
    return f"{t.images_today} today · {images(t.images_month)} this month · {usd(t.spent_usd)}"


def _sum(tallies: Iterable[Tally]) -> Tally:
    items = list(tallies)
    return Tally(
        images_today=sum(t.images_today for t in items),
        images_month=sum(t.images_month for t in items),
        spent_usd=sum(t.spent_usd for t in items),
    )
