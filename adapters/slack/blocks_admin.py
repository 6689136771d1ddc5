"""Block Kit for ``/imagine-usage`` and ``/imagine-admin`` (re-exported by ``blocks``).

Limits of 0 mean unlimited (as in ``bot.quotas``); times are shown in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from adapters.slack.blocks_kit import (
    Block,
    Message,
    channel,
    code,
    context,
    escape,
    fallback,
    header,
    mention,
    pack,
    section,
)
from bot.guild_settings import GuildConfig
from bot.quotas import Limits, Tally, Usage

ADMIN_COMMANDS = (
    ("show", "see this workspace's settings"),
    ("status-channel", "announce model outages and recoveries in this channel"),
    ("quota daily N", "at most N images a day for the workspace (0 = unlimited)"),
    ("budget USD", "monthly spending cap in US dollars (0 = unlimited)"),
    ("models a,b,c", "the models to try, best first; `models default` goes back to the default"),
    ("safety-failover on|off", "when a model declines a prompt on safety grounds, try the next"),
)


def _utc(when: datetime) -> str:
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _images(n: int) -> str:
    return f"{n} image" + ("" if n == 1 else "s")


def _sum(tallies: Iterable[Tally]) -> Tally:
    items = list(tallies)
    return Tally(
        images_today=sum(t.images_today for t in items),
        images_month=sum(t.images_month for t in items),
        spent_usd=sum(t.spent_usd for t in items),
    )


def usage_blocks(*, workspace: Usage, mine: Usage, limits: Limits, rate: str | None) -> Message:
    """The workspace's day and month against its limits, the caller's share, and per model."""
    today = _images(workspace.images_today)
    cap = limits.daily_images
    today += f" of {cap}" if cap else " (no daily limit)"
    if workspace.images_reserved:
        today += f" + {workspace.images_reserved} in progress"
    spent = _usd(workspace.spent_usd)
    budget = limits.monthly_budget_usd
    spent += f" of {_usd(budget)}" if budget else " (no monthly budget)"
    if workspace.reserved_usd:
        spent += f" + {_usd(workspace.reserved_usd)} reserved"
    you = _sum(mine.by_user.values())
    fields = [
        f"*Workspace images today*\n{today}\nResets {_utc(workspace.daily_resets_at)}",
        f"*Workspace spend this month*\n{spent}\nResets {_utc(workspace.monthly_resets_at)}",
        f"*You today*\n{_images(you.images_today)}",
        f"*You this month*\n{_images(you.images_month)} · {_usd(you.spent_usd)}",
    ]
    blocks: list[Block] = [header("Image usage"), section("*This workspace*", fields=fields)]
    if workspace.by_model:
        lines = [
            f"{code(model)} — {t.images_today} today · {_images(t.images_month)} this month"
            f" · {_usd(t.spent_usd)}"
            for model, t in sorted(workspace.by_model.items())
        ]
        blocks += [section(chunk) for chunk in pack(["*By model, this month*", *lines])][:40]
    notes = [f"Per-person rate limit: {escape(rate)}" if rate else "No per-person rate limit"]
    if workspace.in_flight:
        notes.append(f"{workspace.in_flight} generating now")
    blocks.append(context(" · ".join(notes)))
    return fallback(f"Today: {today}. This month: {spent}."), blocks


def admin_help() -> str:
    """The ``/imagine-admin`` usage text (mrkdwn)."""
    lines = [f"• `/imagine-admin {name}` — {what}" for name, what in ADMIN_COMMANDS]
    return "\n".join(["*`/imagine-admin`* — workspace settings (admins only):", *lines])


def admin_show_blocks(cfg: GuildConfig, limits: Limits, chain_default: list[str]) -> Message:
    """``/imagine-admin show``: this workspace's settings and where each comes from."""
    if cfg.status_channel:
        status = channel(cfg.status_channel)
    else:
        status = "not set (run `/imagine-admin status-channel` in a channel)"
    chain = list(cfg.models) if cfg.models else chain_default
    origin = "set for this workspace" if cfg.models else "the default"
    models = " → ".join(code(m) for m in chain) or "none"
    budget = _usd(limits.monthly_budget_usd) if limits.monthly_budget_usd else "unlimited"
    admins = ", ".join(mention(a) for a in sorted(cfg.admins)) or "none"
    fields = [
        f"*Status channel*\n{status}",
        f"*Daily images*\n{limits.daily_images or 'unlimited'}",
        f"*Monthly budget*\n{budget}",
        f"*Safety failover*\n{'on' if cfg.safety_failover else 'off'}",
        f"*Models* ({origin})\n{models}",
        f"*Admins*\n{admins}",
    ]
    blocks = [header("imagine-bot settings"), section("*This workspace*", fields=fields)]
    blocks.append(
        context("Change them with `/imagine-admin` — e.g. `/imagine-admin quota daily 100`")
    )
    return fallback("imagine-bot settings for this workspace"), blocks
