"""Discord's embed limits and the text helpers every view uses, and the
``/imagine-usage`` and ``/imagine-admin show`` embeds (re-exported by ``embeds``).

Words as in Slack's ``adapters.slack.blocks_admin``, with "server" for
"workspace". Limits of 0 mean unlimited (as in ``bot.quotas``); times are UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import discord

from bot.guild_settings import GuildConfig
from bot.quotas import Limits, Usage
from bot.usage_text import budget, usage_view

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
def usage_embed(
    *, workspace: Usage, mine: Usage, limits: Limits, rate: str | None
) -> discord.Embed:
    """The server's day and month against its limits, the caller's share, and per model."""
    v = usage_view(workspace=workspace, mine=mine, limits=limits, rate=rate)
    embed = discord.Embed(title="Image usage", description="**This server**", colour=INFO)
    for name, value in (
        ("Server images today", f"{v.today}\nResets {v.daily_resets}"),
        ("Server spend this month", f"{v.spent}\nResets {v.monthly_resets}"),
        ("You today", v.you_today),
        ("You this month", v.you_month),
    ):
        embed.add_field(name=name, value=clip(value, FIELD_VALUE_MAX))
    if v.by_model:
        lines = [f"{code(model)} — {line}" for model, line in v.by_model]
        embed.add_field(name="By model, this month", value=fold(lines, "models"), inline=False)
    embed.set_footer(text=clip(" · ".join(v.notes), FOOTER_MAX))
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
    admins = ", ".join(mention(a) for a in sorted(cfg.admins)) or "none"
    embed = discord.Embed(title="imagine-bot settings", description="**This server**", colour=INFO)
    for name, value, inline in (
        ("Status channel", status, True),
        ("Daily images", str(limits.daily_images or "unlimited"), True),
        ("Monthly budget", budget(limits), True),
        ("Safety failover", "on" if cfg.safety_failover else "off", True),
        (f"Models ({origin})", models, False),
        ("Admins", admins, False),
    ):
        embed.add_field(name=name, value=clip(value, FIELD_VALUE_MAX), inline=inline)
    embed.set_footer(text="Change them with /imagine-admin — e.g. /imagine-admin quota daily 100")
    return embed
