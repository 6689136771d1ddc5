"""Slack shows only PNG, JPEG and GIF (inline, and in image blocks): a WebP from a model
reaches the thread as a PNG. End to end: ``imagine-bot run`` with the real slack-bolt /
slack-sdk against the fake Slack, whose image blocks refuse a WebP file."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.platforms.slack_bot import SlackWorld, slack_world


def webp_image() -> tuple[Image.Image, bytes]:
    """A lossless WebP with transparency, as some models and relays return."""
    image = Image.new("RGBA", (48, 32), (200, 30, 30, 255))
    image.paste((30, 30, 200, 128), (0, 0, 24, 16))
    out = io.BytesIO()
    image.save(out, "WEBP", lossless=True)
    return image, out.getvalue()


def models_answer_with(w: SlackWorld, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Every image the models make arrives as ``data`` (labelled ``image/webp``)."""
    assert w.app is not None
    sink = w.app.service.sinks["slack"]
    deliver = sink.deliver

    async def webp_deliver(job: Any, reply: Any) -> None:
        await deliver(job, replace(reply, image=data, mime_type="image/webp"))

    monkeypatch.setattr(sink, "deliver", webp_deliver)


async def test_a_webp_from_a_model_arrives_as_a_png(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original, webp = webp_image()
    async with slack_world(tmp_path, monkeypatch) as w:
        models_answer_with(w, monkeypatch, webp)
        await w.imagine("a red fox")
        (uploaded,) = await w.image_in_thread((await w.root())["ts"])
        assert uploaded.data.startswith(b"\x89PNG\r\n\x1a\n")
        assert re.fullmatch(r"imagine-v1-[0-9a-f]{12}\.png", uploaded.name)  # the job's id in it
        assert uploaded.mimetype == "image/png"
        with Image.open(io.BytesIO(uploaded.data)) as shown:
            assert shown.format == "PNG" and shown.mode == "RGBA"
            assert shown.tobytes() == original.tobytes()  # the same pixels, alpha kept
        # what Slack would now render: an image block may show the bot's file...
        client = AsyncWebClient(token=w.slack.bot_token, base_url=w.slack.api_url)
        block = {"type": "image", "slack_file": {"id": uploaded.id}, "alt_text": "a red fox"}
        assert (await client.chat_postMessage(channel="C2", text="fox", blocks=[block]))["ok"]
        # ...where the WebP itself would be refused
        sent = await client.files_upload_v2(channel="C2", file=webp, filename="fox.webp")
        block["slack_file"] = {"id": sent["file"]["id"]}
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(channel="C2", text="fox", blocks=[block])
        assert refused.value.response["error"] == "invalid_blocks"
