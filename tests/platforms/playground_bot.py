"""The whole bot as ``imagine-bot run`` starts it with the playground on, driven over
HTTP the way its page does: ``/play/say`` and ``/play/press`` to act, and a
reader on ``/play/events`` (server-sent events) keeping the room a person sees —
the images fetched from ``/play/image/…`` as the page's ``<img>`` would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.sandbox import Sandbox
from tests.platforms.contract import Sent, Shown, _Driver
from tests.platforms.running_bot import RunningBot, model_env, running

ADMIN = "admin"
CHANNEL, STATUS = "general", "status"
BOT = "imagine-bot"


@dataclass
class PlaygroundWorld(RunningBot):
    base: str = ""
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, bytes] = field(default_factory=dict)
    _http: aiohttp.ClientSession | None = None
    _reader: asyncio.Task[None] | None = None
    _synced: asyncio.Event = field(default_factory=asyncio.Event)

    async def ready(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self._http = self._http or aiohttp.ClientSession()
        self._synced = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self._synced.wait(), 5)

    async def _read(self) -> None:
        """What the page does with the stream: the room, then each change."""
        assert self._http is not None
        async with self._http.get(f"{self.base}/play/events?user=watcher") as resp:
            async for raw in resp.content:
                line = raw.decode().strip()
                if not line.startswith("data: "):
                    continue
                change = json.loads(line.removeprefix("data: "))
                if "room" in change:
                    self.posts = {p["id"]: p for p in change["room"]}
                    self._synced.set()
                elif "post" in change:
                    self.posts[change["post"]["id"]] = change["post"]
                elif "removed" in change:
                    self.posts.pop(change["removed"], None)
                for post in list(self.posts.values()):
                    if post.get("image") and post["image"] not in self.images:
                        async with self._http.get(f"{self.base}/play/{post['image']}") as img:
                            self.images[post["image"]] = await img.read()

    async def post(self, path: str, user: str, body: dict[str, Any]) -> tuple[int, Any]:
        assert self._http is not None
        headers = {"X-Playground-User": user}
        async with self._http.post(f"{self.base}{path}", json=body, headers=headers) as resp:
            return resp.status, await resp.json()

    async def stop(self) -> None:
        await super().stop()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)  # the stream ends with the server
            self._reader = None

    async def close(self) -> None:
        await super().close()
        if self._http is not None:
            await self._http.close()


@contextlib.asynccontextmanager
async def playground_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: str
) -> AsyncIterator[PlaygroundWorld]:
    monkeypatch.chdir(tmp_path)  # no developer .env
    async with Sandbox(seed=7, image_px=64) as sandbox:
        env = {
            **model_env(sandbox, tmp_path / "data"),
            "IMAGINE_PLAYGROUND": "on",
            "IMAGINE_ADMIN_USERS": ADMIN,
            **extra,
        }
        async with running(PlaygroundWorld(sandbox, env), monkeypatch) as world:
            yield world


class PlaygroundDriver(_Driver):
    name = "playground"
    workspace = "playground:local"

    def __init__(self, world: PlaygroundWorld) -> None:
        super().__init__(world)
        self.w = world

    async def imagine(self, prompt: str, *, user: int = 0) -> Sent:
        t0 = time.monotonic()
        body = {"channel": CHANNEL, "text": f"/imagine {prompt}", "key": uuid.uuid4().hex}
        _, said = await self.w.post("/play/say", f"user{user}", body)
        return Sent(said.get("job"), said.get("said", ""), time.monotonic() - t0)

    def _thread_posts(self, job: str) -> list[dict[str, Any]]:
        mine = [p for p in self.w.posts.values() if p["job"] == job]
        threads = {p["thread"] or p["id"] for p in mine}
        return [
            p
            for p in self.w.posts.values()
            if not p["private"] and (p["id"] in threads or p["thread"] in threads)
        ]

    def shown(self, handle: Any) -> Shown:
        posts = self._thread_posts(handle)
        images = [self.w.images[p["image"]] for p in posts if p["image"] in self.w.images]
        root = [p for p in posts if p["job"] == handle]
        buttons: set[str] = set()
        if root and root[-1]["buttons"]:
            buttons = {"retry"} if root[-1]["error"] else {"retry", "vary", "upscale"}
        words = [" ".join([p["text"], p["state"], *p["detail"]]) for p in posts]
        return Shown(images, "\n".join(words), buttons)

    async def reply(self, handle: Any, text: str, *, twice: bool = False) -> None:
        job = await self.app.service.job(handle)
        assert job is not None
        body = {"channel": job.channel, "thread": job.thread, "text": text}
        body["key"] = uuid.uuid4().hex
        for _ in range(2 if twice else 1):  # a page that sends again sends the same key
            await self.w.post("/play/say", "user0", body)

    async def click(self, handle: Any, action: str) -> None:
        """As the page does: the job's buttons on its post, with where that post is."""
        post = [p for p in self.w.posts.values() if p["job"] == handle][-1]
        body = {"job": handle, "press": action, "channel": post["channel"]}
        body |= {"thread": post["thread"], "key": uuid.uuid4().hex}
        await self.w.post("/play/press", "user0", body)

    async def click_elsewhere(self, handle: Any, action: str) -> str:
        """A press of the job's button sent from another channel; what the presser was told."""
        job = await self.app.service.job(handle)
        assert job is not None
        other = next(c for c in (CHANNEL, "art") if c != job.channel)
        body = {"job": handle, "press": action, "channel": other, "key": uuid.uuid4().hex}
        _, said = await self.w.post("/play/press", "user0", body)
        return str(said.get("said", ""))

    def roots(self) -> list[Any]:
        return [p["job"] for p in self.w.posts.values() if p["job"] and not p["thread"]]

    async def admin(self, words: str, *, admin: bool) -> str:
        body = {"channel": CHANNEL, "text": f"/imagine-admin {words}"}
        _, said = await self.w.post("/play/say", ADMIN if admin else "nobody", body)
        return str(said["said"])

    async def status_channel_here(self) -> None:
        body = {"channel": STATUS, "text": "/imagine-admin status-channel"}
        await self.w.post("/play/say", ADMIN, body)

    def announcements(self) -> list[str]:
        return [
            p["text"]
            for p in self.w.posts.values()
            if p["channel"] == STATUS and p["author"] == BOT and not p["private"]
        ]

    async def status(self) -> str:
        _, said = await self.w.post(
            "/play/say", "user0", {"channel": CHANNEL, "text": "/imagine-status"}
        )
        return str(said["said"])


class EmbeddedBot(RunningBot):
    """The bot with no model keys: the playground on its in-process sandbox."""

    base = ""

    async def ready(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def embedded_bot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: str
) -> AsyncIterator[EmbeddedBot]:
    monkeypatch.chdir(tmp_path)  # no developer .env
    for name in ("GEMINI_API_KEY", "OPENAI_API_KEY", "GEMINI_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "IMAGINE_DATA_DIR": str(tmp_path / "data"),
        "IMAGINE_HTTP_PORT": "0",
        "IMAGINE_SHUTDOWN_GRACE_S": "0",
        "IMAGINE_ANNOUNCE_SETTLE_S": "0.2",
        "IMAGINE_USER_RATE": "",
        **extra,
    }
    bot = EmbeddedBot(None, env)  # type: ignore[arg-type]  # its sandbox is the bot's own
    async with running(bot, monkeypatch) as started:
        yield started
