"""Block Kit views: what a Slack user sees, within the limits Slack enforces."""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.slack import blocks
from bot.health import HealthState
from bot.messages import UserError
from bot.status_text import StatusRow, StatusView
from tests.adapters.slack.slack_limits import (
    BACKUP,
    INJECTION,
    JOB,
    USER,
    all_text,
    backup_reply,
    buttons,
    reply,
    valid,
)


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
