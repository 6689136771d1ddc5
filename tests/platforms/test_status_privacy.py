"""The status page tells nothing a workspace would consider private: after real
requests through the whole bot (Slack, with a failover on the way), no prompt,
user, workspace, channel or thread id is in ``/status``, ``/status.json`` or the
event stream."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from adapters.sandbox import Fault
from tests.adapters.test_status_page import next_event
from tests.platforms.slack_bot import PRO, slack_world

PROMPT = "zebra-quokka-7731 on a unicycle"
USER = "U0PRIVATE77"


async def test_no_prompt_or_id_reaches_the_status_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_world(tmp_path, monkeypatch) as w, aiohttp.ClientSession() as http:
        w.sandbox.script(PRO, [Fault("overloaded", first_n=4)])
        for n in range(4):  # the primary trips; the backup makes the images
            await w.imagine(f"{PROMPT} {n}", user=USER)
            root = await w.root()
            await w.image_in_thread(root["ts"])
        base = w.url.removesuffix("/slack/events")
        async with http.get(f"{base}/status") as resp:
            page = await resp.text()
        async with http.get(f"{base}/status.json") as resp:
            doc = await resp.json()
        async with http.get(f"{base}/status/events") as resp:
            event = await next_event(resp.content)
        shown = "\n".join([page, json.dumps(doc, ensure_ascii=False), json.dumps(event)])
        assert doc["transitions"] and doc["models"][0]["series"]  # there is something to see
        secrets = [
            "zebra",
            "quokka",
            "7731",
            USER,
            w.slack.team_id,
            w.slack.default_channel,
            root["ts"],
            w.slack.bot_token,
        ]
        assert [s for s in secrets if s in shown] == []
