"""Several ``imagine-bot run`` processes in Socket Mode: each opens its own connection
with the same app token, Slack hands each envelope to one of them, and they share one
database. What people see must be what one process would show: every command answered
once, every job's message posted once, every image delivered once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.platforms.slack_bot import SlackWorld, slack_world
from tests.platforms.slack_fake import MAX_CONNECTIONS, FakeSlack


async def _commands(w: SlackWorld, texts: list[str]) -> list[str]:
    """Send each as /imagine over Socket Mode; the envelope ids, once all are acked."""
    sent = [
        await w.slack.socket_send("slash_commands", w.slack.slash_payload(text=text))
        for text in texts
    ]
    for envelope_id in sent:
        ack = await w.slack.wait_ack(envelope_id, timeout=10)
        assert "Queued" in ack["payload"]["text"], ack
    return sent


async def _each_image_once(w: SlackWorld, n: int, edited: str = "") -> None:
    """n job messages in the channel, each with exactly one image in its thread (two in
    the thread ``edited``, where someone asked for one edit)."""
    roots = await w.slack.wait_for(lambda: w.roots() if len(w.roots()) >= n else None, 30)

    def all_delivered() -> bool:
        threads = Counter(f.thread_ts for f in w.slack.files.values() if f.data)
        return all(threads[r["ts"]] >= 1 for r in roots)

    await w.slack.wait_for(all_delivered, 60)
    assert len(w.roots()) == n  # no job posted twice
    images = Counter(f.thread_ts for f in w.slack.files.values() if f.data)
    assert images == {r["ts"]: 2 if r["ts"] == edited else 1 for r in roots}


def _per_link(slack: FakeSlack, envelopes: list[str]) -> Counter[int]:
    links = [slack.delivered_to(e) for e in envelopes]
    assert all(len(to) == 1 for to in links)  # Slack sends each envelope to one connection
    return Counter(to[0] for to in links)


async def test_two_processes_share_the_commands_and_one_carries_on_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with slack_world(tmp_path, monkeypatch, start=False) as a:
        monkeypatch.setenv("SLACK_APP_TOKEN", a.slack.app_token)
        monkeypatch.delenv("SLACK_SIGNING_SECRET")
        b = SlackWorld(a.sandbox, a.env, slack=a.slack)  # same app, same database
        await a.start()
        try:
            await b.start()
            await a.slack.wait_for(lambda: len(a.slack.links) == 2)
            first = await _commands(a, [f"a fox, take {i}" for i in range(20)])
            await _each_image_once(a, 20)
            spread = _per_link(a.slack, first)
            assert len(spread) == 2 and min(spread.values()) >= 5, spread  # both worked

            # a retried event (same event_id, the other connection) makes no second job
            root = a.roots()[0]["ts"]
            event = a.slack.event_payload(
                a.slack.message_event(text="now at night", thread_ts=root)
            )
            once = await a.slack.socket_send("events_api", event)
            again = await a.slack.socket_send(
                "events_api", event, retry_attempt=1, retry_reason="timeout"
            )
            assert a.slack.delivered_to(once) != a.slack.delivered_to(again)
            await a.image_in_thread(root, n=2, within=30)

            await a.stop()  # one process goes away; its connection closes
            await a.slack.wait_for(lambda: len(a.slack.links) == 1)
            rest = await _commands(b, [f"an owl, take {i}" for i in range(10)])
            assert len(_per_link(a.slack, rest)) == 1
            await _each_image_once(b, 30, edited=root)
            assert a.slack.unacked == []
        finally:
            await b.close()


async def test_an_eleventh_process_waits_for_room_instead_of_hammering_slack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with slack_world(tmp_path, monkeypatch, start=False) as w:
        monkeypatch.setenv("SLACK_APP_TOKEN", w.slack.app_token)
        monkeypatch.delenv("SLACK_SIGNING_SECRET")
        tickets = AsyncWebClient(token=w.slack.app_token, base_url=w.slack.api_url)
        async with aiohttp.ClientSession() as http:
            others = []  # ten processes already connected
            for _ in range(MAX_CONNECTIONS):
                opened = await tickets.apps_connections_open(app_token=w.slack.app_token)
                others.append(await http.ws_connect(str(opened["url"])))
            await w.start()
            await asyncio.sleep(2.5)
            assert 1 <= w.slack.refused_links <= 3  # 0 s, 1 s, then 3 s: not ~1,500 times
            refusals = [r for r in caplog.records if "too_many_websockets" in r.getMessage()]
            assert len(refusals) == 1 and refusals[0].levelname == "WARNING"
            for ws in others:  # room again: the bot connects at its next try and serves
                await ws.close()
            await w.slack.wait_for(lambda: len(w.slack.links) == 1, 10)
            await _commands(w, ["a fox after the wait"])
            await _each_image_once(w, 1)
