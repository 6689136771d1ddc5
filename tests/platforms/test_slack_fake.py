"""FakeSlack speaks the protocol the real slack_sdk and slack_bolt use.

Every test drives the real libraries (AsyncWebClient, AsyncApp over aiohttp,
AsyncSocketModeHandler) against the fake; nothing is mocked.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from PIL import Image
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.platforms.slack_fake import SLACK_ACK_DEADLINE, FakeSlack, serve

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
BUTTONS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "prompt", "text": {"type": "mrkdwn", "text": "*a red fox*"}},
    {
        "type": "actions",
        "block_id": "job-42",
        "elements": [
            {
                "type": "button",
                "action_id": "regenerate",
                "value": "job-42",
                "text": {"type": "plain_text", "text": "Regenerate"},
            }
        ],
    },
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as f:
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


# -- Web API through the real AsyncWebClient -------------------------------------------------


async def test_post_update_and_ephemeral_keep_state(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    auth = await client.auth_test()
    assert (auth["user_id"], auth["team_id"], auth["bot_id"]) == (
        fake.bot_user_id,
        fake.team_id,
        fake.bot_id,
    )
    assert auth.headers["Content-Type"] == "application/json; charset=utf-8"

    parent = await client.chat_postMessage(channel="C1", text="queued", blocks=BUTTONS)
    reply = await client.chat_postMessage(channel="C1", text="working", thread_ts=parent["ts"])
    assert float(reply["ts"]) > float(parent["ts"])
    assert fake.thread("C1", parent["ts"])[1]["text"] == "working"
    assert fake.find_message("C1", parent["ts"])["reply_count"] == 1  # type: ignore[index]

    await client.chat_update(channel="C1", ts=parent["ts"], text="done")
    stored = fake.find_message("C1", parent["ts"])
    assert stored is not None and stored["text"] == "done"
    assert stored["blocks"] == BUTTONS  # chat.update without blocks keeps them
    await client.chat_update(channel="C1", ts=parent["ts"], text="done", blocks=[])
    assert [u["blocks"] for u in fake.updates] == [BUTTONS, []]

    eph = await client.chat_postEphemeral(channel="C1", user="U0ALICE", text="only you")
    assert (
        fake.ephemerals[0]["user"] == "U0ALICE"
        and fake.ephemerals[0]["message_ts"] == eph["message_ts"]
    )
    assert [name for name, _ in fake.calls].count("chat.postMessage") == 2


async def test_users_info_reports_configured_admins(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.users["U0ADMIN"] = {"is_admin": True, "name": "ada"}
    admin = (await client.users_info(user="U0ADMIN"))["user"]
    member = (await client.users_info(user="U0BOB"))["user"]
    assert (admin["is_admin"], admin["name"], member["is_admin"]) == (True, "ada", False)
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="nobody")
    assert err.value.response["error"] == "user_not_found"


async def test_tokens_are_checked_like_slack(fake: FakeSlack) -> None:
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url)
    with pytest.raises(SlackApiError) as err:
        await wrong.chat_postMessage(channel="C1", text="hi")
    assert err.value.response["error"] == "invalid_auth"
    app_token = AsyncWebClient(token=fake.app_token, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as err:
        await app_token.chat_postMessage(channel="C1", text="hi")
    assert err.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token=fake.bot_token, base_url=fake.api_url).api_call("foo.bar")
    assert err.value.response["error"] == "unknown_method"
    assert fake.messages == {}


async def test_injected_rate_limit_is_a_429_with_retry_after(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.fail_next("chat.postMessage")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "1"
    assert err.value.response["error"] == "ratelimited"
    fake.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="hi")
    assert err.value.response.status_code == 200
    # the SDK's own rate-limit retry handler honours the header and then succeeds
    fake.fail_next("chat.postMessage", retry_after=0)
    retrying = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert (await retrying.chat_postMessage(channel="C1", text="hi"))["ok"]
    assert len(fake.messages["C1"]) == 1


async def test_oversized_section_is_invalid_blocks(fake: FakeSlack, client: AsyncWebClient) -> None:
    long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C1", text="t", blocks=long)
    assert err.value.response["error"] == "invalid_blocks"
    assert "[json-pointer:/blocks/0/text/text]" in err.value.response["errors"][0]
    assert fake.messages == {}


def _webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, "WEBP")
    return out.getvalue()


def _image_block(slack_file: dict[str, str]) -> list[dict[str, Any]]:
    return [{"type": "image", "slack_file": slack_file, "alt_text": "a red fox"}]


async def test_image_blocks_refuse_a_webp_slack_file(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    webp = (await client.files_upload_v2(channel="C1", file=_webp(), filename="fox.webp"))["file"]
    renamed = await client.files_upload_v2(channel="C1", file=_webp(), filename="fox.png")
    png = (await client.files_upload_v2(channel="C1", file=PNG, filename="fox.png"))["file"]
    for ref in ({"id": webp["id"]}, {"url": webp["url_private"]}, {"id": renamed["file"]["id"]}):
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C2", text="t", blocks=_image_block(ref))
        assert err.value.response["error"] == "invalid_blocks"
        assert err.value.response["errors"] == [
            "invalid slack file [json-pointer:/blocks/0/slack_file]"
        ]
        assert err.value.response["response_metadata"]["messages"] == [
            "[ERROR] invalid slack file [json-pointer:/blocks/0/slack_file]"
        ]
    in_context = [{"type": "context", "elements": [_image_block({"id": webp["id"]})[0]]}]
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C2", text="t", blocks=in_context)
    assert err.value.response["errors"] == [
        "invalid slack file [json-pointer:/blocks/0/elements/0/slack_file]"
    ]
    assert "C2" not in fake.messages
    for ref in ({"id": png["id"]}, {"url": png["permalink"]}):
        shown = await client.chat_postMessage(channel="C2", text="t", blocks=_image_block(ref))
        assert shown["ok"] and shown["message"]["blocks"][0]["slack_file"] == ref
    both = {"id": png["id"], "url": png["url_private"]}
    with pytest.raises(SlackApiError, match="invalid slack file"):
        await client.chat_postMessage(channel="C2", text="t", blocks=_image_block(both))


async def test_files_upload_v2_lands_in_the_thread(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel="C1", text="a red fox")
    done = await client.files_upload_v2(
        channel="C1",
        thread_ts=parent["ts"],
        file=PNG,
        filename="fox.png",
        title="a red fox",
        initial_comment="here you go",
    )
    file_id = done["file"]["id"]
    stored = fake.files[file_id]
    assert (stored.data, stored.title, stored.mimetype) == (PNG, "a red fox", "image/png")
    assert (stored.channel, stored.thread_ts, stored.initial_comment) == (
        "C1",
        parent["ts"],
        "here you go",
    )
    shared = fake.thread("C1", parent["ts"])[-1]
    assert shared["files"][0]["id"] == file_id and shared["text"] == "here you go"
    (get_url,) = fake.method_calls("files.getUploadURLExternal")
    assert (get_url["filename"], get_url["length"]) == ("fox.png", str(len(PNG)))
    (complete,) = fake.method_calls("files.completeUploadExternal")
    assert json.loads(complete["files"]) == [{"id": file_id, "title": "a red fox"}]


async def test_failed_raw_upload_stops_files_upload_v2(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.fail_next("upload", error="upload failed", status=500)
    with pytest.raises(SlackRequestError, match="status: 500"):
        await client.files_upload_v2(channel="C1", file=PNG, filename="fox.png")
    assert fake.method_calls("files.completeUploadExternal") == []


async def test_url_private_needs_the_bot_token(fake: FakeSlack) -> None:
    info = fake.add_file(PNG, "image/png", "sketch.png")
    async with aiohttp.ClientSession() as http:
        auth = {"Authorization": f"Bearer {fake.bot_token}"}
        async with http.get(info["url_private_download"], headers=auth) as resp:
            assert (resp.status, resp.content_type, await resp.read()) == (200, "image/png", PNG)
        async with http.get(info["url_private"]) as resp:  # no token: a 200 HTML sign-in page
            assert (resp.status, resp.content_type) == (200, "text/html")
    assert fake.downloads == [(info["id"], True), (info["id"], False)]


# -- HTTP mode through a real AsyncApp served by aiohttp -------------------------------------


@dataclass
class Seen:
    commands: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str | None, str]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


def build_app(fake: FakeSlack, seen: Seen) -> AsyncApp:
    app = AsyncApp(
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url),
        signing_secret=fake.signing_secret,
    )

    @app.command("/imagine")
    async def imagine(ack: Any, command: dict[str, Any], say: Any, respond: Any) -> None:
        await ack(f"Queued: {command['text']}")
        seen.commands.append(command)
        await say(text=f"<@{command['user_id']}> {command['text']}", blocks=BUTTONS)
        await respond("started")

    @app.event("message")
    async def message(
        event: dict[str, Any], body: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        retry = request.headers.get("x-slack-retry-num", [None])[0]
        seen.events.append((body["event_id"], retry, event["text"]))

    @app.action("regenerate")
    async def regenerate(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        seen.actions.append(body)
        await respond(text="regenerating", replace_original=False)

    return app


@pytest.fixture
async def bolt(fake: FakeSlack) -> AsyncIterator[tuple[str, Seen]]:
    seen = Seen()
    async with serve(build_app(fake, seen).web_app(path="/slack/events")) as base:
        yield f"{base}/slack/events", seen


async def test_signed_slash_command_acks_then_posts(
    fake: FakeSlack, bolt: tuple[str, Seen]
) -> None:
    url, seen = bolt
    status, body, elapsed = await fake.slash_command(url, text="a red fox --ar 16:9")
    assert (status, body) == (200, "Queued: a red fox --ar 16:9")
    assert elapsed < SLACK_ACK_DEADLINE
    posted = await fake.wait_for(lambda: fake.bot_messages(fake.default_channel))
    assert posted[0]["text"] == f"<@{fake.default_user}> a red fox --ar 16:9"
    (response_url, response) = (await fake.wait_for(lambda: fake.responses))[0]
    assert response_url == seen.commands[0]["response_url"] and response["text"] == "started"
    # Bolt authorizes lazily, once; its per-request client adds team_id to every call
    assert fake.method_calls("auth.test") == [{"team_id": fake.team_id}]


@pytest.mark.parametrize(("bad_signature", "stale"), [(True, False), (False, True)])
async def test_unsigned_or_stale_requests_get_401(
    fake: FakeSlack, bolt: tuple[str, Seen], bad_signature: bool, stale: bool
) -> None:
    url, seen = bolt
    status, _, _ = await fake.slash_command(url, text="x", bad_signature=bad_signature, stale=stale)
    assert status == 401
    assert seen.commands == [] and fake.calls == []


async def test_event_retries_carry_the_same_id_and_retry_headers(
    fake: FakeSlack, bolt: tuple[str, Seen]
) -> None:
    url, seen = bolt
    event = fake.message_event(text="make it blue")
    first = await fake.event(url, event, event_id="Ev0RETRY1")
    retry = await fake.event(url, event, event_id="Ev0RETRY1", retry_num=1)
    assert (first.status, retry.status) == (200, 200)
    await fake.wait_for(lambda: len(seen.events) == 2)
    assert set(seen.events) == {
        ("Ev0RETRY1", None, "make it blue"),
        ("Ev0RETRY1", "1", "make it blue"),
    }
    # Bolt drops the bot's own message (auth.test and the event agree on the bot user)
    await fake.event(url, fake.message_event(user=fake.bot_user_id, text="mine"))
    await fake.event(url, fake.message_event(text="after"))
    await fake.wait_for(lambda: len(seen.events) == 3)
    assert [text for _, _, text in seen.events][2:] == ["after"]


async def test_button_click_reaches_the_action(
    fake: FakeSlack, client: AsyncWebClient, bolt: tuple[str, Seen]
) -> None:
    url, seen = bolt
    parent = await client.chat_postMessage(channel="C1", text="image", blocks=BUTTONS)
    status, body, _ = await fake.block_action(
        url, "regenerate", channel_id="C1", message_ts=parent["ts"]
    )
    assert (status, body) == (200, "")
    await fake.wait_for(lambda: seen.actions)
    action = seen.actions[0]["actions"][0]
    assert (action["value"], action["block_id"]) == ("job-42", "job-42")
    assert seen.actions[0]["message"]["blocks"] == BUTTONS
    (_, response) = (await fake.wait_for(lambda: fake.responses))[0]
    assert response == {"text": "regenerating", "replace_original": False}


# -- Socket Mode through the real AsyncSocketModeHandler --------------------------------------


async def test_socket_mode_envelopes_are_acked(fake: FakeSlack) -> None:
    seen = Seen()
    app = build_app(fake, seen)
    handler = AsyncSocketModeHandler(app, fake.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        assert fake.method_calls("apps.connections.open") == [{}]
        envelope_id = await fake.socket_send("slash_commands", fake.slash_payload(text="a fox"))
        ack = await fake.wait_ack(envelope_id)
        assert ack == {"envelope_id": envelope_id, "payload": {"text": "Queued: a fox"}}

        event = fake.event_payload(fake.message_event(text="hello"))
        envelope_id = await fake.socket_send("events_api", event, retry_attempt=1)
        assert await fake.wait_ack(envelope_id) == {"envelope_id": envelope_id}
        await fake.wait_for(lambda: seen.events)
        assert seen.events[0][1:] == ("1", "hello")

        (posted,) = await fake.wait_for(lambda: fake.bot_messages(fake.default_channel))
        click = fake.block_action_payload("regenerate", message_ts=posted["ts"])
        envelope_id = await fake.socket_send("interactive", click)
        assert await fake.wait_ack(envelope_id) == {"envelope_id": envelope_id}
        await fake.wait_for(lambda: len(fake.responses) == 2)  # respond() after the command
        assert seen.actions[0]["actions"][0]["value"] == "job-42"

        # Slack's periodic "disconnect": the client fetches a new URL and reconnects
        before = fake.sockets[-1]
        await fake.socket_disconnect()
        await fake.wait_for(lambda: fake.sockets and fake.sockets[-1] is not before)
        assert len(fake.method_calls("apps.connections.open")) == 2
        envelope_id = await fake.socket_send("slash_commands", fake.slash_payload(text="again"))
        assert (await fake.wait_ack(envelope_id))["payload"] == {"text": "Queued: again"}
        await fake.wait_for(lambda: len(fake.responses) == 3)
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
