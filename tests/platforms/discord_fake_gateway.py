"""The fake Discord Gateway (v10, JSON text frames, no transport compression).

HELLO → IDENTIFY → READY + a GUILD_CREATE per guild, heartbeats, RESUME with replay of
missed dispatches, RECONNECT on request, member chunks. Close codes as Discord uses them.
Sessions and shards (which session hears which guild): ``discord_fake_shards.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from tests.platforms.discord_fake_shards import (
    INVALID_SHARD,
    MAX_GUILDS_PER_SHARD,
    SHARDING_REQUIRED,
    Session,
    guild_of_event,
    parse_shard,
)
from tests.platforms.discord_fake_store import FakeStore
from tests.platforms.discord_fake_types import (
    FLAG_EPHEMERAL,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    PRIVILEGED_INTENTS,
    Json,
)

OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE, OP_RESUME = 0, 1, 2, 3, 6
OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 7, 8, 9, 10, 11


class FakeGateway:
    def __init__(
        self,
        store: FakeStore,
        *,
        token: str,
        heartbeat_interval_ms: int,
        on_change: Callable[[], None],
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
    ) -> None:
        self.store = store
        self.token = token
        self.url = ""  # ws://127.0.0.1:PORT/gateway, set once the server is bound
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.max_guilds_per_shard = max_guilds_per_shard  # more in one session: 4011
        self.sessions: list[Session] = []  # every identified session, oldest first
        self.connections: list[dict[str, str]] = []  # query string of each connection
        self.received: list[Json] = []  # every frame the client sent
        self.resumes = 0
        self.replayed = 0  # dispatches re-sent on RESUME
        self._sockets: set[web.WebSocketResponse] = set()
        self._on_change = on_change

    # the newest session's view (all a test with one unsharded client needs)
    @property
    def latest(self) -> Session | None:
        return self.sessions[-1] if self.sessions else None

    @property
    def session_id(self) -> str | None:
        return self.latest.session_id if self.latest else None

    @property
    def identify(self) -> Json | None:
        return self.latest.identify if self.latest else None

    @property
    def intents(self) -> int:
        return self.latest.intents if self.latest else 0

    @property
    def events(self) -> list[tuple[int, str, Json]]:
        return self.latest.events if self.latest else []

    @property
    def connected(self) -> bool:
        return any(s.connected for s in self.sessions)

    def shards_connected(self) -> list[tuple[int, int] | None]:
        return [s.shard for s in self.sessions if s.connected]

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self._sockets.add(ws)
        self.connections.append(dict(request.query))
        try:
            await self._send(
                ws, {"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._on_frame(ws, json.loads(message.data))
        finally:
            self._sockets.discard(ws)
            for session in self.sessions:
                if session.ws is ws:
                    session.ws = None
            self._on_change()
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, frame: Json) -> None:
        self.received.append(frame)
        op, data = frame.get("op"), frame.get("d")
        data = data if isinstance(data, dict) else {}
        if op == OP_HEARTBEAT:
            await self._send(ws, {"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(ws, data)
        elif op == OP_RESUME:
            await self._resume(ws, data)
        elif op == OP_REQUEST_MEMBERS:
            await self._member_chunk(ws, data)
        self._on_change()

    async def _identify(self, ws: web.WebSocketResponse, data: Json) -> None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.store.enabled_privileged_intents:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        try:
            shard = parse_shard(data.get("shard"))
        except ValueError:
            await ws.close(code=INVALID_SHARD, message=b"Invalid shard.")
            return
        session = Session(secrets.token_hex(16), data, intents, shard, ws)
        guilds = [g for g in self.store.guilds if session.hears(g)]
        if len(guilds) > self.max_guilds_per_shard:
            await ws.close(code=SHARDING_REQUIRED, message=b"Sharding required.")
            return
        self.sessions.append(session)
        store = self.store
        ready: Json = {
            "v": 10,
            "user": store.bot_user.payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.url,
            "application": {"id": str(store.application_id), "flags": store.application_flags()},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        await self._dispatch_to(session, "READY", ready)
        for guild_id in guilds:
            guild = store.guild_payload(guild_id, all_members=bool(intents & INTENT_GUILD_MEMBERS))
            await self._dispatch_to(session, "GUILD_CREATE", guild)

    async def _resume(self, ws: web.WebSocketResponse, data: Json) -> None:
        wanted = data.get("session_id")
        session = next((s for s in self.sessions if s.session_id == wanted), None)
        if data.get("token") != self.token or session is None:
            await self._send(ws, {"op": OP_INVALID_SESSION, "d": False})
            return
        session.ws = ws
        self.resumes += 1
        last_seen = int(data.get("seq") or 0)
        for seq, event, payload in list(session.events):
            if seq > last_seen:
                self.replayed += 1
                await self._send(ws, {"op": OP_DISPATCH, "s": seq, "t": event, "d": payload})
        await self._dispatch_to(session, "RESUMED", {"_trace": ["fake-discord"]})

    async def _member_chunk(self, ws: web.WebSocketResponse, data: Json) -> None:
        wanted = {str(u) for u in data.get("user_ids") or []}
        query = str(data.get("query") or "")
        members = [
            self.store.member_payload(u)
            for u in self.store.users.values()
            if (not wanted or str(u.id) in wanted) and u.username.startswith(query)
        ]
        chunk: Json = {"guild_id": str(data["guild_id"]), "members": members}
        chunk |= {"chunk_index": 0, "chunk_count": 1, "not_found": []}
        if data.get("nonce"):
            chunk["nonce"] = data["nonce"]
        asking = next((s for s in self.sessions if s.ws is ws), None)
        if asking is not None:  # the answer goes to the session that asked
            await self._dispatch_to(asking, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send(self, ws: web.WebSocketResponse, frame: Json) -> None:
        if ws.closed:
            return
        with contextlib.suppress(ConnectionError):  # closing: a dispatch is replayed on RESUME
            await ws.send_str(json.dumps(frame))

    async def _dispatch_to(self, session: Session, event: str, data: Json) -> int:
        seq = session.next_seq(event, data)  # kept for RESUME replay
        if session.ws is not None:
            await self._send(session.ws, {"op": OP_DISPATCH, "s": seq, "t": event, "d": data})
        self._on_change()
        return seq

    async def dispatch(self, event: str, data: Json) -> int:
        """Send an op-0 event to every session Discord routes it to (its guild's shard,
        shard 0 for events of no guild); the last sequence number used, 0 if none."""
        if not self.sessions:
            raise RuntimeError(f"cannot dispatch {event}: no client has identified")
        guild_id, seq = guild_of_event(event, data), 0
        for session in self.sessions:
            if session.hears(guild_id):
                seq = await self._dispatch_to(session, event, data)
        return seq

    async def publish_message(self, event: str, message: Json) -> None:
        """MESSAGE_CREATE / MESSAGE_UPDATE as the bot would get it (intents, content rules)."""
        if not self.sessions or message["flags"] & FLAG_EPHEMERAL:
            return
        needed = INTENT_GUILD_MESSAGES if "guild_id" in message else INTENT_DIRECT_MESSAGES
        if self.intents & needed:
            await self.dispatch(event, self.store.as_seen_by_bot(message, self.intents))

    async def request_reconnect(self) -> None:
        """Op 7 to the newest session."""
        if self.latest is not None and self.latest.ws is not None:
            await self._send(self.latest.ws, {"op": OP_RECONNECT, "d": None})

    async def close_all(self, code: int = 1001) -> None:
        for ws in list(self._sockets):
            await ws.close(code=code)
        await asyncio.sleep(0)

    def frames(self, op: int) -> list[Any]:
        return [f.get("d") for f in self.received if f.get("op") == op]
