"""Safe by default: 127.0.0.1 unless a token is set; with one, every page but
``/healthz`` and ``/slack/events`` needs it; it never reaches a log."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from adapters.app import serve
from adapters.web_guard import COOKIE, check_bind
from bot.config import Settings
from bot.errors import ConfigError
from tests.adapters.status_world import status_world

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_token(host: str) -> None:
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.5", "bot.example.com"])
def test_any_other_address_needs_a_token(host: str) -> None:
    with pytest.raises(ConfigError, match="set IMAGINE_WEB_TOKEN"):
        check_bind(host, None)
    check_bind(host, TOKEN)


async def test_serve_refuses_to_start_before_opening_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DISCORD_TOKEN": "not-a-real-token",
        "IMAGINE_HTTP_HOST": "0.0.0.0",
        "IMAGINE_DATA_DIR": str(tmp_path / "data"),
        "IMAGINE_WEB_TOKEN": "  ",  # blank is unset
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=r"IMAGINE_HTTP_HOST=0\.0\.0\.0 .* IMAGINE_WEB_TOKEN"):
        await serve(Settings(), stop=asyncio.Event())
    assert not (tmp_path / "data").exists()  # refused before the database was opened


def slack_events(app: web.Application) -> None:
    async def events(_request: web.Request) -> web.Response:
        return web.Response(text="slack checks its own signature")

    app.router.add_post("/slack/events", events)


async def test_token_guards_every_page_but_healthz_and_slack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with (
        status_world(tmp_path, monkeypatch, token=TOKEN, mounts=[slack_events]) as w,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,  # an IP host
    ):
        for path in ("/status", "/status.json", "/status/events", "/nope"):
            async with http.get(w.base + path) as resp:
                assert resp.status == 401, path
                assert "IMAGINE_WEB_TOKEN" in await resp.text()
        async with http.get(w.base + "/status?token=wrong") as resp:
            assert resp.status == 401
        async with http.get(w.base + "/healthz") as resp:
            assert resp.status == 200
        async with http.post(w.base + "/slack/events", data="x") as resp:
            assert resp.status == 200
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(w.base + "/status.json", headers=bearer) as resp:
            assert resp.status == 200 and (await resp.json())["total"] == 3
        assert not http.cookie_jar.filter_cookies(w.base)  # a header sets no cookie

        async with http.get(f"{w.base}/status?token={TOKEN}", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/status"
            set_cookie = resp.headers["Set-Cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
        assert TOKEN not in set_cookie  # an HMAC of it, not the token
        async with http.get(w.base + "/status") as resp:  # the cookie from now on
            assert resp.status == 200 and "imagine-bot status" in await resp.text()
        async with http.get(w.base + "/status/events") as resp:
            assert resp.status == 200
            assert (await resp.content.readline()).startswith(b"retry:")
        http.cookie_jar.clear()
        async with http.get(w.base + "/status", headers={"Cookie": f"{COOKIE}={'0' * 64}"}) as resp:
            assert resp.status == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /status" in logged  # the access log is on …
    assert TOKEN not in logged and "token=" not in logged  # … and never shows the token
