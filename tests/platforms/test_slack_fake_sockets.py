"""FakeSlack's Socket Mode with several connections, seen through raw WebSocket clients
(the frames themselves): each envelope to one connection in turn, an unacked event
retried on another, an eleventh connection refused as Slack refuses it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.platforms.slack_fake import MAX_CONNECTIONS, FakeSlack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as f:
        yield f


async def _link(fake: FakeSlack, http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
    """A connection as any Socket Mode client opens one: apps.connections.open, then the URL."""
    opened = await AsyncWebClient(
        token=fake.app_token, base_url=fake.api_url
    ).apps_connections_open(app_token=fake.app_token)
    return await http.ws_connect(str(opened["url"]))


async def _frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    return json.loads((await ws.receive(timeout=2)).data)


async def test_each_envelope_goes_to_one_connection_in_turn(fake: FakeSlack) -> None:
    async with aiohttp.ClientSession() as http:
        links = [await _link(fake, http) for _ in range(3)]
        hellos = [await _frame(ws) for ws in links]
        assert [h["num_connections"] for h in hellos] == [1, 2, 3]
        sent = [
            await fake.socket_send("slash_commands", fake.slash_payload(text=f"fox {i}"))
            for i in range(6)
        ]
        got: list[list[str]] = [[] for _ in links]
        for i, ws in enumerate(links):
            for _ in range(2):
                envelope = await _frame(ws)
                got[i].append(envelope["envelope_id"])
                await ws.send_str(json.dumps({"envelope_id": envelope["envelope_id"]}))
        assert sorted(e for mine in got for e in mine) == sorted(sent)  # each once, all of them
        assert all(len(mine) == 2 for mine in got)
        for ws in links:  # nothing more: no connection got another's envelope
            with pytest.raises(TimeoutError):
                await ws.receive(timeout=0.2)
        assert all(len(fake.delivered_to(e)) == 1 for e in sent)


async def test_an_unacked_event_is_retried_on_another_connection(fake: FakeSlack) -> None:
    fake.ack_timeout = 0.3
    async with aiohttp.ClientSession() as http:
        first, second = await _link(fake, http), await _link(fake, http)
        await _frame(first), await _frame(second)
        event = fake.event_payload(fake.message_event(text="hello"))
        envelope_id = await fake.socket_send("events_api", event)
        (to,) = fake.delivered_to(envelope_id)
        silent, other = (first, second) if to == 1 else (second, first)
        original = await _frame(silent)  # ... and never acked
        assert (original["retry_attempt"], original["retry_reason"]) == (0, "")
        again = await _frame(other)
        assert again["envelope_id"] == envelope_id and again["payload"] == event
        assert (again["retry_attempt"], again["retry_reason"]) == (1, "timeout")
        await other.send_str(json.dumps({"envelope_id": envelope_id}))
        await fake.wait_ack(envelope_id)
        assert fake.delivered_to(envelope_id) == [to, 3 - to]

        # a slash command is not retried: the person is shown an error instead
        command = await fake.socket_send("slash_commands", fake.slash_payload(text="x"))
        await fake.wait_for(lambda: command in fake.unacked)
        assert len(fake.delivered_to(command)) == 1


async def test_an_eleventh_connection_is_told_too_many_websockets(fake: FakeSlack) -> None:
    async with aiohttp.ClientSession() as http:
        links = [await _link(fake, http) for _ in range(MAX_CONNECTIONS)]
        assert [(await _frame(ws))["type"] for ws in links] == ["hello"] * 10
        eleventh = await _link(fake, http)
        refused = await _frame(eleventh)
        assert (refused["type"], refused["reason"]) == ("disconnect", "too_many_websockets")
        assert (await eleventh.receive(timeout=2)).type == aiohttp.WSMsgType.CLOSE
        assert len(fake.links) == 10 and fake.refused_links == 1
        await links[0].close()
        await fake.wait_for(lambda: len(fake.links) == 9)
        assert (await _frame(await _link(fake, http)))["type"] == "hello"  # room again
