"""Discord embeds for imagine-bot: pure functions from the bot's data to
``discord.Embed``. No I/O. The same words as Slack's ``adapters.slack.blocks``.

The prompt goes in the title, where a mention never pings (the caller also
sends with ``AllowedMentions.none()``). Texts are cut to Discord's limits
(title and field name 256, description 4096, field value 1024, 25 fields,
6000 in all). Buttons carry the job id in their ``custom_id``, so a click still
finds its job after a restart. ``/imagine-usage`` and ``/imagine-admin`` views
and the limits and text helpers are in ``embeds_admin`` (re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord

from adapters.discord.embeds_admin import (
    DESCRIPTION_MAX,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    MAX_FIELDS,
    TOTAL_MAX,
    admin_show_embed,
    clip,
    code,
    fold,
    mention,
    title,
    usage_embed,
)
from bot.commands import Reply
from bot.messages import UserError
from bot.status_text import StatusRow, StatusView

__all__ = [
    "BACKUP",
    "CUSTOM_ID_PATTERN",
    "DONE",
    "FAILED",
    "RETRY",
    "RUNNING",
    "UPSCALE",
    "VARY",
    "admin_show_embed",
    "custom_id",
    "done_embed",
    "failed_embed",
    "job_embed",
    "notice_embed",
    "status_embed",
    "usage_embed",
]

RUNNING = discord.Colour.blurple()  # queued or running
DONE = discord.Colour.green()
BACKUP = discord.Colour.orange()  # done, with a backup model
FAILED = discord.Colour.red()

RETRY = "retry"
VARY = "vary"
UPSCALE = "upscale"
CUSTOM_ID_PATTERN = r"imagine:(?P<action>retry|vary|upscale):(?P<job>[0-9a-f]{32})"
_CUSTOM_ID = re.compile(CUSTOM_ID_PATTERN)


def custom_id(action: str, job_id: str) -> str:
    """``imagine:retry:<job id>``: what a persistent button's ``DynamicItem`` matches."""
    value = f"imagine:{action}:{job_id}"
    if not _CUSTOM_ID.fullmatch(value):
        raise ValueError(f"not a button action and job id: {action!r}, {job_id!r}")
    return value


def job_embed(*, prompt: str, user_id: int | str, state: str) -> discord.Embed:
    """The job's message while queued or running; ``state``: ``Progress.describe()``."""
    description = clip(f"Requested by {mention(user_id)} · {state}", DESCRIPTION_MAX)
    return discord.Embed(title=title(prompt), description=description, colour=RUNNING)


def done_embed(
    *, prompt: str, user_id: int | str, reply: Reply, filename: str, notes: Sequence[str] = ()
) -> discord.Embed:
    """The image, who asked, what made it, how long it took and what it cost; a
    backup model and any other notices first, where they can't be missed."""
    lines = [f"⚠️ {n}" for n in reply.said()] + [f"ℹ️ {n}" for n in notes]
    embed = discord.Embed(
        title=title(prompt),
        description=clip("\n".join(lines), DESCRIPTION_MAX) or None,
        colour=BACKUP if reply.fallback else DONE,
    )
    embed.add_field(name="Requested by", value=clip(mention(user_id), FIELD_VALUE_MAX))
    model = clip(code(reply.model), FIELD_VALUE_MAX)
    embed.add_field(name="Backup model" if reply.fallback else "Model", value=model)
    if reply.elapsed_s is not None:
        embed.add_field(name="Time", value=f"{reply.elapsed_s:.1f} s")
    embed.add_field(name="Cost", value=f"${reply.cost_usd:.3f}")
    if reply.version is not None:
        embed.add_field(name="Version", value=f"v{reply.version}")
    embed.set_image(url=f"attachment://{filename}")
    return _within_total(embed)


def failed_embed(*, prompt: str, user_id: int | str, error: UserError) -> discord.Embed:
    """A failure in the error's own words (never an exception's text)."""
    embed = discord.Embed(
        title=title(prompt), description=clip(error.message, DESCRIPTION_MAX), colour=FAILED
    )
    embed.add_field(name="Requested by", value=clip(mention(user_id), FIELD_VALUE_MAX))
    return embed


def notice_embed(text: str) -> discord.Embed:
    """A one-paragraph message (resumed jobs, acknowledgements)."""
    return discord.Embed(description=clip(text, DESCRIPTION_MAX) or "…", colour=RUNNING)


def _within_total(embed: discord.Embed) -> discord.Embed:
    """Cut the description so the embed stays within Discord's 6000 characters."""
    over = len(embed) - TOTAL_MAX
    if over > 0 and embed.description:
        embed.description = clip(embed.description, len(embed.description) - over) or None
    return embed


# -- /imagine-status -------------------------------------------------------------------
def _row_name(row: StatusRow) -> str:
    return clip(f"{row.emoji} {row.label}" + (" (primary)" if row.primary else ""), FIELD_NAME_MAX)


def _row_value(row: StatusRow) -> str:
    what = row.since or row.state_word
    if row.reason:
        what += f": {row.reason}"
    return clip(f"{what}\np50 {row.p50} · ok {row.success}", FIELD_VALUE_MAX)


def _row_line(row: StatusRow) -> str:
    """One line per model for the folded field, as ``status_lines`` says it."""
    what = row.since or row.state_word
    if row.reason:
        what += f": {row.reason}"
    mark = " (primary)" if row.primary else ""
    return f"{row.emoji} {code(row.label)}{mark} — {what} · p50 {row.p50} · ok {row.success}"


def _health_colour(view: StatusView) -> discord.Colour:
    if view.total and view.online == 0:
        return FAILED
    if any(r.state_word != "normal" for r in view.rows):
        return BACKUP
    return DONE


def status_embed(view: StatusView) -> discord.Embed:
    """Summary, then one inline field per model; past 25 fields (or 6000 characters)
    the rest are listed in the last field."""
    embed = discord.Embed(
        title="Image models",
        description=clip("\n".join([view.summary, *view.notices]), DESCRIPTION_MAX),
        colour=_health_colour(view),
    )
    fields = [(_row_name(r), _row_value(r)) for r in view.rows]
    room = TOTAL_MAX - len(embed)
    if len(fields) <= MAX_FIELDS and sum(len(n) + len(v) for n, v in fields) <= room:
        for name, value in fields:
            embed.add_field(name=name, value=value)
        return embed
    room -= FIELD_VALUE_MAX + 32  # kept for the folded field
    shown = 0
    for name, value in fields[: MAX_FIELDS - 1]:
        if len(name) + len(value) > room:
            break
        embed.add_field(name=name, value=value)
        room -= len(name) + len(value)
        shown += 1
    rest = view.rows[shown:]
    embed.add_field(
        name=f"… and {len(rest)} more", value=fold(map(_row_line, rest), "models"), inline=False
    )
    return embed
