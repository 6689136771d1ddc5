"""No secret reaches the log. A proxy (here: an echo server on 127.0.0.1) that
answers each client's call with the credentials it was sent, logging at DEBUG,
the real slack-sdk / discord.py / google-genai / openai clients, and each
failure logged with its traceback the way Bolt's and discord.py's default error
handlers do: what an admin reads carries redaction markers, never a key."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
from aiohttp import web
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types
from openai import AsyncOpenAI, AuthenticationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from tests.logs_as_run import logs_as_run
from tests.platforms.slack_fake import serve

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-1234567890-0987654321-EchoedBotTokenValue",
    "SLACK_SIGNING_SECRET": "8f3b1c0e5d7a9f2e4b6c8d0a1e3f5a7b",
    "DISCORD_TOKEN": "MTE5OTk5OTk5OTk5OTk5OTk5.GhIjKl.discord-echoed-token-value",
    "GEMINI_API_KEY": "AIzaSyEchoedGeminiKeyValue0123456789",
    "OPENAI_API_KEY": "sk-proj-echoed-openai-key-value-0123456789",
    "RELAY_API_KEY": "relay-echoed-key-value-0123456789",
    "IMAGINE_WEB_TOKEN": "web-page-token-0123456789abcdef",
}
RELAY = """
[channels.relay]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "RELAY_API_KEY"
"""
log = logging.getLogger("tests.redaction")


async def _echo(request: web.Request) -> web.Response:
    """A misbehaving proxy: 401, quoting every credential it was sent, and the body."""
    sent = [request.headers.get(h, "") for h in ("Authorization", "x-goog-api-key")]
    words = f"unauthorized: {' '.join(sent)} {await request.text()}"
    body = {"ok": False, "error": {"message": words, "code": 401}, "message": words, "code": 0}
    return web.Response(
        status=401, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo)
    async with serve(app) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "relay.toml").write_text(RELAY)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("IMAGINE_CONFIG", str(tmp_path / "relay.toml"))
    monkeypatch.setenv("IMAGINE_LOG_LEVEL", "DEBUG")
    return Settings()


def _clean(text: str, *names: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, f"{name} is in the log"
    for name in names:
        assert f"[redacted {name}]" in text, f"no marker for {name}"


async def test_slack_tokens_are_redacted_and_sdk_bodies_are_not_logged(
    settings: Settings, echo: str
) -> None:
    client = AsyncWebClient(token=SECRETS["SLACK_BOT_TOKEN"], base_url=f"{echo}/api/")
    with logs_as_run(settings) as out:
        with pytest.raises(SlackApiError) as caught:
            await client.auth_test()
        assert "Received the following response" not in out.getvalue()  # quiet at DEBUG
        logging.getLogger("slack_bolt.AsyncApp").error(
            "Failed to run listener function (error: %s)", caught.value, exc_info=caught.value
        )
        logging.getLogger("slack_sdk").setLevel(logging.DEBUG)  # an admin digging deeper
        with pytest.raises(SlackApiError):
            await client.auth_test()
        log.info("signing with %s", SECRETS["SLACK_SIGNING_SECRET"])
    text = out.getvalue()
    assert "Received the following response" in text and "Traceback" in text
    _clean(text, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")


async def test_a_discord_token_echoed_in_an_error_is_redacted(
    settings: Settings, echo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", f"{echo}/api/v10")
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    with logs_as_run(settings) as out:
        logging.getLogger("discord").setLevel(logging.DEBUG)
        try:
            with pytest.raises(discord.LoginFailure) as caught:
                await http.static_login(SECRETS["DISCORD_TOKEN"])
            logging.getLogger("discord.client").error("login failed", exc_info=caught.value)
        finally:
            await http.close()
    text = out.getvalue()
    assert "discord.http" in text and "Traceback" in text
    _clean(text, "DISCORD_TOKEN")


async def test_model_keys_echoed_by_a_proxy_are_redacted(settings: Settings, echo: str) -> None:
    gemini = genai.Client(
        api_key=SECRETS["GEMINI_API_KEY"],
        http_options=genai_types.HttpOptions(base_url=echo, api_version="v1beta"),
    )
    openai = AsyncOpenAI(api_key=SECRETS["OPENAI_API_KEY"], base_url=f"{echo}/v1", max_retries=0)
    relay = AsyncOpenAI(api_key=SECRETS["RELAY_API_KEY"], base_url=f"{echo}/v1", max_retries=0)
    with logs_as_run(settings) as out:
        with pytest.raises(genai_errors.ClientError) as g:
            await gemini.aio.models.generate_content(model="gemini-x", contents="a fox")
        log.error("gemini failed: %s", g.value, exc_info=g.value)
        for client in (openai, relay):
            with pytest.raises(AuthenticationError) as o:
                await client.images.generate(model="gpt-image-x", prompt="a fox")
            log.error("openai-compatible call failed", exc_info=o.value)
        log.warning("status page asked with ?token=%s", SECRETS["IMAGINE_WEB_TOKEN"])
    await openai.close()
    await relay.close()
    _clean(out.getvalue(), "GEMINI_API_KEY", "OPENAI_API_KEY", "RELAY_API_KEY", "IMAGINE_WEB_TOKEN")


async def test_a_slack_token_that_is_not_ours_is_still_blanked(settings: Settings) -> None:
    stranger = "xoxp-5555555555-6666666666-SomeoneElsesUserToken"
    with logs_as_run(settings) as out:
        log.warning("proxy said: invalid token %s", stranger)
    assert stranger not in out.getvalue() and "[redacted slack token]" in out.getvalue()
