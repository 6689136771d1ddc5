"""Block Kit for ``/imagine-usage`` and ``/imagine-admin`` (re-exported by ``blocks``).

Limits of 0 mean unlimited (as in ``bot.quotas``); times are shown in UTC.
"""

from __future__ import annotations

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
from bot.admin import ADMIN_COMMANDS
from bot.guild_settings import GuildConfig
from bot.quotas import Limits, Usage
from bot.usage_text import budget, usage_view


def usage_blocks(*, workspace: Usage, mine: Usage, limits: Limits, rate: str | None) -> Message:
    """The workspace's day and month against its limits, the caller's share, and per model."""
    v = usage_view(workspace=workspace, mine=mine, limits=limits, rate=rate)
    fields = [
        f"*Workspace images today*\n{v.today}\nResets {v.daily_resets}",
        f"*Workspace spend this month*\n{v.spent}\nResets {v.monthly_resets}",
        f"*You today*\n{v.you_today}",
        f"*You this month*\n{v.you_month}",
    ]
    blocks: list[Block] = [header("Image usage"), section("*This workspace*", fields=fields)]
    if v.by_model:
        lines = [f"{code(model)} — {line}" for model, line in v.by_model]
        blocks += [section(chunk) for chunk in pack(["*By model, this month*", *lines])][:40]
    blocks.append(context(" · ".join(escape(n) for n in v.notes)))
    return fallback(f"Today: {v.today}. This month: {v.spent}."), blocks


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
    admins = ", ".join(mention(a) for a in sorted(cfg.admins)) or "none"
    fields = [
        f"*Status channel*\n{status}",
        f"*Daily images*\n{limits.daily_images or 'unlimited'}",
        f"*Monthly budget*\n{budget(limits)}",
        f"*Safety failover*\n{'on' if cfg.safety_failover else 'off'}",
        f"*Models* ({origin})\n{models}",
        f"*Admins*\n{admins}",
    ]
    blocks = [header("imagine-bot settings"), section("*This workspace*", fields=fields)]
    blocks.append(
        context("Change them with `/imagine-admin` — e.g. `/imagine-admin quota daily 100`")
    )
    return fallback("imagine-bot settings for this workspace"), blocks
