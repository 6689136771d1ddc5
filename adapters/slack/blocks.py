"""Slack Block Kit for imagine-bot: pure functions from the bot's data to
``(fallback text, blocks)``. No I/O, no slack_sdk.

User text (prompts) is escaped for mrkdwn (``&``, ``<``, ``>``) and every text
object is ``verbatim``, so a prompt such as ``<!channel> hi`` or ``@here`` never
pings anyone. Texts are cut to Slack's limits (section 3000, field 2000, header
150, button 75 characters; 50 blocks). Buttons carry the job id as ``value``,
so a click still finds its job after a restart. Primitives: ``blocks_kit``;
``/imagine-usage`` and ``/imagine-admin``: ``blocks_admin`` (re-exported here).
"""

from __future__ import annotations

from adapters.slack.blocks_admin import admin_help, admin_show_blocks, usage_blocks
from adapters.slack.blocks_kit import (
    MAX_BLOCKS,
    SECTION_MAX,
    Message,
    actions,
    button,
    clip,
    code,
    context,
    escape,
    fallback,
    header,
    mention,
    pack,
    section,
)
from bot.commands import Reply
from bot.messages import UserError
from bot.status_text import StatusRow, StatusView

__all__ = [
    "RETRY",
    "UPSCALE",
    "VARY",
    "admin_help",
    "admin_show_blocks",
    "done_blocks",
    "failed_blocks",
    "image_comment",
    "job_blocks",
    "notice_text",
    "status_blocks",
    "usage_blocks",
]

RETRY = "imagine_retry"
VARY = "imagine_vary"
UPSCALE = "imagine_upscale"


def _quote(prompt: str) -> str:
    """The prompt as a block quote, escaped (``section`` cuts it to fit)."""
    return "\n".join(f">{line}" for line in escape(prompt).split("\n"))


def _short(prompt: str) -> str:
    return clip(escape(" ".join(prompt.split())), 150)


def job_blocks(*, prompt: str, user: str, state: str, detail: str | None = None) -> Message:
    """The job's root message while queued or running."""
    blocks = [section(_quote(prompt)), context(f"Requested by {mention(user)} · {escape(state)}")]
    if detail:
        blocks.append(context(escape(detail)))
    return fallback(f"{escape(state)}:", _short(prompt)), blocks


def done_blocks(*, prompt: str, user: str, job_id: str, reply: Reply) -> Message:
    """The root once the image is made: prompt, who/what/how long/how much, buttons."""
    meta = [f"Requested by {mention(user)}", f"made with {code(reply.model)}"]
    if reply.elapsed_s is not None:
        meta.append(f"{reply.elapsed_s:.1f} s")
    meta.append(f"${reply.cost_usd:.3f}")
    if reply.version is not None:
        meta.append(f"v{reply.version}")
    blocks = [section(_quote(prompt)), context(" · ".join(meta))]
    notes = reply.said()
    if notes:
        blocks.append(section("\n".join(f":warning: {escape(n)}" for n in notes)))
    buttons = [
        button("Retry", RETRY, job_id),
        button("Vary", VARY, job_id),
        button("Upscale 4K", UPSCALE, job_id),
    ]
    blocks.append(actions(job_id, *buttons))
    made = f"Made with {escape(reply.model)}." if not notes else escape(notes[0])
    return fallback("Done:", _short(prompt), "—", made), blocks


def failed_blocks(*, prompt: str, user: str, job_id: str, error: UserError) -> Message:
    """A failure, in the error's own words; a Retry button only if retrying can help."""
    blocks = [
        section(_quote(prompt)),
        section(f":x: {escape(error.message)}"),
        context(f"Requested by {mention(user)}"),
    ]
    if error.retryable:
        blocks.append(actions(job_id, button("Retry", RETRY, job_id)))
    return fallback(escape(error.message)), blocks


def image_comment(reply: Reply) -> str:
    """The uploaded image's comment: version, model, then each notice on its own line."""
    made = f"made with {code(reply.model)}"
    lines = [f"v{reply.version} · {made}" if reply.version is not None else made.capitalize()]
    lines += [f":warning: {escape(n)}" for n in reply.said()]
    return clip("\n".join(lines), SECTION_MAX)


def notice_text(text: str) -> Message:
    """A one-section message (resumed jobs, acks). ``text`` is escaped: plain words only."""
    safe = escape(text)
    return fallback(safe), [section(safe)]


# -- /imagine-status -------------------------------------------------------------------
def _status_line(row: StatusRow) -> str:
    what = f"*{escape(row.since or row.state_word)}*"
    if row.reason:
        what += f" · {escape(row.reason)}"
    mark = " (primary)" if row.primary else ""
    return f"{row.emoji} {code(row.label)}{mark} — {what}"


def status_blocks(view: StatusView) -> Message:
    """Header, summary, then one section per model (packed into fewer if there are many)."""
    summary = escape(view.summary)
    blocks = [header("Image model status"), section(summary)]
    if view.notices:  # shutdowns coming up
        blocks.append(context(*(escape(n) for n in view.notices)))
    room = MAX_BLOCKS - len(blocks)
    if len(view.rows) <= room:
        for r in view.rows:
            fields = [f"*p50 latency*\n{escape(r.p50)}", f"*Success rate*\n{escape(r.success)}"]
            blocks.append(section(_status_line(r), fields=fields))
        return fallback(summary), blocks
    lines = [f"{_status_line(r)} · p50 {escape(r.p50)} · ok {escape(r.success)}" for r in view.rows]
    chunks = pack(lines)
    if len(chunks) > room:
        shown = sum(c.count("\n") + 1 for c in chunks[: room - 1])
        chunks = [*chunks[: room - 1], f"… and {len(lines) - shown} more models"]
    blocks += [section(c) for c in chunks]
    return fallback(summary), blocks
