"""What Slack sends a bot: payloads (slash command, event, button click) and signed POSTs.

``SlackSends`` sits between ``SlackState`` (what Slack remembers) and
``FakeSlack`` (the server). Its builders return exactly what goes on the wire,
so the same payload can be POSTed in HTTP mode or wrapped in a Socket Mode
envelope (``fake.socket_send("slash_commands", fake.slash_payload(...))``).
"""

from __future__ import annotations

import copy
import json
import secrets
import time
import urllib.parse
import uuid
from typing import NamedTuple

import aiohttp

from tests.platforms.slack_fake_state import Json, SlackState
from tests.platforms.slack_fake_wire import (
    SLACKBOT_UA,
    Workspace,
    channel_name,
    channel_type,
    find_button,
    sign,
)


class Delivery(NamedTuple):
    """What the bot answered to a request the fake sent it."""

    status: int
    body: str
    elapsed: float  # seconds; Slack gives up after SLACK_ACK_DEADLINE


class SlackSends(SlackState):
    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        default_user: str = "U0FAKEUSER1",
        default_channel: str = "C0FAKECHAN1",
    ) -> None:
        super().__init__(workspace)
        self.default_user = default_user
        self.default_channel = default_channel
        self.port = 0
        self._issued_response_urls: set[str] = set()
        self._session: aiohttp.ClientSession | None = None

    # -- identity ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        return f"{self.url}api/"  # urljoin(api_url, method): the trailing slash matters

    @property
    def bot_token(self) -> str:
        return self.ws.bot_token

    @property
    def app_token(self) -> str:
        return self.ws.app_token

    @property
    def signing_secret(self) -> str:
        return self.ws.signing_secret

    @property
    def team_id(self) -> str:
        return self.ws.team_id

    @property
    def bot_user_id(self) -> str:
        return self.ws.bot_user_id

    @property
    def bot_id(self) -> str:
        return self.ws.bot_id

    # -- what Slack sends: payload builders ----------------------------------------------

    def response_url(self, kind: str = "commands") -> str:
        """A fresh response_url; JSON POSTed to it lands in ``fake.responses``."""
        url = f"{self.url}{kind}/{self.team_id}/{len(self._issued_response_urls) + 1}/"
        url += secrets.token_hex(12)
        self._issued_response_urls.add(url)
        return url

    def trigger_id(self) -> str:
        return f"{int(time.time() * 1000)}.1000000001.{secrets.token_hex(16)}"

    def slash_payload(
        self,
        *,
        command: str = "/imagine",
        text: str = "",
        user_id: str | None = None,
        channel_id: str | None = None,
        trigger_id: str | None = None,
        response_url: str | None = None,
    ) -> dict[str, str]:
        user, channel, ws = (
            user_id or self.default_user,
            channel_id or self.default_channel,
            self.ws,
        )
        return {
            "token": ws.verification_token,
            "team_id": ws.team_id,
            "team_domain": ws.team_domain,
            "channel_id": channel,
            "channel_name": channel_name(channel),
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": ws.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self.response_url("commands"),
            "trigger_id": trigger_id or self.trigger_id(),
        }

    def event_payload(self, event: Json, *, event_id: str | None = None) -> Json:
        """The ``event_callback`` envelope (HTTP body, or Socket Mode ``events_api`` payload)."""
        ws = self.ws
        return {
            "token": ws.verification_token,
            "team_id": ws.team_id,
            "context_team_id": ws.team_id,
            "context_enterprise_id": None,
            "api_app_id": ws.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": ws.team_id,
                    "user_id": ws.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_urlsafe(24)}",
        }

    def message_event(
        self,
        channel: str | None = None,
        user: str | None = None,
        text: str = "",
        thread_ts: str | None = None,
        files: list[Json] | None = None,
        *,
        kind: str = "message",
    ) -> Json:
        """A user posts ``text`` (stored in ``fake.messages``); returns the ``message`` event.
        ``files`` are ``add_file`` results; ``kind="app_mention"`` prefixes ``<@bot>``."""
        channel, user = channel or self.default_channel, user or self.default_user
        if kind == "app_mention":
            text = f"<@{self.bot_user_id}> {text}"
        msg = self.store_message(channel, text=text, user=user, thread_ts=thread_ts, files=files)
        event: Json = {
            "type": kind,
            "user": user,
            "text": text,
            "ts": msg["ts"],
            "team": self.team_id,
            "channel": channel,
            "event_ts": msg["ts"],
            "client_msg_id": str(uuid.uuid4()),
            "blocks": [
                {
                    "type": "rich_text",
                    "block_id": secrets.token_hex(3),
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                    ],
                }
            ],
        }
        if kind == "message":
            event["channel_type"] = channel_type(channel)
        if thread_ts:
            event["thread_ts"] = thread_ts
            event["parent_user_id"] = msg.get("parent_user_id")
        if files:
            event.update(subtype="file_share", files=files, upload=False, display_as_bot=False)
        return event

    def block_action_payload(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str | None = None,
        channel_id: str | None = None,
        message_ts: str,
        thread_ts: str | None = None,
        ephemeral: bool = False,
    ) -> Json:
        """A button click on a stored message; ``value`` defaults to the rendered button's."""
        user, channel, ws = (
            user_id or self.default_user,
            channel_id or self.default_channel,
            self.ws,
        )
        message = self.find_message(channel, message_ts)
        block_id, button = find_button(message, action_id)
        container: Json = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        }
        thread = thread_ts or (message or {}).get("thread_ts")
        if thread:
            container["thread_ts"] = thread
        payload: Json = {
            "type": "block_actions",
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": ws.team_id,
            },
            "api_app_id": ws.api_app_id,
            "token": ws.verification_token,
            "container": container,
            "trigger_id": self.trigger_id(),
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": channel_name(channel)},
            "state": {"values": {}},
            "response_url": self.response_url("actions"),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id or secrets.token_hex(3),
                    "text": button.get("text", {"type": "plain_text", "text": "Button"}),
                    "value": value if value is not None else button.get("value", ""),
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        if not ephemeral:  # Slack omits the message for ephemeral containers
            stub = {"type": "message", "ts": message_ts, "text": "", "user": self.bot_user_id}
            payload["message"] = copy.deepcopy(message) if message is not None else stub
        return payload

    # -- what Slack sends: HTTP mode -----------------------------------------------------

    async def post_signed(
        self,
        bot_url: str,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        bad_signature: bool = False,
        stale: bool = False,
    ) -> Delivery:
        """POST ``body`` the way Slack does: signed, timestamped, Slackbot user agent."""
        assert self._session is not None, "use FakeSlack as an async context manager"
        timestamp = int(time.time()) - (600 if stale else 0)
        secret = "not-the-signing-secret" if bad_signature else self.signing_secret
        sent = {
            "Content-Type": content_type,
            "User-Agent": SLACKBOT_UA,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(secret, timestamp, body),
            **(headers or {}),
        }
        start = time.perf_counter()
        async with self._session.post(bot_url, data=body.encode(), headers=sent) as resp:
            text = await resp.text()
        return Delivery(resp.status, text, time.perf_counter() - start)

    async def slash_command(
        self,
        bot_url: str,
        *,
        command: str = "/imagine",
        text: str = "",
        user_id: str | None = None,
        channel_id: str | None = None,
        trigger_id: str | None = None,
        bad_signature: bool = False,
        stale: bool = False,
    ) -> Delivery:
        fields = self.slash_payload(
            command=command,
            text=text,
            user_id=user_id,
            channel_id=channel_id,
            trigger_id=trigger_id,
        )
        body = urllib.parse.urlencode(fields)
        form = "application/x-www-form-urlencoded"
        return await self.post_signed(bot_url, body, form, bad_signature=bad_signature, stale=stale)

    async def event(
        self,
        bot_url: str,
        event: Json,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        bad_signature: bool = False,
        stale: bool = False,
    ) -> Delivery:
        """Deliver an Events API callback; a retry repeats ``event_id`` with retry headers."""
        body = json.dumps(self.event_payload(event, event_id=event_id))
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self.post_signed(
            bot_url,
            body,
            "application/json",
            headers=headers,
            bad_signature=bad_signature,
            stale=stale,
        )

    async def block_action(
        self,
        bot_url: str,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str | None = None,
        channel_id: str | None = None,
        message_ts: str,
        thread_ts: str | None = None,
        bad_signature: bool = False,
        stale: bool = False,
    ) -> Delivery:
        payload = self.block_action_payload(
            action_id,
            value,
            user_id=user_id,
            channel_id=channel_id,
            message_ts=message_ts,
            thread_ts=thread_ts,
        )
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        form = "application/x-www-form-urlencoded"
        return await self.post_signed(bot_url, body, form, bad_signature=bad_signature, stale=stale)
