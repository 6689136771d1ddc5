"""``/slack/events`` under attack and under odd payloads, as an admin reading the
bot's log (set up as ``imagine-bot run`` sets it up) and a user in Slack see it.

Unsigned or badly signed requests get 401 and signed-but-unreadable ones 400,
each with at most one log line and never a traceback; a signed payload missing
what the bot needs tells the person privately where there is one, else gets a
silent 200 and one warning."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.logs_as_run import logs_as_run
from tests.platforms.slack_bot import SlackWorld, slack_world

JSON, FORM = "application/json", "application/x-www-form-urlencoded"
GARBAGE = [
    (b"this is {not json", JSON),
    (b"payload=%7Bnope", FORM),
    (b"\xff\xfe\x00garbage", JSON),
]


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SlackWorld]:
    async with slack_world(tmp_path, monkeypatch) as w:
        yield w


class Log:
    """The bot's log as an admin reads it, one request at a time."""

    def __init__(self, out: io.StringIO) -> None:
        self.out, self.mark = out, 0

    def new(self) -> list[str]:
        text = self.out.getvalue()
        lines, self.mark = text[self.mark :].splitlines(), len(text)
        return lines


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status, await r.text()


def _signed(secret: str, body: bytes, content_type: str, ts: str | None = None) -> dict[str, str]:
    ts = ts or str(int(time.time()))
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0="
        + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest(),
    }


def _one_quiet_line(lines: list[str]) -> None:
    assert len(lines) <= 1, lines
    assert not any("Traceback" in line or line.startswith("  File ") for line in lines), lines


async def test_unauthenticated_requests_get_401_one_line_each_and_no_traceback(
    world: SlackWorld,
) -> None:
    secret = world.slack.signing_secret
    with logs_as_run() as out:
        log = Log(out)
        for body, kind in GARBAGE:
            stale = str(int(time.time()) - 600)
            for headers in (
                {"Content-Type": kind},  # no signature at all
                _signed("not-the-signing-secret", body, kind),
                {**_signed(secret, body, kind), "X-Slack-Request-Timestamp": "abc"},
                {**_signed("not-the-signing-secret", body, kind), "X-Slack-Signature": "v0=é"},
                _signed(secret, body, kind, ts=stale),  # a replay: signed ten minutes ago
                {**_signed(secret, body, kind), "X-Slack-Request-Timestamp": "1.7e9"},
            ):
                status, _ = await _post(world.url, body, headers)
                assert status == 401, (body, headers)
                await asyncio.sleep(0.05)
                _one_quiet_line(log.new())
    assert world.roots() == [] and world.sandbox.calls == []


async def test_signed_but_unreadable_bodies_get_400_and_one_line(world: SlackWorld) -> None:
    secret = world.slack.signing_secret
    bodies = [
        *GARBAGE,
        (b"[1, 2]", JSON),
        (b'"just a string"', JSON),
        (b"payload=5", FORM),
        (b"payload=%5B%5D", FORM),
        (b'{"type": "event_callback", "event": "hi"}', JSON),
        (b'{"team_id": "T1", "user": 5, "type": "event_callback"}', JSON),
    ]
    with logs_as_run() as out:
        log = Log(out)
        for body, kind in bodies:
            status, _ = await _post(world.url, body, _signed(secret, body, kind))
            assert status == 400, body
            await asyncio.sleep(0.05)
            lines = log.new()
            _one_quiet_line(lines)
            assert lines and "WARNING" in lines[0], body  # the admin hears of it once
    assert world.roots() == [] and world.sandbox.calls == []


async def _deliver(w: SlackWorld, payload: dict[str, Any], form: bool = False) -> tuple[int, str]:
    if form:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        delivery = await w.slack.post_signed(w.url, body, FORM)
    else:
        delivery = await w.slack.post_signed(w.url, json.dumps(payload), JSON)
    return delivery.status, delivery.body


async def _settled(log: Log, wait: float = 0.6) -> list[str]:
    await asyncio.sleep(wait)  # Bolt runs event listeners after its ack
    return log.new()


async def test_a_button_click_without_actions_tells_the_clicker(world: SlackWorld) -> None:
    s = world.slack
    payload = {
        "type": "block_actions",
        "user": {"id": s.default_user, "team_id": s.team_id},
        "team": {"id": s.team_id},
        "channel": {"id": s.default_channel},
        "api_app_id": s.ws.api_app_id,
        "response_url": s.response_url("actions"),
        "trigger_id": s.trigger_id(),
        "actions": [],
    }
    with logs_as_run() as out:
        log = Log(out)
        status, _ = await _deliver(world, payload, form=True)
        assert status == 200
        told = await s.wait_for(lambda: s.responses or None)
        lines = await _settled(log)
    assert told[-1][1]["response_type"] == "ephemeral"
    assert "incomplete" in told[-1][1]["text"] and "nothing was queued" in told[-1][1]["text"]
    _one_quiet_line(lines)
    assert "WARNING" in lines[0] and "button click" in lines[0]


async def test_a_slash_command_without_a_channel_is_answered_privately(world: SlackWorld) -> None:
    fields = world.slack.slash_payload(text="a fox")
    del fields["channel_id"]
    with logs_as_run() as out:
        log = Log(out)
        d = await world.slack.post_signed(world.url, urllib.parse.urlencode(fields), FORM)
        lines = await _settled(log, 0.2)
    assert d.status == 200 and "incomplete" in d.body
    _one_quiet_line(lines)
    assert world.roots() == [] and world.sandbox.calls == []


async def test_an_event_without_a_channel_is_a_silent_200_and_one_warning(
    world: SlackWorld,
) -> None:
    event = world.slack.message_event(text="make it blue", thread_ts="1700000000.000100")
    del event["channel"]
    with logs_as_run() as out:
        log = Log(out)
        d = await world.slack.event(world.url, event)
        lines = await _settled(log)
    assert d.status == 200 and d.body == ""
    _one_quiet_line(lines)
    assert lines and "WARNING" in lines[0]
    assert world.slack.ephemerals == [] and world.sandbox.calls == []


@pytest.mark.parametrize(
    "files",
    [
        "F0123ABCD",  # a string where a list of files belongs
        [{"id": "F1", "name": "logo.png", "size": "abc", "url_private": "x"}],
        ["F1", "F2"],
    ],
)
async def test_unreadable_files_in_a_job_thread_are_told_privately(
    world: SlackWorld, files: Any
) -> None:
    await world.imagine("a fox")
    root = await world.root()
    await world.image_in_thread(root["ts"])
    event = world.slack.message_event(text="use this", thread_ts=root["ts"])
    event.update(subtype="file_share", files=files)
    calls = len(world.sandbox.calls)
    with logs_as_run() as out:
        log = Log(out)
        d = await world.slack.event(world.url, event)
        told = await world.slack.wait_for(lambda: world.slack.ephemerals or None)
        lines = await _settled(log, 0.3)
    assert d.status == 200
    assert "couldn't read the files" in told[-1]["text"] and "nothing was" in told[-1]["text"]
    _one_quiet_line(lines)
    assert lines and "WARNING" in lines[0]
    assert len(world.sandbox.calls) == calls
