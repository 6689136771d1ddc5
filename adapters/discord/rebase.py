"""One discord.py client pointed at a REST / gateway proxy (or a test fake).

discord.py builds its URLs from two class attributes, ``discord.http.Route.BASE``
and ``DiscordWebSocket.DEFAULT_GATEWAY``. Setting them would move every client in
the process (and outlive this one), so they are left alone. Instead the client
gets a ``RebasedHTTPClient``: its aiohttp session — which carries the REST calls,
the interaction and webhook calls (discord.py hands them the same session) and the
gateway connection — sends URLs on those defaults to the configured bases.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import HTTPClient, Route
from discord.utils import MISSING


@dataclass(frozen=True, slots=True)
class Rebase:
    api_base: str | None  # replaces Route.BASE, e.g. "http://proxy:8080/api/v10"
    gateway: str | None  # replaces the default gateway, e.g. "ws://proxy:8081"

    def __call__(self, url: Any) -> Any:
        text = str(url)
        if self.api_base and text.startswith(Route.BASE + "/"):
            return self.api_base + text[len(Route.BASE) :]
        if self.gateway and text.startswith(str(DiscordWebSocket.DEFAULT_GATEWAY)):
            return str(yarl.URL(self.gateway).with_query(yarl.URL(text).query))
        return url


class _RebasedSession:
    """An aiohttp ``ClientSession`` whose requests go through ``rebase`` first."""

    def __init__(self, session: Any, rebase: Rebase) -> None:
        self._session, self._rebase = session, rebase

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:
        return self._session.request(method, self._rebase(url), **kwargs)

    def get(self, url: Any, **kwargs: Any) -> Any:
        return self._session.get(self._rebase(url), **kwargs)

    def ws_connect(self, url: Any, **kwargs: Any) -> Any:
        return self._session.ws_connect(self._rebase(url), **kwargs)

    def __getattr__(self, name: str) -> Any:  # closed, close, …
        return getattr(self._session, name)


class RebasedHTTPClient(HTTPClient):
    """discord.py's HTTP client for one bot, on the bases ``rebase`` gives."""

    def __init__(self, loop: asyncio.AbstractEventLoop, rebase: Rebase) -> None:
        self._rebase = rebase
        self._rebased: Any = MISSING
        super().__init__(loop)

    # HTTPClient keeps its session in the private ``__session`` attribute, which
    # discord.py's interactions and webhooks read too (``http._HTTPClient__session``).
    # Whatever it stores there is handed out rebased.
    @property
    def _HTTPClient__session(self) -> Any:
        return self._rebased

    @_HTTPClient__session.setter
    def _HTTPClient__session(self, session: Any) -> None:
        self._rebased = _RebasedSession(session, self._rebase) if session else session
