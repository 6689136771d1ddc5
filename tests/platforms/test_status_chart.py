"""``/imagine-status`` with the status chart, on the whole bot over the real
slack-bolt / discord.py against their wire fakes: Slack posts the chart in the
channel when asked (``/imagine-status chart``), Discord attaches it to a private
follow-up; the text answer is the same as without it, and stays when the chart
fails."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import adapters.status_chart
from adapters.status_chart import FILENAME
from tests.platforms.discord_bot import discord_world
from tests.platforms.slack_bot import slack_world
from tests.platforms.slack_fake import FakeSlack


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def chart_files(slack: FakeSlack) -> list[Any]:
    """Status charts shared in a channel (upload completed)."""
    return [f for f in slack.files.values() if f.name == FILENAME and f.channel]


async def test_slack_status_chart_is_posted_in_the_channel_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        plain = await w.command("/imagine-status")
        assert "Image model status" in plain.body and chart_files(w.slack) == []

        asked = await w.command("/imagine-status", "chart")
        assert json.loads(asked.body)["text"] == json.loads(plain.body)["text"]  # the same answer
        (chart,) = await w.slack.wait_for(lambda: chart_files(w.slack) or None, 5)
        assert chart.channel == w.slack.default_channel and chart.data is not None
        assert png_size(chart.data)[0] == 900
        assert w.slack.responses == []  # nothing went wrong, nothing more to say


async def test_slack_chart_that_cannot_be_posted_is_said_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_world(tmp_path, monkeypatch) as w:
        w.slack.fail_next("files.getUploadURLExternal", "not_in_channel")
        asked = await w.command("/imagine-status", "chart")
        assert "Image model status" in asked.body
        (_url, said), *_ = await w.slack.wait_for(lambda: w.slack.responses or None, 5)
        assert "invite me" in said["text"] and said["response_type"] == "ephemeral"
        assert chart_files(w.slack) == []


def _charts(fake: Any, interaction: dict[str, Any]) -> list[dict[str, Any]]:
    """The interaction's messages that carry the status chart."""
    record = fake.interactions.by_token[interaction["token"]]
    found = [m for mid in sorted(record.message_ids) if (m := fake.message(mid))]
    return [m for m in found if any(a["filename"] == FILENAME for a in m.get("attachments") or [])]


async def _answered(fake: Any, interaction: dict[str, Any]) -> dict[str, Any]:
    def callback() -> dict[str, Any] | None:
        mine = [c for c in fake.callbacks if c["token"] == interaction["token"]]
        return mine[0] if mine else None

    return dict(await fake.wait_for(callback, 5))


async def test_discord_status_chart_is_a_private_follow_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with discord_world(tmp_path, monkeypatch) as w:
        fake = w.discord
        interaction = await fake.slash("imagine-status", {})
        callback = await _answered(fake, interaction)
        assert callback["type"] == 4 and callback["data"]["flags"] & 64  # as before
        assert "Primary" in json.dumps(callback["data"]["embeds"], ensure_ascii=False)
        (chart,) = await fake.wait_for(lambda: _charts(fake, interaction) or None, 5)
        assert chart["flags"] & 64  # seen by the caller alone
        (attachment,) = chart["attachments"]
        assert png_size(fake.attachment_bytes(attachment))[0] == 900


async def test_discord_status_answers_even_when_the_chart_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_doc: dict[str, Any]) -> bytes:
        raise OSError("no space left for the chart")

    monkeypatch.setattr(adapters.status_chart, "chart_png", broken)
    async with discord_world(tmp_path, monkeypatch) as w:
        fake = w.discord
        interaction = await fake.slash("imagine-status", {})
        callback = await _answered(fake, interaction)
        assert "Primary" in json.dumps(callback["data"]["embeds"], ensure_ascii=False)
        await asyncio.sleep(0.3)  # time enough for a follow-up, were one coming
        assert _charts(fake, interaction) == []
