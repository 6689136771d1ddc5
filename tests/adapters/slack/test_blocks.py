"""Block Kit views: what a Slack user sees, within the limits Slack enforces."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import blocks
from bot.commands import Reply
from bot.guild_settings import GuildConfig
from bot.health import HealthState
from bot.messages import UserError
from bot.quotas import Limits, Tally, Usage
from bot.status_text import StatusRow, StatusView

JOB = "5f0c2a9e8d7b4c1a9e3f6b2d8c7a1e04"
USER = "U0REQUEST1"
BACKUP = "Made with backup model gpt-image-1.5 — gemini-3-pro-image-preview is overloaded (503)."
INJECTION = "<!channel> hi <!here> <@U0VICTIM1> <#C0SECRET1> <https://evil.example|click> & more"
MANIFEST = Path(__file__).parents[3] / "adapters" / "slack" / "manifest.yml"


# -- Slack's documented limits ---------------------------------------------------------
def slack_errors(message: tuple[str, list[dict[str, Any]]]) -> list[str]:
    """What Slack would reject in (text, blocks); empty when the message is valid."""
    text, body = message
    errors = [] if isinstance(text, str) and 0 < len(text) <= 40_000 else ["text"]
    if not 0 < len(body) <= 50:
        errors.append(f"{len(body)} blocks")
    ids = [b["block_id"] for b in body if "block_id" in b]
    if len(ids) != len(set(ids)) or any(len(i) > 255 for i in ids):
        errors.append(f"block ids {ids}")
    for i, b in enumerate(body):
        texts: list[tuple[dict[str, Any], int]] = []
        if b["type"] == "section":
            texts += [(b["text"], 3000)] + [(f, 2000) for f in b.get("fields", [])]
            if len(b.get("fields", [])) > 10:
                errors.append(f"{i}: fields")
        elif b["type"] == "header":
            texts.append((b["text"], 150))
            if b["text"]["type"] != "plain_text":
                errors.append(f"{i}: header type")
        elif b["type"] == "context":
            texts += [(e, 3000) for e in b["elements"]]
            if not 0 < len(b["elements"]) <= 10:
                errors.append(f"{i}: context elements")
        elif b["type"] == "actions":
            if not 0 < len(b["elements"]) <= 25:
                errors.append(f"{i}: actions elements")
            action_ids = [e["action_id"] for e in b["elements"]]
            if len(action_ids) != len(set(action_ids)):
                errors.append(f"{i}: duplicate action_id")
            for e in b["elements"]:
                texts.append((e["text"], 75))
                if e["text"]["type"] != "plain_text" or not 0 < len(e["value"]) <= 2000:
                    errors.append(f"{i}: button {e}")
                if not 0 < len(e["action_id"]) <= 255:
                    errors.append(f"{i}: action_id")
        else:
            errors.append(f"{i}: unexpected block type {b['type']}")
        for obj, limit in texts:
            if not 0 < len(obj["text"]) <= limit:
                errors.append(f"{i}: text of {len(obj['text'])} chars (max {limit})")
            if obj["type"] == "mrkdwn" and obj.get("verbatim") is not True:
                errors.append(f"{i}: mrkdwn without verbatim links bare @here and #channel")
    return errors


def all_text(message: tuple[str, list[dict[str, Any]]]) -> str:
    """Every string Slack would render or notify with."""
    found = [message[0]]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            found.extend(v for k, v in node.items() if k == "text" and isinstance(v, str))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(message[1])
    return "\n".join(found)


def valid(message: tuple[str, list[dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    assert slack_errors(message) == []
    return message


def buttons(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in body if b["type"] == "actions" for e in b["elements"]]


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


def backup_reply() -> Reply:
    return reply(model="gpt-image-1.5", fallback=True, notices=[BACKUP], cost_usd=0.04)


# -- the job's root message ------------------------------------------------------------
def test_job_blocks_quote_the_prompt_and_say_who_asked_and_where_it_is() -> None:
    text, body = valid(blocks.job_blocks(prompt="a fox\nin snow", user=USER, state="Queued (#3)"))
    assert body[0]["text"]["text"] == ">a fox\n>in snow"
    assert body[1]["elements"][0]["text"] == f"Requested by <@{USER}> · Queued (#3)"
    assert "Queued (#3)" in text and "a fox in snow" in text
    _, with_detail = valid(
        blocks.job_blocks(prompt="p", user=USER, state="Generating", detail="Resumed after restart")
    )
    assert "Resumed after restart" in all_text(("", with_detail))


def done(prompt: str) -> tuple[str, list[dict[str, Any]]]:
    return blocks.done_blocks(prompt=prompt, user=USER, job_id=JOB, reply=reply())


def failed(prompt: str) -> tuple[str, list[dict[str, Any]]]:
    error = UserError("all_models_failed", "All image models are down.", retryable=True)
    return blocks.failed_blocks(prompt=prompt, user=USER, job_id=JOB, error=error)


def queued(prompt: str) -> tuple[str, list[dict[str, Any]]]:
    return blocks.job_blocks(prompt=prompt, user=USER, state="Queued (#1)", detail=prompt)


@pytest.mark.parametrize("build", [queued, done, failed, blocks.notice_text])
def test_a_prompt_can_not_ping_mention_or_link(build: Any) -> None:
    message = valid(build(INJECTION))
    rendered = all_text(message)
    assert "&lt;!channel&gt; hi &lt;!here&gt; &lt;@U0VICTIM1&gt;" in rendered
    assert "&amp; more" in rendered
    controls = re.findall(r"<[^>]*>", rendered)
    assert set(controls) <= {f"<@{USER}>"}, controls


def test_a_requester_that_is_not_a_slack_id_is_shown_as_text() -> None:
    rendered = all_text(valid(blocks.job_blocks(prompt="p", user="<!here>", state="Queued")))
    assert "&lt;!here&gt;" in rendered and "<!here>" not in rendered


def test_a_long_prompt_is_cut_to_the_section_limit_without_breaking_an_entity() -> None:
    for prompt in ("&" * 5000, "x" * 2998 + "<<<<", "line\n" * 2000):
        text, body = valid(blocks.job_blocks(prompt=prompt, user=USER, state="Queued"))
        quoted = body[0]["text"]["text"]
        assert len(quoted) <= 3000 and quoted.endswith("…")
        assert not re.search(r"&(?!amp;|lt;|gt;)", quoted + text)


# -- finished ------------------------------------------------------------------------
def test_done_blocks_say_model_time_cost_version_and_offer_three_buttons() -> None:
    text, body = valid(done("a red fox"))
    meta = body[1]["elements"][0]["text"]
    assert meta == (
        f"Requested by <@{USER}> · made with `gemini-3-pro-image-preview` · 12.3 s · $0.134 · v2"
    )
    actions = [b for b in body if b["type"] == "actions"]
    assert [a["block_id"] for a in actions] == [f"actions:{JOB}"]
    pressed = {(e["action_id"], e["text"]["text"], e["value"]) for e in buttons(body)}
    assert pressed == {
        ("imagine_retry", "Retry", JOB),
        ("imagine_vary", "Vary", JOB),
        ("imagine_upscale", "Upscale 4K", JOB),
    }
    assert "a red fox" in text


def test_done_blocks_leave_out_what_is_not_known() -> None:
    r = reply(elapsed_s=None, version=None)
    _, body = valid(blocks.done_blocks(prompt="p", user=USER, job_id=JOB, reply=r))
    meta = body[1]["elements"][0]["text"]
    assert meta == f"Requested by <@{USER}> · made with `gemini-3-pro-image-preview` · $0.134"


def test_a_backup_model_is_said_plainly_on_the_root_and_beside_the_image() -> None:
    text, body = valid(blocks.done_blocks(prompt="p", user=USER, job_id=JOB, reply=backup_reply()))
    sections = [b["text"]["text"] for b in body if b["type"] == "section"]
    assert any(BACKUP in s for s in sections)  # a section, not the small context print
    assert BACKUP in text  # the notification says it too
    comment = blocks.image_comment(backup_reply())
    assert comment.splitlines()[0] == "v2 · made with `gpt-image-1.5`"
    assert any(BACKUP in line for line in comment.splitlines()[1:])


def test_a_fallback_is_said_even_when_the_reply_has_no_notice() -> None:
    r = reply(model="gpt-image-1.5", fallback=True, notices=[])
    assert "backup model gpt-image-1.5" in blocks.image_comment(r)
    assert "backup model gpt-image-1.5" in all_text(
        valid(blocks.done_blocks(prompt="p", user=USER, job_id=JOB, reply=r))
    )


def test_image_comment_puts_each_notice_on_its_own_line() -> None:
    adjusted = "gpt-image-1.5 can't do that size; made it at 1536x1024."
    r = reply(model="gpt-image-1.5", fallback=True, notices=[BACKUP, adjusted], version=3)
    lines = blocks.image_comment(r).splitlines()
    assert lines[0] == "v3 · made with `gpt-image-1.5`"
    assert [BACKUP in lines[1], adjusted in lines[2]] == [True, True]
    assert blocks.image_comment(reply(version=None)) == "Made with `gemini-3-pro-image-preview`"


@pytest.mark.parametrize("retryable", [True, False])
def test_failed_blocks_offer_retry_only_when_retrying_can_help(retryable: bool) -> None:
    error = UserError("x", "The image model declined this prompt.", retryable=retryable)
    text, body = valid(blocks.failed_blocks(prompt="p", user=USER, job_id=JOB, error=error))
    assert "The image model declined this prompt." in text
    assert any("declined this prompt" in b["text"]["text"] for b in body if "text" in b)
    expected = [("imagine_retry", JOB)] if retryable else []
    assert [(e["action_id"], e["value"]) for e in buttons(body)] == expected


def test_a_job_id_too_long_for_a_button_is_refused_not_cut() -> None:
    with pytest.raises(ValueError):
        blocks.done_blocks(prompt="p", user=USER, job_id="j" * 2001, reply=reply())


# -- /imagine-status -----------------------------------------------------------------
def row(label: str, state: HealthState, **kw: Any) -> StatusRow:
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


def test_status_blocks_show_each_model_state_latency_and_success() -> None:
    view = StatusView(
        rows=(
            row(
                "gemini-3-pro", HealthState.DOWN, since="down for 4 min", reason="overloaded (503)"
            ),
            row("gpt-image-1.5", HealthState.NORMAL, primary=True, p50="40 ms", success="100 %"),
            row("flash", HealthState.DELAYED, since="delayed for 30 s", reason="responding slowly"),
        ),
        primary="gpt-image-1.5",
        online=2,
        total=3,
    )
    text, body = valid(blocks.status_blocks(view))
    assert "Primary: `gpt-image-1.5` · 2/3 models online" in text
    assert body[0]["type"] == "header"
    models = [b for b in body if b["type"] == "section" and "fields" in b]
    heads = [m["text"]["text"] for m in models]
    assert heads == [
        "🔴 `gemini-3-pro` — *down for 4 min* · overloaded (503)",
        "🟢 `gpt-image-1.5` (primary) — *normal*",
        "🟡 `flash` — *delayed for 30 s* · responding slowly",
    ]
    assert [f["text"] for f in models[1]["fields"]] == [
        "*p50 latency*\n40 ms",
        "*Success rate*\n100 %",
    ]


@pytest.mark.parametrize(("count", "all_shown"), [(120, True), (5000, False)])
def test_many_models_are_combined_under_fifty_blocks(count: int, all_shown: bool) -> None:
    rows = tuple(row(f"model-{i:04d}", HealthState.NORMAL) for i in range(count))
    _, body = valid(blocks.status_blocks(StatusView(rows, "model-0000", count, count)))
    rendered = all_text(("x", body))
    shown = sum(f"`model-{i:04d}`" in rendered for i in range(count))
    assert (shown == count) is all_shown
    if not all_shown:
        assert f"… and {count - shown} more models" in rendered


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


# -- the app manifest (PyYAML is not a dependency: check its structure by lines) -------
def listed(key: str) -> list[str]:
    """The ``- item`` lines directly under ``key:`` in the manifest."""
    lines = MANIFEST.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    items = []
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        if line.strip().startswith("- "):
            items.append(line.strip()[2:].split("#")[0].strip())
    return items


def test_manifest_declares_commands_scopes_events_and_socket_mode() -> None:
    text = MANIFEST.read_text()
    assert "\t" not in text
    commands = [c.removeprefix("command: ") for c in listed("slash_commands") if "command:" in c]
    assert commands == ["/imagine", "/imagine-status", "/imagine-usage", "/imagine-admin"]
    assert text.count("should_escape: false") == 4
    assert text.count("url: https://YOUR-HOST/slack/events") == 6  # 4 commands, events, buttons
    assert 'usage_hint: "a red fox in the snow --ar 16:9 --size 2K"' in text
    assert set(listed("bot")) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "files:write",
        "files:read",
        "users:read",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "app_mentions:read",
    }
    assert listed("bot_events") == [
        "message.channels",
        "message.groups",
        "message.im",
        "message.mpim",
        "app_mention",
    ]
    for setting in (
        "major_version: 1",
        "name: imagine-bot",
        "display_name: imagine-bot",
        "always_online: true",
        "is_enabled: true",
        "socket_mode_enabled: true",
        "org_deploy_enabled: false",
        "token_rotation_enabled: false",
    ):
        assert re.search(rf"^\s*{re.escape(setting)}\b", text, re.M), setting
