"""Every row of the error table, for both providers, through the real SDKs and the sandbox.

Each case also checks what the router relies on: exactly one HTTP call (SDK
retries are off), the model and status on the error, the SDK error kept as
``__cause__``, and the API key in neither the error text nor any log line.
"""

from __future__ import annotations

import logging

import pytest

from adapters.providers import GeminiProvider, OpenAIImagesProvider
from adapters.sandbox import Fault, Sandbox
from bot.catalog import ModelSpec
from bot.domain import GenerationRequest, Outcome
from bot.errors import (
    EmptyResult,
    InvalidRequest,
    ModelNotOffered,
    ProviderError,
    ProviderMisconfigured,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    SafetyBlocked,
)
from tests.adapters.helpers import API_KEY

REQUEST = GenerationRequest(prompt="a lighthouse at dusk", aspect_ratio="16:9")

# kind -> (error, HTTP status on the error, SafetyBlocked.reason)
GEMINI_TABLE: dict[str, tuple[type[ProviderError], int | None, str]] = {
    "overloaded": (ProviderOverloaded, 503, ""),
    "overloaded_alt": (ProviderOverloaded, 503, ""),
    "rate_limited": (ProviderRateLimited, 429, ""),
    "server_error": (ProviderServerError, 500, ""),
    "bad_request": (InvalidRequest, 400, ""),
    "moderation_blocked": (SafetyBlocked, 200, "PROHIBITED_CONTENT"),
    "prompt_blocked": (SafetyBlocked, 200, "SAFETY"),
    "image_safety": (SafetyBlocked, 200, "IMAGE_SAFETY"),
    "text_only": (EmptyResult, 200, ""),
    "empty": (EmptyResult, 200, ""),
    "malformed_b64": (EmptyResult, 200, ""),
    "truncated_image": (EmptyResult, 200, ""),
    "bomb_image": (EmptyResult, 200, ""),
    "html": (EmptyResult, 200, ""),
    "unauthorized": (ProviderMisconfigured, 401, ""),
    "forbidden": (ProviderMisconfigured, 403, ""),
    "not_found": (ModelNotOffered, 404, ""),
    "disconnect": (ProviderServerError, None, ""),
}
OPENAI_TABLE: dict[str, tuple[type[ProviderError], int | None, str]] = {
    "overloaded": (ProviderOverloaded, 503, ""),
    "overloaded_alt": (ProviderOverloaded, 503, ""),
    "rate_limited": (ProviderRateLimited, 429, ""),
    "server_error": (ProviderServerError, 500, ""),
    "bad_request": (InvalidRequest, 400, ""),
    "moderation_blocked": (SafetyBlocked, 400, "moderation_blocked"),
    "image_safety": (SafetyBlocked, 400, "moderation_blocked"),
    "text_only": (EmptyResult, 200, ""),
    "empty": (EmptyResult, 200, ""),
    "malformed_b64": (EmptyResult, 200, ""),
    "truncated_image": (EmptyResult, 200, ""),
    "bomb_image": (EmptyResult, 200, ""),
    "html": (EmptyResult, 200, ""),
    "unauthorized": (ProviderMisconfigured, 401, ""),
    "forbidden": (ProviderMisconfigured, 403, ""),
    "not_found": (ModelNotOffered, 404, ""),
    "disconnect": (ProviderServerError, None, ""),
}


async def _fail(
    provider: GeminiProvider | OpenAIImagesProvider,
    model: ModelSpec,
    sandbox: Sandbox,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> ProviderError:
    sandbox.script(model.id, [Fault(kind, retry_after=1.5)])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderError) as info:
        await provider.generate(model=model, request=REQUEST)
    err = info.value
    assert len(sandbox.calls) == 1, "the SDK retried on its own"
    assert sandbox.calls[0].outcome == kind
    assert err.model == model.id
    assert err.__cause__ is not None or isinstance(err, (EmptyResult, SafetyBlocked))
    assert API_KEY not in str(err) and API_KEY not in repr(err.args)
    assert API_KEY not in caplog.text
    return err


@pytest.mark.parametrize("kind", sorted(GEMINI_TABLE))
async def test_gemini_error_table(
    kind: str,
    gemini: GeminiProvider,
    gemini_model: ModelSpec,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    expected, status, reason = GEMINI_TABLE[kind]
    err = await _fail(gemini, gemini_model, sandbox, kind, caplog)
    assert type(err) is expected
    assert err.status == status
    if isinstance(err, SafetyBlocked):
        assert err.reason == reason
        assert err.outcome is Outcome.SAFETY_BLOCKED
    if isinstance(err, ProviderRateLimited):
        assert err.retry_after == pytest.approx(1.5)  # RetryInfo.retryDelay "1.500s"


@pytest.mark.parametrize("kind", sorted(OPENAI_TABLE))
async def test_openai_error_table(
    kind: str,
    openai_images: OpenAIImagesProvider,
    openai_model: ModelSpec,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    expected, status, reason = OPENAI_TABLE[kind]
    err = await _fail(openai_images, openai_model, sandbox, kind, caplog)
    assert type(err) is expected
    assert err.status == status
    if isinstance(err, SafetyBlocked):
        assert err.reason == reason
    if isinstance(err, ProviderRateLimited):
        assert err.retry_after == pytest.approx(1.5)  # retry-after-ms: 1500


@pytest.mark.parametrize(("delay", "seconds"), [(27.0, 27.0), (0.25, 0.25)])
async def test_gemini_retry_delay_is_parsed(
    delay: float, seconds: float, gemini: GeminiProvider, gemini_model: ModelSpec, sandbox: Sandbox
) -> None:
    sandbox.script(gemini_model.id, [Fault("rate_limited", retry_after=delay)])
    with pytest.raises(ProviderRateLimited) as info:
        await gemini.generate(model=gemini_model, request=REQUEST)
    assert info.value.retry_after == pytest.approx(seconds)


async def test_gemini_wrong_key_is_misconfigured_not_invalid_request(
    gemini_model: ModelSpec,
) -> None:
    """Google answers a wrong key with 400 INVALID_ARGUMENT + reason API_KEY_INVALID."""
    async with Sandbox(api_keys={"the-right-key"}) as sb:
        provider = GeminiProvider("google", api_key=API_KEY, base_url=sb.gemini_base_url)
        try:
            with pytest.raises(ProviderMisconfigured) as info:
                await provider.generate(model=gemini_model, request=REQUEST)
        finally:
            await provider.aclose()
    assert info.value.status == 400
    assert API_KEY not in str(info.value)


async def test_openai_wrong_key_is_misconfigured(openai_model: ModelSpec) -> None:
    async with Sandbox(api_keys={"the-right-key"}) as sb:
        provider = OpenAIImagesProvider("openai", api_key=API_KEY, base_url=sb.openai_base_url)
        try:
            with pytest.raises(ProviderMisconfigured) as info:
                await provider.generate(model=openai_model, request=REQUEST)
        finally:
            await provider.aclose()
    assert info.value.status == 401


async def test_missing_gemini_key_is_rejected_like_google(sandbox: Sandbox) -> None:
    import aiohttp

    url = f"{sandbox.gemini_base_url}/v1beta/models/m:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "x"}]}]}
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["status"] == "UNAUTHENTICATED"
