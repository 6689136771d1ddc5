"""The sandbox's served models: catalogue ids served, retired ones 404, the model
lists and shutdown dates — seen through the real SDKs (sizes: test_sandbox_sizes.py)."""

from __future__ import annotations

import datetime
import tomllib
from importlib import resources
from typing import Any

import aiohttp
import openai
import pytest
from google import genai
from google.genai import errors, types

from adapters.sandbox import Fault, Sandbox
from adapters.sandbox.__main__ import configure
from tests.adapters.helpers import API_KEY

CATALOGUE = tomllib.loads(resources.files("bot").joinpath("catalog.toml").read_text("utf-8"))
GEMINI_IDS = [m for m, t in CATALOGUE["models"].items() if t["api"] == "gemini"]
OPENAI_IDS = [m for m, t in CATALOGUE["models"].items() if t["api"] == "openai"]
PIXEL_IDS = [m for m in OPENAI_IDS if CATALOGUE["models"][m].get("pixel_sizes")]
RETIRED = list(CATALOGUE["retired"])
PRO, SUNBURST = "gemini-3-pro-image", "gpt-image-2.6-sunburst"


def gemini_404(model: str, version: str = "v1beta") -> dict[str, Any]:
    message = (
        f"models/{model} is not found for API version {version}, or is not supported for "
        "generateContent. Call ListModels to see the list of available models and their "
        "supported methods."
    )
    return {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}}


def openai_404(model: str) -> dict[str, Any]:
    message = f"The model `{model}` does not exist or you do not have access to it."
    return {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }


class Clock:
    def __init__(self, day: str) -> None:
        self.day = datetime.date.fromisoformat(day)

    def __call__(self) -> datetime.date:
        return self.day


async def draw(client: genai.Client, model: str) -> types.GenerateContentResponse:
    config = types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"])
    return await client.aio.models.generate_content(model=model, contents="a fox", config=config)


# -- who is served ---------------------------------------------------------------------


def test_the_catalogue_has_what_these_tests_assume() -> None:
    assert PRO in GEMINI_IDS and SUNBURST in PIXEL_IDS
    assert {"seedream-4.5", "flux-2-pro"} <= set(PIXEL_IDS)
    assert {"gemini-3-pro-image-preview", "gpt-image-1.5"} <= set(RETIRED)


async def test_every_catalogue_model_is_served_on_its_own_api(
    google: genai.Client, oai: openai.AsyncOpenAI, sandbox: Sandbox
) -> None:
    for model in GEMINI_IDS:
        answer = await draw(google, model)
        assert answer.parts is not None and any(p.inline_data for p in answer.parts), model
    for model in OPENAI_IDS:
        result = await oai.images.generate(model=model, prompt="a fox", response_format="b64_json")
        assert result.data and result.data[0].b64_json, model
    assert {c.outcome for c in sandbox.calls} == {"ok"}
    assert len(sandbox.calls) == len(GEMINI_IDS) + len(OPENAI_IDS)


@pytest.mark.parametrize("model", [m for m in RETIRED if m.startswith("gemini")] + ["nope-1"])
async def test_retired_or_unknown_gemini_ids_get_googles_404(
    model: str, google: genai.Client, sandbox: Sandbox
) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await draw(google, model)
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    assert caught.value.details == gemini_404(model)
    (call,) = sandbox.calls
    assert call.model == model and call.outcome == "not_found" and call.status == 404


@pytest.mark.parametrize("model", [m for m in RETIRED if not m.startswith("gemini")] + ["nope-1"])
async def test_retired_or_unknown_openai_ids_get_openais_404(
    model: str, oai: openai.AsyncOpenAI, sandbox: Sandbox
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await oai.images.generate(model=model, prompt="a fox")
    assert caught.value.status_code == 404 and caught.value.code == "model_not_found"
    assert caught.value.body == openai_404(model)["error"]
    assert sandbox.calls[0].outcome == "not_found"


async def test_a_model_is_served_only_on_its_own_api(
    google: genai.Client, oai: openai.AsyncOpenAI
) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await draw(google, SUNBURST)
    assert caught.value.code == 404
    with pytest.raises(openai.NotFoundError):
        await oai.images.generate(model=PRO, prompt="a fox")


async def test_a_bad_key_gets_the_auth_error_not_the_404() -> None:
    async with Sandbox(api_keys=["good"]) as sb, aiohttp.ClientSession() as session:
        address = f"{sb.gemini_base_url}/v1beta/models/gpt-image-1.5:generateContent"
        body = {"contents": [{"parts": [{"text": "x"}]}]}
        async with session.post(address, json=body, headers={"x-goog-api-key": "bad"}) as resp:
            assert resp.status == 400
            assert "API key not valid" in (await resp.json())["error"]["message"]
        address = f"{sb.openai_base_url}/images/generations"
        headers = {"Authorization": "Bearer bad"}
        async with session.post(
            address, json={"model": "nope", "prompt": "x"}, headers=headers
        ) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == "invalid_api_key"
    assert [c.outcome for c in sb.calls] == ["unauthorized", "unauthorized"]


async def test_offer_and_withdraw_take_effect_at_once(
    google: genai.Client, sandbox: Sandbox
) -> None:
    sandbox.offer("gemini-3-pro-image-preview", "gemini")  # an old id, served again
    assert (await draw(google, "gemini-3-pro-image-preview")).parts
    sandbox.withdraw(PRO)
    with pytest.raises(errors.ClientError) as caught:
        await draw(google, PRO)
    assert caught.value.code == 404
    names = [m.name async for m in await google.aio.models.list()]
    assert "models/gemini-3-pro-image-preview" in names and f"models/{PRO}" not in names


async def test_models_argument_replaces_the_catalogue() -> None:
    async with Sandbox(models={"my-banana": "gemini", "my-relay": "openai"}) as sb:
        assert sb.serves("my-banana") and sb.serves("my-relay") and not sb.serves(PRO)
        assert not sb.serves("gemini-3-pro-image-preview")


async def test_the_not_found_fault_answers_the_same_bodies(sandbox: Sandbox) -> None:
    sandbox.script(PRO, [Fault("not_found")])
    sandbox.script(SUNBURST, [Fault("not_found")])
    async with aiohttp.ClientSession() as session:
        address = f"{sandbox.gemini_base_url}/v1/models/{PRO}:generateContent"
        body = {"contents": [{"parts": [{"text": "x"}]}]}
        async with session.post(address, json=body, headers={"x-goog-api-key": "k"}) as resp:
            assert resp.status == 404 and await resp.json() == gemini_404(PRO, "v1")
        address = f"{sandbox.openai_base_url}/images/generations"
        bearer = {"Authorization": "Bearer k"}
        async with session.post(
            address, json={"model": SUNBURST, "prompt": "x"}, headers=bearer
        ) as resp:
            assert resp.status == 404 and await resp.json() == openai_404(SUNBURST)
    assert [c.outcome for c in sandbox.calls] == ["not_found", "not_found"]
    assert [c.fault for c in sandbox.calls] == [Fault("not_found")] * 2


# -- model lists -------------------------------------------------------------------------


async def test_gemini_list_pages_through_the_sdk_pager(
    google: genai.Client, sandbox: Sandbox
) -> None:
    pager = await google.aio.models.list(config={"page_size": 2})
    models = [m async for m in pager]
    names = [m.name for m in models]
    assert len(names) == len(set(names))
    assert {f"models/{m}" for m in GEMINI_IDS} <= set(names)
    assert "models/gemini-3-flash" in names  # a text model: clients must filter
    assert not {f"models/{m}" for m in RETIRED} & set(names)
    pages = [c.path for c in sandbox.lookups]
    assert len(pages) == -(-len(names) // 2)
    assert pages[0] == "/v1beta/models?pageSize=2"
    assert all("pageToken=" in p and "pageSize=2" in p for p in pages[1:])
    extras = {"models/gemini-3-flash", "models/gemini-3-pro", "models/gemini-embedding-001"}
    assert set(names) == {f"models/{m}" for m in GEMINI_IDS} | extras
    embed = next(m for m in models if m.name == "models/gemini-embedding-001")
    assert embed.supported_actions and "generateContent" not in embed.supported_actions
    pro = next(m for m in models if m.name == f"models/{PRO}")
    assert pro.display_name == CATALOGUE["models"][PRO]["display"] and pro.version == "001"
    assert pro.input_token_limit and pro.output_token_limit


async def test_both_vendors_share_v1_models_and_each_gets_its_own_list(
    oai: openai.AsyncOpenAI, sandbox: Sandbox
) -> None:
    options = types.HttpOptions(base_url=sandbox.gemini_base_url, api_version="v1")
    google_v1 = genai.Client(api_key=API_KEY, http_options=options)
    try:
        names = [m.name async for m in await google_v1.aio.models.list()]
        one = await google_v1.aio.models.get(model=PRO)
    finally:
        await google_v1.aio.aclose()
    ids = [m.id async for m in await oai.models.list()]
    assert f"models/{PRO}" in names and one.name == f"models/{PRO}"
    assert SUNBURST in ids and PRO not in ids
    assert [(c.api, c.path.split("?")[0]) for c in sandbox.lookups] == [
        ("gemini", "/v1/models"),
        ("gemini", f"/v1/models/{PRO}"),
        ("openai", "/v1/models"),
    ]


async def test_gemini_get_model_and_its_404(google: genai.Client) -> None:
    model = await google.aio.models.get(model=PRO)
    assert model.name == f"models/{PRO}"
    assert model.supported_actions == ["generateContent", "countTokens"]
    with pytest.raises(errors.ClientError) as caught:
        await google.aio.models.get(model="gemini-2.5-flash-image")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"


async def test_gemini_list_on_the_wire(sandbox: Sandbox) -> None:
    for i in range(1100):
        sandbox.offer(f"bulk-{i:04}", "gemini")
    async with aiohttp.ClientSession(base_url=sandbox.gemini_base_url) as session:
        async with session.get("/v1beta/models", params={"key": API_KEY}) as resp:
            first = await resp.json()
        assert resp.status == 200 and len(first["models"]) == 50  # the default page
        assert first["models"][0] == {
            "name": "models/gemini-3-flash",
            "baseModelId": "gemini-3-flash",
            "version": "001",
            "displayName": "Gemini 3 Flash",
            "description": first["models"][0]["description"],
            "inputTokenLimit": 1_048_576,
            "outputTokenLimit": 65_536,
            "supportedGenerationMethods": first["models"][0]["supportedGenerationMethods"],
        }
        params = {"key": API_KEY, "pageSize": "5000"}
        async with session.get("/v1/models", params=params) as resp:
            big = await resp.json()
        assert len(big["models"]) == 1000 and "nextPageToken" in big  # capped
        params["pageToken"] = big["nextPageToken"]
        async with session.get("/v1/models", params=params) as resp:
            last = await resp.json()
        total = len(GEMINI_IDS) + 3 + 1100
        assert len(last["models"]) == total - 1000 and "nextPageToken" not in last
        for bad in ({"pageToken": "bogus"}, {"pageSize": "-1"}, {"pageSize": "two"}):
            async with session.get("/v1beta/models", params={"key": API_KEY, **bad}) as resp:
                assert resp.status == 400
                assert (await resp.json())["error"]["status"] == "INVALID_ARGUMENT"


async def test_gemini_list_checks_the_key_like_generate_content() -> None:
    async with (
        Sandbox(api_keys=["good"]) as sb,
        aiohttp.ClientSession(base_url=sb.gemini_base_url) as session,
    ):
        async with session.get("/v1beta/models") as resp:
            assert resp.status == 401
        async with session.get("/v1beta/models", headers={"x-goog-api-key": "bad"}) as resp:
            assert resp.status == 400
            details = (await resp.json())["error"]["details"]
            assert details[0]["reason"] == "API_KEY_INVALID"
        async with session.get(f"/v1beta/models/{PRO}", params={"key": "good"}) as resp:
            assert resp.status == 200
    assert [c.outcome for c in sb.lookups] == ["unauthorized", "unauthorized", "ok"]
    assert sb.calls == []  # lists are not generation calls


async def test_openai_list_and_retrieve(oai: openai.AsyncOpenAI, sandbox: Sandbox) -> None:
    listed = [m async for m in await oai.models.list()]
    ids = [m.id for m in listed]
    assert set(OPENAI_IDS) <= set(ids) and not set(RETIRED) & set(ids)
    assert "gpt-5" in ids  # not an image model: clients must filter
    assert all(m.object == "model" and isinstance(m.created, int) for m in listed)
    assert all(m.shutdown_date is None for m in listed)
    owners = {m.id: m.owned_by for m in listed}
    assert owners[SUNBURST] == "openai" and owners["seedream-4.5"] == "system"
    one = await oai.models.retrieve(SUNBURST)
    assert one.id == SUNBURST and one.shutdown_date is None
    with pytest.raises(openai.NotFoundError) as caught:
        await oai.models.retrieve("gpt-image-1.5")
    assert caught.value.code == "model_not_found"
    assert [c.outcome for c in sandbox.lookups] == ["ok", "ok", "not_found"]


async def test_openai_list_needs_the_bearer_key() -> None:
    async with Sandbox(api_keys=["good"]) as sb:
        client = openai.AsyncOpenAI(base_url=sb.openai_base_url, api_key="bad", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.models.list()
        await client.close()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{sb.openai_base_url}/models") as resp,
        ):
            body = await resp.json()
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
    assert resp.status == 401 and "Missing bearer" in body["error"]["message"]


async def test_an_announced_shutdown_is_listed_then_takes_effect() -> None:
    clock = Clock("2026-12-07")
    async with Sandbox(today=clock) as sb:
        sb.set_shutdown("gpt-image-2", "2027-01-15")
        client = openai.AsyncOpenAI(base_url=sb.openai_base_url, api_key="k", max_retries=0)
        try:
            dates = {m.id: m.shutdown_date async for m in await client.models.list()}
            assert dates["gpt-image-2"] == "2027-01-15" and dates[SUNBURST] is None
            await client.images.generate(model="gpt-image-2", prompt="x")  # still served
            clock.day = datetime.date(2027, 1, 15)
            assert "gpt-image-2" not in {m.id async for m in await client.models.list()}
            with pytest.raises(openai.NotFoundError):
                await client.images.generate(model="gpt-image-2", prompt="x")
            sb.set_shutdown("gpt-image-2", None)  # cancelled: back again
            await client.images.generate(model="gpt-image-2", prompt="x")
        finally:
            await client.close()
    assert [c.outcome for c in sb.calls] == ["ok", "not_found", "ok"]
    with pytest.raises(KeyError):
        sb.set_shutdown("never-offered", "2027-01-01")


async def test_control_endpoint_changes_the_offer(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(base_url=sandbox.base_url) as session:
        for change in (
            {"model": "relay-x", "api": "openai", "offered": True, "shutdown_date": "2027-02-01"},
            {"model": PRO, "offered": False},
            {"model": SUNBURST, "shutdown_date": "2026-12-01"},  # already past
        ):
            async with session.post("/_sandbox/models", json=change) as resp:
                assert resp.status == 200, await resp.text()
        for bad in (
            {"model": "x", "api": "bing", "offered": True},
            {"model": "x", "offered": True},
            {"model": "never-offered", "shutdown_date": "2027-01-01"},
            {"model": "x", "api": "openai", "shutdown_date": "soon"},
        ):
            async with session.post("/_sandbox/models", json=bad) as resp:
                assert resp.status == 400
        async with session.get("/_sandbox/models") as resp:
            state = {m["model"]: m for m in (await resp.json())["models"]}
    assert state["relay-x"]["shutdown_date"] == "2027-02-01" and state["relay-x"]["live"]
    assert PRO not in state and not state[SUNBURST]["live"]
    assert sandbox.serves("relay-x") and not sandbox.serves(PRO) and not sandbox.serves(SUNBURST)


async def test_a_standalone_script_can_offer_withdraw_and_date_models() -> None:
    async with Sandbox() as sb:
        configure(
            sb,
            {
                "models": {
                    "gemini-3-pro-image-preview": {"api": "gemini", "latency": 0.1},
                    PRO: {"offered": False},
                    "gpt-image-2": {"shutdown_date": "2000-01-01"},
                }
            },
        )
        assert sb.serves("gemini-3-pro-image-preview") and not sb.serves(PRO)
        assert not sb.serves("gpt-image-2")
        assert sb.behaviour.base_latency("gemini-3-pro-image-preview") == 0.1


async def test_non_image_models_refuse_image_requests(
    google: genai.Client, oai: openai.AsyncOpenAI
) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await draw(google, "gemini-3-flash")
    assert caught.value.code == 400 and "modality" in (caught.value.message or "")
    text = await google.aio.models.generate_content(model="gemini-3-flash", contents="hi")
    assert text.text and not any(p.inline_data for p in text.parts or [])
    with pytest.raises(errors.ClientError) as caught:
        await draw(google, "gemini-embedding-001")
    assert caught.value.code == 404
    with pytest.raises(openai.BadRequestError) as bad:
        await oai.images.generate(model="gpt-5", prompt="x")
    assert bad.value.code == "invalid_value" and bad.value.param == "model"
