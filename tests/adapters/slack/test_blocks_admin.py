"""``/imagine-usage`` and ``/imagine-admin`` views, within Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.slack import blocks
from bot.guild_settings import GuildConfig
from bot.quotas import Limits, Tally, Usage
from tests.adapters.slack.slack_limits import (
    USER,
    all_text,
    valid,
)


# -- /imagine-usage ------------------------------------------------------------------
def usage(**kw: Any) -> Usage:
    values: dict[str, Any] = {
        "workspace": "slack:T1",
        "limits": Limits(100, 50.0),
        "images_today": 7,
        "images_reserved": 1,
        "spent_usd": 1.234,
        "reserved_usd": 0.134,
        "daily_resets_at": datetime(2026, 3, 2, tzinfo=UTC),
        "monthly_resets_at": datetime(2026, 4, 1, tzinfo=UTC),
        "in_flight": 1,
        "by_model": {"gpt-image-1.5": Tally(2, 9, 0.36), "gemini-3-pro": Tally(5, 6, 0.874)},
        "by_user": {"U1": Tally(3, 10, 0.5), "U2": Tally(4, 5, 0.734)},
    }
    return Usage(**(values | kw))


def test_usage_blocks_show_limits_reset_times_and_the_callers_share() -> None:
    mine = usage(by_user={USER: Tally(2, 11, 0.44)}, by_model={})
    message = valid(
        blocks.usage_blocks(workspace=usage(), mine=mine, limits=Limits(100, 50.0), rate="5/minute")
    )
    rendered = all_text(message)
    for expected in (
        "7 images of 100 + 1 in progress",
        "Resets 2026-03-02 00:00 UTC",
        "$1.23 of $50.00 + $0.13 reserved",
        "Resets 2026-04-01 00:00 UTC",
        "*You today*\n2 images",
        "*You this month*\n11 images · $0.44",
        "`gemini-3-pro` — 5 today · 6 images this month · $0.87",
        "`gpt-image-1.5` — 2 today · 9 images this month · $0.36",
        "Per-person rate limit: 5/minute",
    ):
        assert expected in rendered, expected


def test_usage_blocks_say_when_there_is_no_limit() -> None:
    quiet = usage(images_reserved=0, reserved_usd=0.0, in_flight=0, by_model={})
    rendered = all_text(
        valid(blocks.usage_blocks(workspace=quiet, mine=quiet, limits=Limits(0, 0), rate=None))
    )
    assert "7 images (no daily limit)" in rendered
    assert "$1.23 (no monthly budget)" in rendered
    assert "No per-person rate limit" in rendered
    assert "in progress" not in rendered and "By model" not in rendered


# -- /imagine-admin ------------------------------------------------------------------
def test_admin_help_lists_every_subcommand() -> None:
    help_text = blocks.admin_help()
    for sub in (
        "show",
        "status-channel",
        "quota daily N",
        "budget USD",
        "models a,b,c",
        "models default",
        "safety-failover on|off",
    ):
        assert f"`{sub}`" in help_text or f"`/imagine-admin {sub}`" in help_text, sub


def test_admin_show_blocks_tell_custom_settings_from_defaults() -> None:
    custom = GuildConfig("C0STATUS1", ("gpt-image-1.5", "flash"), True, frozenset({"U0ADMIN01"}))
    rendered = all_text(
        valid(blocks.admin_show_blocks(custom, Limits(250, 20.0), ["gemini-3-pro", "flash"]))
    )
    for expected in (
        "<#C0STATUS1>",
        "*Daily images*\n250",
        "*Monthly budget*\n$20.00",
        "*Safety failover*\non",
        "*Models* (set for this workspace)\n`gpt-image-1.5` → `flash`",
        "<@U0ADMIN01>",
    ):
        assert expected in rendered, expected
    default = GuildConfig(None, None, False, frozenset())
    rendered = all_text(valid(blocks.admin_show_blocks(default, Limits(0, 0), ["gemini-3-pro"])))
    for expected in ("not set", "*Daily images*\nunlimited", "*Monthly budget*\nunlimited"):
        assert expected in rendered, expected
    assert "*Models* (the default)\n`gemini-3-pro`" in rendered
    assert "*Safety failover*\noff" in rendered


def test_notice_text_is_one_section_with_the_words() -> None:
    text, body = valid(blocks.notice_text("Your image is being made again after a restart."))
    assert [b["type"] for b in body] == ["section"]
    assert body[0]["text"]["text"] == text == "Your image is being made again after a restart."
