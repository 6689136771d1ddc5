"""Discord's embed limits and the text helpers every view uses, and the
``/imagine-usage`` and ``/imagine-admin show`` embeds (re-exported by ``embeds``).

Words as in Slack's ``adapters.slack.blocks_admin``, with "server" for
"workspace". Limits of 0 mean unlimited (as in ``bot.quotas``); times are UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

import discord

from bot.guild_settings import GuildConfig
from bot.quotas import Limits, Tally, Usage

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
MAX_FIELDS = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
TOTAL_MAX = 6000
INFO = discord.Colour.blurple()
_SNOWFLAKE = re.compile(r"[0-9]{1,20}")


# -- primitives ------------------------------------------------------------------------
def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in "…" if cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def title(prompt: str) -> str:
    """A prompt as an embed title: one line, at most 256 characters."""
    return clip(" ".join(prompt.split()), TITLE_MAX) or "(no prompt)"


def code(name: str) -> str:
    """A model id as inline code."""
    return f"`{name.replace('`', '')}`"


def mention(user_id: int | str) -> str:
    """``<@123>`` for a Discord user id; anything else is shown as plain text."""
    text = str(user_id)
    if _SNOWFLAKE.fullmatch(text):
        return f"<@{text}>"
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def channel(channel_id: str) -> str:
    if _SNOWFLAKE.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return discord.utils.escape_mentions(discord.utils.escape_markdown(channel_id))


def pack(lines: Iterable[str], limit: int) -> list[str]:
    """Lines joined into as few texts of at most ``limit`` characters as they fit."""
    chunks: list[str] = []
    for line in (clip(x, limit) for x in lines):
        if chunks and len(chunks[-1]) + 1 + len(line) <= limit:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks


def fold(lines: Iterable[str], what: str, limit: int = FIELD_VALUE_MAX) -> str:
    """As many lines as fit in ``limit`` characters, then "… and N more {what}"."""
    items = [clip(x, limit) for x in lines]
    for keep in range(len(items), -1, -1):
        more = len(items) - keep
        text = "\n".join([*items[:keep], *([f"… and {more} more {what}"] if more else [])])
        if len(text) <= limit:
            return text
    return clip(f"… and {len(items)} more {what}", limit)


# -- /imagine-usage --------------------------------------------------------------------
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


def usage_embed(
    *, workspace: Usage, mine: Usage, limits: Limits, rate: str | None
) -> discord.Embed:
    """The server's day and month against its limits, the caller's share, and per model."""
    today = _images(workspace.images_today)
    today += f" of {limits.daily_images}" if limits.daily_images else " (no daily limit)"
    if workspace.images_reserved:
        today += f" + {workspace.images_reserved} in progress"
    spent = _usd(workspace.spent_usd)
    budget = limits.monthly_budget_usd
    spent += f" of {_usd(budget)}" if budget else " (no monthly budget)"
    if workspace.reserved_usd:
        spent += f" + {_usd(workspace.reserved_usd)} reserved"
    you = _sum(mine.by_user.values())
    embed = discord.Embed(title="Image usage", description="**This server**", colour=INFO)
    for name, value in (
        ("Server images today", f"{today}\nResets {_utc(workspace.daily_resets_at)}"),
        ("Server spend this month", f"{spent}\nResets {_utc(workspace.monthly_resets_at)}"),
        ("You today", _images(you.images_today)),
        ("You this month", f"{_images(you.images_month)} · {_usd(you.spent_usd)}"),
    ):
        embed.add_field(name=name, value=clip(value, FIELD_VALUE_MAX))
    if workspace.by_model:
        lines = [
            f"{code(model)} — {t.images_today} today · {_images(t.images_month)} this month"
            f" · {_usd(t.spent_usd)}"
            for model, t in sorted(workspace.by_model.items())
        ]
        embed.add_field(name="By model, this month", value=fold(lines, "models"), inline=False)
    notes = [f"Per-person rate limit: {rate}" if rate else "No per-person rate limit"]
    if workspace.in_flight:
        notes.append(f"{workspace.in_flight} generating now")
    embed.set_footer(text=clip(" · ".join(notes), FOOTER_MAX))
    return embed


# -- /imagine-admin show ---------------------------------------------------------------
def admin_show_embed(cfg: GuildConfig, limits: Limits, chain_default: list[str]) -> discord.Embed:
    """This server's settings and where each comes from."""
    if cfg.status_channel:
        status = channel(cfg.status_channel)
    else:
        status = "not set (run `/imagine-admin status-channel` in a channel)"
    chain = list(cfg.models) if cfg.models else chain_default
    origin = "set for this server" if cfg.models else "the default"
    models = " → ".join(code(m) for m in chain) or "none"
    budget = _usd(limits.monthly_budget_usd) if limits.monthly_budget_usd else "unlimited"
    admins = ", ".join(mention(a) for a in sorted(cfg.admins)) or "none"
    embed = discord.Embed(title="imagine-bot settings", description="**This server**", colour=INFO)
    for name, value, inline in (
        ("Status channel", status, True),
        ("Daily images", str(limits.daily_images or "unlimited"), True),
        ("Monthly budget", budget, True),
        ("Safety failover", "on" if cfg.safety_failover else "off", True),
        (f"Models ({origin})", models, False),
        ("Admins", admins, False),
    ):
        embed.add_field(name=name, value=clip(value, FIELD_VALUE_MAX), inline=inline)
    embed.set_footer(text="Change them with /imagine-admin — e.g. /imagine-admin quota daily 100")
    return embed
