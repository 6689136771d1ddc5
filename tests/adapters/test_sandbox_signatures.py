"""Thought signatures are bound to the sandbox's seed, the model and the API key:
its own come back fine, anyone else's get Gemini's 400 "Corrupted thought signature."."""

from __future__ import annotations

import base64
import copy
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from google import genai
from google.genai import errors, types

from adapters.sandbox import Sandbox
from tests.adapters.helpers import API_KEY

PRO, FLASH = "gemini-3-pro-image", "gemini-3.1-flash-image"
CONFIG = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
CORRUPTED = {
    "error": {"code": 400, "message": "Corrupted thought signature.", "status": "INVALID_ARGUMENT"}
}


def client(sb: Sandbox, key: str = API_KEY) -> genai.Client:
    options = types.HttpOptions(base_url=sb.gemini_base_url, api_version="v1beta")
    return genai.Client(api_key=key, http_options=options)


@pytest.fixture
async def google(sandbox: Sandbox) -> AsyncIterator[genai.Client]:
    c = client(sandbox)
    yield c
    await c.aio.aclose()


async def first_turn(c: genai.Client, model: str = PRO) -> list[types.Content]:
    """A one-turn chat's history: the user turn and the model's signed answer."""
    chat = c.aio.chats.create(model=model, config=CONFIG)
    await chat.send_message("a red fox")
    return list(chat.get_history())


async def next_turn(c: genai.Client, model: str, history: list[types.Content]) -> Any:
    turns: list[types.Content | types.ContentDict] = list(history)
    chat = c.aio.chats.create(model=model, config=CONFIG, history=turns)
    return await chat.send_message("now in blue")


def signed(history: list[types.Content]) -> bytes:
    signatures = [
        p.thought_signature for c in history for p in c.parts or [] if p.thought_signature
    ]
    assert len(signatures) == 1
    return signatures[0]


async def test_its_own_signature_comes_back_fine(google: genai.Client, sandbox: Sandbox) -> None:
    history = await first_turn(google)
    assert signed(history) == base64.b64decode(sandbox.signature(PRO, 1, API_KEY))
    answer = await next_turn(google, PRO, history)
    assert answer.parts and any(p.inline_data for p in answer.parts)
    assert [c.outcome for c in sandbox.calls] == ["ok", "ok"]
    sent = sandbox.calls[1].body["contents"][1]["parts"][-1]
    assert "thoughtSignature" in sent  # the check had something to check


async def test_another_models_signature_is_corrupted(
    google: genai.Client, sandbox: Sandbox
) -> None:
    history = await first_turn(google, PRO)
    with pytest.raises(errors.ClientError) as caught:
        await next_turn(google, FLASH, history)
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert caught.value.message == "Corrupted thought signature."
    assert caught.value.details == CORRUPTED
    assert [(c.outcome, c.status) for c in sandbox.calls] == [("ok", 200), ("invalid", 400)]


async def test_another_keys_signature_is_corrupted(sandbox: Sandbox) -> None:
    mine, theirs = client(sandbox, "key-one"), client(sandbox, "key-two")
    try:
        history = await first_turn(mine)
        with pytest.raises(errors.ClientError) as caught:
            await next_turn(theirs, PRO, history)
        assert caught.value.details == CORRUPTED
        await next_turn(mine, PRO, history)  # the key it was made for: fine
    finally:
        await mine.aio.aclose()
        await theirs.aio.aclose()
    assert [c.outcome for c in sandbox.calls] == ["ok", "invalid", "ok"]


async def test_another_sandboxs_signature_is_corrupted() -> None:
    async with Sandbox(seed=1) as one, Sandbox(seed=2) as two:
        c1, c2 = client(one), client(two)
        try:
            history = await first_turn(c1)
            with pytest.raises(errors.ClientError) as caught:
                await next_turn(c2, PRO, history)
        finally:
            await c1.aio.aclose()
            await c2.aio.aclose()
    assert caught.value.details == CORRUPTED
    assert two.calls[0].outcome == "invalid"


async def test_same_seed_model_key_and_counter_give_the_same_signature() -> None:
    async with Sandbox(seed=7) as a, Sandbox(seed=7) as b:
        ca, cb = client(a), client(b)
        try:
            history_a, history_b = await first_turn(ca), await first_turn(cb)
            await next_turn(cb, PRO, history_a)  # b accepts a's signature: same seed
        finally:
            await ca.aio.aclose()
            await cb.aio.aclose()
    assert signed(history_a) == signed(history_b)
    assert a.signature(PRO, 1) == a.signature(PRO, 1, API_KEY)  # the key it was issued to
    assert len({a.signature(PRO, 1, "k"), a.signature(PRO, 2, "k")}) == 2
    assert a.signature(PRO, 1, "k") != a.signature(PRO, 1, "other")
    assert a.signature(PRO, 1, "k") != a.signature(FLASH, 1, "k")
    text = a.signature(PRO, 1, "k")
    assert text != base64.urlsafe_b64encode(base64.b64decode(text)).decode()  # both alphabets


async def test_history_without_signatures_is_accepted(
    google: genai.Client, sandbox: Sandbox
) -> None:
    history = await first_turn(google)
    for content in history:
        for part in content.parts or []:
            part.thought_signature = None
    await next_turn(google, PRO, history)
    assert [c.outcome for c in sandbox.calls] == ["ok", "ok"]


def _wire_body(signature_field: str, value: str) -> dict[str, Any]:
    return {
        "contents": [
            {"role": "user", "parts": [{"text": "a fox"}]},
            {"role": "model", "parts": [{"text": "here", signature_field: value}]},
            {"role": "user", "parts": [{"text": "bluer"}]},
        ]
    }


@pytest.mark.parametrize("field", ["thoughtSignature", "thought_signature"])
async def test_both_spellings_are_checked_on_the_wire(field: str, sandbox: Sandbox) -> None:
    own = sandbox.signature(PRO, 5, API_KEY)
    url = base64.urlsafe_b64encode(base64.b64decode(own)).decode()  # what the SDK sends
    address = f"{sandbox.gemini_base_url}/v1beta/models/{PRO}:generateContent"
    async with aiohttp.ClientSession(headers={"x-goog-api-key": API_KEY}) as session:
        for value in (own, url):
            async with session.post(address, json=_wire_body(field, value)) as resp:
                assert resp.status == 200
        forged = base64.b64encode(b"sbx1" + bytes(29)).decode()
        for value in (forged, base64.b64encode(b"c2ln").decode(), "c2ln"):
            async with session.post(address, json=_wire_body(field, value)) as resp:
                assert resp.status == 400 and await resp.json() == CORRUPTED
        async with session.post(address, json=_wire_body(field, "%%not base64%%")) as resp:
            assert resp.status == 400
            message = (await resp.json())["error"]["message"]
            assert "contents[1].parts[0].thought_signature" in message and "Base64" in message
    assert [c.outcome for c in sandbox.calls] == ["ok"] * 2 + ["invalid"] * 4


async def test_a_bad_key_is_refused_before_the_signature_is_looked_at() -> None:
    async with Sandbox(api_keys=[API_KEY]) as sb:
        body = _wire_body("thoughtSignature", "c2ln")
        address = f"{sb.gemini_base_url}/v1beta/models/{PRO}:generateContent"
        async with (
            aiohttp.ClientSession(headers={"x-goog-api-key": "wrong"}) as session,
            session.post(address, json=copy.deepcopy(body)) as resp,
        ):
            assert resp.status == 400
            assert (await resp.json())["error"]["message"].startswith("API key not valid")
    assert sb.calls[0].outcome == "unauthorized"
