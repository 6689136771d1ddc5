"""build_provider, aclose, and the edge rows of the error mapping that the sandbox cannot stage."""

from __future__ import annotations

import gc
import logging
import warnings

import httpx2
import openai
import pytest
from google.genai import errors as genai_errors

from adapters.providers import GeminiProvider, OpenAIImagesProvider, build_provider
from adapters.providers.gemini import map_api_error
from adapters.providers.gemini import map_error as gemini_map_error
from adapters.providers.openai_images import map_error
from adapters.sandbox import Sandbox
from bot.catalog import Catalog, ChannelSpec
from bot.domain import GenerationRequest
from bot.errors import (
    ConfigError,
    InvalidRequest,
    ProviderError,
    ProviderMisconfigured,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    ProviderTimeout,
    SafetyBlocked,
)
from bot.ports import ImageProvider
from tests.adapters.helpers import API_KEY


async def test_build_provider_picks_by_kind_and_aclose_leaves_nothing_open(
    catalog: Catalog, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    google = build_provider(
        catalog.channels["google"], api_key=API_KEY, base_url=sandbox.gemini_base_url
    )
    oai = build_provider(
        catalog.channels["openai"], api_key=API_KEY, base_url=sandbox.openai_base_url
    )
    assert isinstance(google, GeminiProvider) and isinstance(oai, OpenAIImagesProvider)
    assert isinstance(google, ImageProvider) and isinstance(oai, ImageProvider)
    assert (google.channel, oai.channel) == ("google", "openai")
    await google.generate(
        model=catalog.models["gemini-nano-banana-2.1"], request=GenerationRequest("x")
    )
    await oai.generate(
        model=catalog.models["gpt-image-2.6-sunburst"], request=GenerationRequest("x")
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await google.aclose()
        await oai.aclose()
        del google, oai
        gc.collect()
    unclosed = [str(w.message) for w in caught if "nclosed" in str(w.message)]
    assert unclosed == []
    assert "nclosed" not in caplog.text


def test_channel_base_url_is_the_fallback(sandbox: Sandbox) -> None:
    relay = ChannelSpec(name="relay", kind="openai", base_url="http://127.0.0.1:9/v1")
    provider = build_provider(relay, api_key=API_KEY, base_url=None)
    assert isinstance(provider, OpenAIImagesProvider)
    assert str(provider._client.base_url) == "http://127.0.0.1:9/v1/"


def test_unknown_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        build_provider(ChannelSpec(name="x", kind="midjourney"), api_key=API_KEY, base_url=None)


def test_no_key_is_a_config_error_even_with_one_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "from-the-shell")
    monkeypatch.setenv("OPENAI_API_KEY", "from-the-shell")
    with pytest.raises(ConfigError):
        GeminiProvider("google", api_key="")
    with pytest.raises(ConfigError):
        OpenAIImagesProvider("openai", api_key="")


def test_gemini_sdk_timeouts_become_provider_timeouts() -> None:
    request = httpx2.Request("POST", "http://127.0.0.1/v1beta/models/m:generateContent")
    mapped = gemini_map_error(httpx2.ReadTimeout("read timed out", request=request), "m")
    assert isinstance(mapped, ProviderTimeout)


def _google(
    code: int, status: str, message: str, details: list[object] | None = None
) -> genai_errors.APIError:
    body: dict[str, object] = {"code": code, "status": status, "message": message}
    if details:
        body["details"] = details
    cls = genai_errors.ServerError if code >= 500 else genai_errors.ClientError
    return cls(code, {"error": body})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_google(500, "INTERNAL", "The model is overloaded."), ProviderOverloaded),
        (_google(504, "DEADLINE_EXCEEDED", "Deadline expired"), ProviderServerError),
        (
            _google(400, "FAILED_PRECONDITION", "User location is not supported"),
            ProviderMisconfigured,
        ),
        (
            _google(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
            ProviderMisconfigured,
        ),
        (_google(400, "INVALID_ARGUMENT", "Unsupported aspect ratio"), InvalidRequest),
        (_google(413, "", "Request payload size exceeds the limit"), InvalidRequest),
    ],
)
def test_gemini_mapping_edges(error: genai_errors.APIError, expected: type[ProviderError]) -> None:
    assert type(map_api_error(error, "m")) is expected


def test_gemini_retry_delay_falls_back_to_the_message() -> None:
    error = _google(429, "RESOURCE_EXHAUSTED", "Quota exceeded. Please retry in 57.24s.")
    mapped = map_api_error(error, "m")
    assert isinstance(mapped, ProviderRateLimited) and mapped.retry_after == pytest.approx(57.24)


def _openai(status: int, code: str | None, message: str = "x") -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://relay.invalid/v1/images/generations")
    body = {"message": message, "type": "error", "param": None, "code": code}
    response = httpx2.Response(status, json={"error": body}, request=request)
    return openai.APIStatusError(f"Error code: {status}", response=response, body=body)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_openai(502, "upstream_error", "model overloaded, try later"), ProviderOverloaded),
        (_openai(502, "upstream_error", "bad gateway"), ProviderServerError),
        (_openai(504, None), ProviderServerError),
        (_openai(429, "insufficient_quota"), ProviderMisconfigured),
        (_openai(400, "billing_hard_limit_reached"), ProviderMisconfigured),  # fail over
        (_openai(400, "content_policy_violation"), SafetyBlocked),
        (_openai(400, "invalid_value"), InvalidRequest),
    ],
)
def test_openai_mapping_edges(error: openai.APIStatusError, expected: type[ProviderError]) -> None:
    assert type(map_error(error, "m")) is expected


def test_unexpected_exceptions_still_map_into_the_tree() -> None:
    assert isinstance(map_error(RuntimeError("boom"), "m"), ProviderServerError)


async def test_logs_at_debug_never_show_the_key(
    catalog: Catalog, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for channel, base in (("google", sandbox.gemini_base_url), ("openai", sandbox.openai_base_url)):
        provider = build_provider(catalog.channels[channel], api_key=API_KEY, base_url=base)
        model = "gemini-3-pro-image" if channel == "google" else "gpt-image-2.6-sunburst"
        try:
            await provider.generate(model=catalog.models[model], request=GenerationRequest("x"))
        finally:
            await provider.aclose()
    assert caplog.records  # the SDKs did log something at DEBUG
    assert API_KEY not in caplog.text


async def test_channel_api_version_reaches_the_wire(catalog: Catalog, sandbox: Sandbox) -> None:
    pinned = ChannelSpec(name="relay", kind="gemini", api_version="v1")
    for channel, prefix in ((catalog.channels["google"], "/v1beta/"), (pinned, "/v1/")):
        provider = build_provider(channel, api_key=API_KEY, base_url=sandbox.gemini_base_url)
        try:
            await provider.generate(
                model=catalog.models["gemini-nano-banana-2.1"], request=GenerationRequest("x")
            )
        finally:
            await provider.aclose()
        assert sandbox.calls[-1].path.startswith(prefix)
