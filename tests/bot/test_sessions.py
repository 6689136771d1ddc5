"""Thread sessions on a real database (SQLite, then PostgreSQL): history round trip,
blobs, trimming, versions."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.history import wire_size
from bot.sessions import SessionStore, ThreadKey
from bot.store import Store

KEY = ThreadKey("discord", "guild-1", "chan-1", "thread-1")
PRO, GPT = "gemini-3-pro-image", "gpt-image-2.6-sunburst"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")  # the SDK's JSON form


def img(tag: int, size: int = 300) -> bytes:
    """Distinct image-like bytes whose base64 has '-', '_' and padding."""
    return bytes([0x89, tag]) + bytes(range(256)) * (size // 256) + bytes([0xFB, 0xFF, tag])


def exchange(prompt: str, out: bytes, *, ref: bytes | None = None) -> tuple[dict[str, Any], ...]:
    """A user turn and the model's answer, shaped like ``Content.model_dump(mode="json")``."""
    user_parts: list[dict[str, Any]] = [{"text": prompt}]
    if ref is not None:
        user_parts.append({"inline_data": {"data": b64(ref), "mime_type": "image/png"}})
    model_parts = [
        {"text": "Planning.", "thought": True},
        {"inline_data": {"data": b64(out[:40]), "mime_type": "image/png"}, "thought": True},
        {"text": f"Here is {prompt}"},
        {
            "inline_data": {"data": b64(out), "mime_type": "image/png"},
            "thought_signature": b64(b"sig:" + out[:8]),
        },
    ]
    return {"parts": user_parts, "role": "user"}, {"parts": model_parts, "role": "model"}


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    async with await Store.open(db_url) as s:
        yield s


async def count(store: Store, table: str) -> int:
    row = await store.fetchone(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def test_history_comes_back_identical_with_images_moved_out(store: Store) -> None:
    sessions = SessionStore(store)
    first = exchange("a cat", img(1), ref=img(9))
    camel = {"parts": [{"inlineData": {"mimeType": "image/jpeg", "data": b64(img(2))}}]}
    standard = base64.b64encode(b"\xfb\xff\xfe").decode()  # "+//+": not the SDK's alphabet
    odd = {"inline_data": {"data": standard, "mime_type": "x"}}
    second = (
        {"parts": [{"text": "now blue"}, odd, camel["parts"][0]], "role": "user"},
        exchange("b", img(3))[1],
    )
    assert await sessions.load(KEY) is None
    await sessions.append(KEY, model=PRO, config={"size": "2K"}, turns=first, image=(img(1), "p"))
    await sessions.append(KEY, model=PRO, config={"size": "4K"}, turns=second, image=(img(3), "p"))

    session = await sessions.load(KEY)
    assert session is not None
    assert json.dumps(session.history) == json.dumps([*first, *second])  # same keys, same order
    assert session.model == PRO and session.config == {"size": "4K"} and session.pending is None
    row = await store.fetchone("SELECT history FROM sessions")
    assert row is not None
    assert b64(img(1)) not in row[0] and b64(img(2)) not in row[0]  # bytes live in blobs
    assert standard in row[0]  # not the SDK's form: kept inline, untouched
    # the ref, the draft, the answer, the camelCase image, the second answer and its draft
    assert await count(store, "blobs") == 6


async def test_an_image_resent_every_turn_is_stored_once(store: Store) -> None:
    sessions = SessionStore(store)
    photo = img(200, size=5000)
    for i in range(10):
        turns = exchange(f"edit {i}", img(i), ref=photo)
        result = await sessions.append(KEY, model=PRO, config={}, turns=turns, image=(img(i), "p"))
        assert result.version == i + 1 and not result.trimmed_now
    session = await sessions.load(KEY)
    assert session is not None and len(session.history) == 20
    sent = [p for t in session.history[::2] for p in t["parts"] if "inline_data" in p]
    assert len(sent) == 10 and all(p["inline_data"]["data"] == b64(photo) for p in sent)
    assert await count(store, "blobs") == 1 + 10 + 10  # the photo once; answers; drafts
    row = await store.fetchone("SELECT count(*) FROM blobs WHERE size = ?", (len(photo),))
    assert row is not None and row[0] == 1


async def test_trimming_drops_the_oldest_exchanges_and_says_so_once(store: Store) -> None:
    turns = [exchange(f"p{i}", img(i, size=3000)) for i in range(4)]
    one = sum(wire_size(t) for t in turns[0])
    sessions = SessionStore(store, max_history_bytes=int(2.5 * one))  # room for two exchanges
    results = [
        await sessions.append(KEY, model=PRO, config={}, turns=t, image=(img(i, 3000), "p"))
        for i, t in enumerate(turns)
    ]
    assert [r.trimmed_now for r in results] == [False, False, True, False]
    session = await sessions.load(KEY)
    assert session is not None and session.trimmed
    assert session.history == (*turns[2], *turns[3])  # whole exchanges, user turn first
    assert [v.n for v in session.versions] == [1, 2, 3, 4]  # versions keep every image
    assert await sessions.image(KEY, 1) == (img(0, 3000), "p", session.versions[0])

    tiny = SessionStore(store, max_history_bytes=10)
    big = exchange("huge", img(7, size=9000))
    await tiny.append(KEY, model=PRO, config={}, turns=big, image=(img(7, 9000), "p"))
    session = await tiny.load(KEY)
    assert session is not None and session.history == big  # the newest exchange always stays


def test_wire_size_counts_images_as_sent() -> None:
    turn = exchange("x", img(5, size=1000), ref=img(6, 700))[0]
    assert wire_size(turn) == len(json.dumps(turn, separators=(",", ":")))


async def test_versions_list_models_and_images(store: Store) -> None:
    sessions = SessionStore(store)
    await sessions.append(
        KEY,
        model=PRO,
        config={},
        turns=exchange("a", img(1)),
        image=(img(1), "image/png"),
        job_id="j1",
    )
    await sessions.add_foreign_image(KEY, model=GPT, image=(img(2), "image/jpeg"), prompt="b")
    other = ThreadKey("slack", "T1", "C1", "1700000000.000100")
    await sessions.add_foreign_image(other, model=GPT, image=(img(3), "image/png"), prompt="c")

    session = await sessions.load(KEY)
    assert session is not None
    assert [(v.n, v.model, v.job_id) for v in session.versions] == [(1, PRO, "j1"), (2, GPT, None)]
    latest = await sessions.latest_image(KEY)
    assert latest is not None and latest[:2] == (img(2), "image/jpeg") and latest[2].n == 2
    first = await sessions.image(KEY, 1)
    assert first is not None and first[:2] == (img(1), "image/png")
    assert await sessions.image(KEY, 3) is None
    assert await sessions.latest_image(ThreadKey("discord", "g", "c", "none")) is None
    mine = await sessions.latest_image(other)
    assert mine is not None and mine[0] == img(3) and mine[2].n == 1


def test_thread_keys_cannot_collide() -> None:
    assert ThreadKey("a", "b|c", "d", "e").id != ThreadKey("a", "b", "c|d", "e").id
    assert ThreadKey("a", 'b","c', "d", "e").id != ThreadKey("a", "b", "c", "d").id


async def test_a_backup_image_rides_in_the_next_user_turn(store: Store) -> None:
    sessions = SessionStore(store)
    await sessions.append(
        KEY,
        model=PRO,
        config={"aspect_ratio": "3:4"},
        turns=exchange("a fox", img(1)),
        image=(img(1), "image/png"),
    )
    await sessions.add_foreign_image(KEY, model=GPT, image=(img(2), "image/png"), prompt="red hat")
    await sessions.add_foreign_image(KEY, model=GPT, image=(img(3), "image/png"), prompt="blue")

    session = await sessions.load(KEY)
    assert session is not None and session.model == PRO
    assert [t["role"] for t in session.history] == ["user", "model"]  # nothing pending in it
    request = session.next_request(prompt="now at night", aspect_ratio="3:4")
    assert request.history == session.history
    assert request.prompt == (
        f"Image v2, made by {GPT} from the prompt: red hat\n"
        f"Image v3, made by {GPT} from the prompt: blue\n\nnow at night"
    )
    assert [r.data for r in request.references] == [img(2), img(3)]

    forgot = exchange("now at night", img(4))
    with pytest.raises(ValueError, match="next_request"):
        await sessions.append(KEY, model=PRO, config={}, turns=forgot, image=(img(4), "p"))
    # the user turn the provider builds from the request: text, then the references
    user = {
        "parts": [
            {"text": request.prompt},
            *(
                {"inline_data": {"data": b64(r.data), "mime_type": r.mime_type}}
                for r in request.references
            ),
        ],
        "role": "user",
    }
    result = await sessions.append(
        KEY, model=PRO, config={}, turns=(user, forgot[1]), image=(img(4), "p")
    )
    assert result.version == 4
    session = await sessions.load(KEY)
    assert session is not None and session.pending is None
    assert [t["role"] for t in session.history] == ["user", "model"] * 2  # roles alternate
    assert session.history[2] == user
    assert session.next_request(prompt="x").references == ()


async def test_a_thread_can_start_with_a_backup_image(store: Store) -> None:
    sessions = SessionStore(store)
    result = await sessions.add_foreign_image(
        KEY, model=GPT, image=(img(1), "image/png"), prompt="a"
    )
    assert result.version == 1
    session = await sessions.load(KEY)
    assert session is not None and session.history == () and session.model is None
    assert session.pending is not None
    assert session.pending["parts"][1]["inline_data"]["data"] == b64(img(1))
    assert session.next_request(prompt="b").references[0].data == img(1)


async def test_the_thread_lock_queues_edits(store: Store) -> None:
    sessions = SessionStore(store)
    assert sessions.lock(KEY) is sessions.lock(
        ThreadKey(*"discord guild-1 chan-1 thread-1".split())
    )
    assert sessions.lock(KEY) is not sessions.lock(ThreadKey("discord", "g", "c", "other"))
    events: list[str] = []
    seen: list[int] = []

    async def edit(name: str, tag: int) -> None:
        async with sessions.lock(KEY):
            events.append(f"{name} in")
            session = await sessions.load(KEY)
            seen.append(len(session.history) if session else 0)
            await asyncio.sleep(0.05)  # the model call
            turns = exchange(name, img(tag))
            await sessions.append(KEY, model=PRO, config={}, turns=turns, image=(img(tag), "p"))
            events.append(f"{name} out")

    await asyncio.gather(edit("a", 1), edit("b", 2))
    assert events == ["a in", "a out", "b in", "b out"]
    assert seen == [0, 2]  # the second edit built on the first one's result
