"""Discord embeds: what a Discord user sees, within the limits Discord enforces."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import discord
import pytest

from adapters.discord import embeds
from bot.commands import Reply
from bot.guild_settings import GuildConfig
from bot.health import HealthState
from bot.messages import UserError
from bot.quotas import Limits, Tally, Usage
from bot.status_text import StatusRow, StatusView

JOB = "5f0c2a9e8d7b4c1a9e3f6b2d8c7a1e04"
USER = 123456789012345678
BACKUP = "Made with backup model gpt-image-1.5 — gemini-3-pro-image-preview is overloaded (503)."
INJECTION = "@everyone look <@999> <@&42> @here"


# -- Discord's documented limits ---------------------------------------------------------
def discord_errors(embed: discord.Embed) -> list[str]:
    """What Discord would reject in an embed; empty when it is valid."""
    data = embed.to_dict()
    errors = []
    if len(data.get("title", "")) > 256:
        errors.append("title")
    if len(data.get("description", "")) > 4096:
        errors.append("description")
    fields = data.get("fields", [])
    if len(fields) > 25:
        errors.append(f"{len(fields)} fields")
    for f in fields:
        if not 0 < len(f["name"]) <= 256 or not 0 < len(f["value"]) <= 1024:
            errors.append(f"field {f['name'][:20]!r}: {len(f['name'])}/{len(f['value'])}")
    if len(data.get("footer", {}).get("text", "")) > 2048:
        errors.append("footer")
    if len(embed) > 6000:
        errors.append(f"{len(embed)} characters in all")
    return errors


def valid(embed: discord.Embed) -> discord.Embed:
    assert discord_errors(embed) == []
    return embed


def body(embed: discord.Embed) -> str:
    """Everything but the title: the parts where a mention would be parsed."""
    data = embed.to_dict()
    parts = [data.get("description", ""), data.get("footer", {}).get("text", "")]
    parts += [f"{f['name']}\n{f['value']}" for f in data.get("fields", [])]
    return "\n".join(parts)


def fields(embed: discord.Embed) -> dict[str, str]:
    return {f.name or "": f.value or "" for f in embed.fields}


def reply(**overrides: Any) -> Reply:
    values: dict[str, Any] = {
        "image": b"png",
        "mime_type": "image/png",
        "model": "gemini-3-pro-image-preview",
        "fallback": False,
        "cost_usd": 0.134,
        "attempts": (),
        "notices": [],
        "version": 2,
        "elapsed_s": 12.34,
    }
    return Reply(**(values | overrides))


def done(**kw: Any) -> discord.Embed:
    args: dict[str, Any] = {"prompt": "a red fox", "user_id": USER, "filename": "v2.png"}
    return valid(embeds.done_embed(**(args | kw)))


# -- the job's message -----------------------------------------------------------------
def test_job_embed_titles_the_prompt_and_says_who_asked_and_where_it_is() -> None:
    embed = valid(embeds.job_embed(prompt="a fox\nin  snow", user_id=USER, state="Queued (#3)"))
    assert embed.title == "a fox in snow"
    assert embed.description == f"Requested by <@{USER}> · Queued (#3)"
    assert embed.colour == discord.Colour.blurple()


def test_a_long_prompt_is_cut_to_the_title_limit() -> None:
    embed = valid(embeds.job_embed(prompt="fox " * 1000, user_id=USER, state="Queued"))
    assert embed.title is not None and len(embed.title) <= 256
    assert embed.title.startswith("fox fox") and embed.title.endswith("…")
    long_state = valid(embeds.job_embed(prompt="p", user_id=USER, state="slow " * 2000))
    assert (long_state.description or "").startswith(f"Requested by <@{USER}> · slow slow")


@pytest.mark.parametrize("view", ["job", "done", "failed"])
def test_a_prompt_stays_in_the_title_where_it_can_not_ping(view: str) -> None:
    error = UserError("x", "The image model declined this prompt.")
    embed = valid(
        embeds.job_embed(prompt=INJECTION, user_id=USER, state="Queued")
        if view == "job"
        else done(prompt=INJECTION, reply=reply())
        if view == "done"
        else embeds.failed_embed(prompt=INJECTION, user_id=USER, error=error)
    )
    assert embed.title == INJECTION
    assert "@everyone" not in body(embed) and "@here" not in body(embed)
    assert re.findall(r"<@&?!?\d+>", body(embed)) == [f"<@{USER}>"]


def test_a_requester_that_is_not_a_discord_id_is_shown_as_text() -> None:
    who = "@everyone <@987654321098765432>"
    embed = valid(embeds.job_embed(prompt="p", user_id=who, state="Queued"))
    assert "@everyone" not in body(embed) and "<@987654321098765432>" not in body(embed)


# -- finished --------------------------------------------------------------------------
def test_done_embed_shows_the_image_model_time_cost_and_version() -> None:
    embed = done(reply=reply())
    assert embed.title == "a red fox"
    assert embed.image.url == "attachment://v2.png"
    assert fields(embed) == {
        "Requested by": f"<@{USER}>",
        "Model": "`gemini-3-pro-image-preview`",
        "Time": "12.3 s",
        "Cost": "$0.134",
        "Version": "v2",
    }
    assert embed.colour == discord.Colour.green() and not embed.description


def test_done_embed_leaves_out_what_is_not_known() -> None:
    embed = done(reply=reply(elapsed_s=None, version=None))
    assert set(fields(embed)) == {"Requested by", "Model", "Cost"}


def test_a_backup_model_is_said_first_and_plainly() -> None:
    backup = reply(model="gpt-image-1.5", fallback=True, notices=[BACKUP], cost_usd=0.04)
    embed = done(reply=backup)
    assert embed.description is not None
    assert embed.description.splitlines()[0] == f"⚠️ {BACKUP}"
    assert fields(embed)["Backup model"] == "`gpt-image-1.5`"
    assert embed.colour == discord.Colour.orange()


def test_a_fallback_is_said_even_when_the_reply_has_no_notice() -> None:
    embed = done(reply=reply(model="gpt-image-1.5", fallback=True, notices=[]))
    assert "Made with backup model gpt-image-1.5." in (embed.description or "")


def test_other_notices_and_the_callers_notes_follow_on_their_own_lines() -> None:
    adjusted = "gpt-image-1.5 can't do that size; made it at 1536x1024."
    resized = "The full image (14.2 MB) is over Discord's 10 MB upload limit, so this is a JPEG."
    r = reply(model="gpt-image-1.5", fallback=True, notices=[BACKUP, adjusted])
    lines = (done(reply=r, notes=[resized]).description or "").splitlines()
    assert [BACKUP in lines[0], adjusted in lines[1], resized in lines[2]] == [True] * 3


def test_done_embed_stays_within_6000_characters_however_long_its_parts() -> None:
    r = reply(model="m" * 3000, fallback=True, notices=[BACKUP] + ["x" * 900] * 10)
    embed = done(prompt="p" * 5000, user_id="u" * 3000, reply=r, notes=["y" * 3000])
    assert (embed.description or "").startswith(f"⚠️ {BACKUP}")
    assert len(embed) > 5900  # cut to the limit, not far below it


def test_failed_embed_is_red_and_in_the_errors_own_words() -> None:
    error = UserError("all_models_failed", "All image models are unavailable right now.")
    embed = valid(embeds.failed_embed(prompt="p", user_id=USER, error=error))
    assert embed.description == "All image models are unavailable right now."
    assert embed.colour == discord.Colour.red()


def test_notice_embed_carries_the_words() -> None:
    embed = valid(embeds.notice_embed("Your image is being made again after a restart."))
    assert embed.description == "Your image is being made again after a restart."
    assert len(valid(embeds.notice_embed("z" * 9000)).description or "") == 4096


# -- buttons ---------------------------------------------------------------------------
@pytest.mark.parametrize("action", [embeds.RETRY, embeds.VARY, embeds.UPSCALE])
def test_a_buttons_custom_id_gives_back_its_action_and_job(action: str) -> None:
    value = embeds.custom_id(action, JOB)
    assert len(value) <= 100
    match = re.fullmatch(embeds.CUSTOM_ID_PATTERN, value)
    assert match is not None and (match["action"], match["job"]) == (action, JOB)


@pytest.mark.parametrize(("action", "job"), [("delete", JOB), ("retry", "job-1"), ("retry", "")])
def test_a_custom_id_no_button_would_match_is_refused(action: str, job: str) -> None:
    with pytest.raises(ValueError):
        embeds.custom_id(action, job)


# -- /imagine-status -------------------------------------------------------------------
def row(label: str, state: HealthState = HealthState.NORMAL, **kw: Any) -> StatusRow:
    values: dict[str, Any] = {
        "label": label,
        "model": label,
        "channel": "direct",
        "state": state,
        "emoji": state.emoji,
        "state_word": state.value,
        "p50": "1.8 s",
        "success": "97 %",
        "since": "",
        "reason": "",
        "primary": False,
    }
    return StatusRow(**(values | kw))


def test_status_embed_shows_each_model_state_latency_and_success() -> None:
    rows = (
        row("gemini-3-pro", HealthState.DOWN, since="down for 4 min", reason="overloaded (503)"),
        row("gpt-image-1.5", primary=True, p50="40 ms", success="100 %"),
    )
    embed = valid(embeds.status_embed(StatusView(rows, "gpt-image-1.5", 1, 2)))
    assert embed.title == "Image models"
    assert embed.description == "Primary: `gpt-image-1.5` · 1/2 models online"
    assert fields(embed) == {
        "🔴 gemini-3-pro": "down for 4 min: overloaded (503)\np50 1.8 s · ok 97 %",
        "🟢 gpt-image-1.5 (primary)": "normal\np50 40 ms · ok 100 %",
    }
    assert all(f.inline for f in embed.fields)


def test_thirty_models_fold_into_the_last_of_25_fields() -> None:
    rows = tuple(row(f"model-{i:02d}") for i in range(30))
    embed = valid(embeds.status_embed(StatusView(rows, "model-00", 30, 30)))
    assert len(embed.fields) == 25
    assert [f.name for f in embed.fields[:24]] == [f"🟢 model-{i:02d}" for i in range(24)]
    last = embed.fields[24]
    assert last.name == "… and 6 more"
    assert [line.split()[1] for line in (last.value or "").splitlines()] == [
        f"`model-{i:02d}`" for i in range(24, 30)
    ]


def test_thousands_of_long_named_models_still_make_a_valid_embed() -> None:
    rows = tuple(row(f"{'m' * 200}-{i:04d}") for i in range(2000))
    embed = valid(embeds.status_embed(StatusView(rows, None, 0, 2000)))
    listed = sum(1 for r in rows if r.label in body(embed))
    assert f"… and {2000 - listed} more models" in body(embed)
    assert embed.colour == discord.Colour.red()  # none online


# -- /imagine-usage and /imagine-admin show -------------------------------------------
def usage(**kw: Any) -> Usage:
    values: dict[str, Any] = {
        "workspace": "discord:1",
        "limits": Limits(100, 50.0),
        "images_today": 7,
        "images_reserved": 1,
        "spent_usd": 1.234,
        "reserved_usd": 0.134,
        "daily_resets_at": datetime(2026, 3, 2, tzinfo=UTC),
        "monthly_resets_at": datetime(2026, 4, 1, tzinfo=UTC),
        "in_flight": 1,
        "by_model": {"gpt-image-1.5": Tally(2, 9, 0.36), "gemini-3-pro": Tally(5, 6, 0.874)},
        "by_user": {"1": Tally(3, 10, 0.5), "2": Tally(4, 5, 0.734)},
    }
    return Usage(**(values | kw))


def test_usage_embed_shows_limits_reset_times_and_the_callers_share() -> None:
    mine = usage(by_user={str(USER): Tally(2, 11, 0.44)}, by_model={})
    embed = valid(
        embeds.usage_embed(workspace=usage(), mine=mine, limits=Limits(100, 50.0), rate="5/minute")
    )
    shown = fields(embed)
    assert shown["Server images today"] == (
        "7 images of 100 + 1 in progress\nResets 2026-03-02 00:00 UTC"
    )
    assert shown["Server spend this month"] == (
        "$1.23 of $50.00 + $0.13 reserved\nResets 2026-04-01 00:00 UTC"
    )
    assert (shown["You today"], shown["You this month"]) == ("2 images", "11 images · $0.44")
    assert shown["By model, this month"].splitlines() == [
        "`gemini-3-pro` — 5 today · 6 images this month · $0.87",
        "`gpt-image-1.5` — 2 today · 9 images this month · $0.36",
    ]
    assert embed.footer.text == "Per-person rate limit: 5/minute · 1 generating now"


def test_usage_embed_says_when_there_is_no_limit() -> None:
    quiet = usage(images_reserved=0, reserved_usd=0.0, in_flight=0, by_model={})
    embed = valid(embeds.usage_embed(workspace=quiet, mine=quiet, limits=Limits(0, 0), rate=None))
    shown = fields(embed)
    assert shown["Server images today"].startswith("7 images (no daily limit)\n")
    assert shown["Server spend this month"].startswith("$1.23 (no monthly budget)\n")
    assert embed.footer.text == "No per-person rate limit"
    assert "By model, this month" not in shown


def test_admin_show_embed_tells_custom_settings_from_defaults() -> None:
    custom = GuildConfig("555", ("gpt-image-1.5", "flash"), True, frozenset({"777", "666"}))
    shown = fields(valid(embeds.admin_show_embed(custom, Limits(250, 20.0), ["gemini-3-pro"])))
    assert shown == {
        "Status channel": "<#555>",
        "Daily images": "250",
        "Monthly budget": "$20.00",
        "Safety failover": "on",
        "Models (set for this server)": "`gpt-image-1.5` → `flash`",
        "Admins": "<@666>, <@777>",
    }
    default = GuildConfig(None, None, False, frozenset())
    shown = fields(valid(embeds.admin_show_embed(default, Limits(0, 0), ["gemini-3-pro"])))
    assert shown["Status channel"].startswith("not set")
    assert (shown["Daily images"], shown["Monthly budget"]) == ("unlimited", "unlimited")
    assert (shown["Models (the default)"], shown["Safety failover"]) == ("`gemini-3-pro`", "off")
    assert shown["Admins"] == "none"
