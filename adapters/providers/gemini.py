"""Gemini image models through google-genai (``client.aio.models.generate_content``).

One call per ``generate``: SDK retries are off (``HttpRetryOptions(attempts=1)``
also stops the aiohttp transport's hidden one-shot reconnect), and every
vendor outcome is mapped onto ``bot.errors`` with ``raise … from exc``.

History is the SDK's own JSON (``Content.model_dump(mode="json",
exclude_none=True)``), so ``request.history + image.turns`` sent back is
byte-identical to what ``client.aio.chats`` would send, thought signatures
included.

Every image is decoded (``ImageInspector``) before it is returned: an oversize,
truncated or undecodable one is an ``EmptyResult``. google-genai would read any answer
whole; an aiohttp middleware (``_capped``, passed per request through
``async_client_args``) reads no more than ``answer_cap`` of it: one whose
``Content-Length`` is over is closed unread, one sent chunked (no length) is cut off
once past the cap. Both are an ``EmptyResult``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from typing import Any

import aiohttp
import pydantic
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from adapters.imaging import PillowInspector
from adapters.providers._capped import capped_client_args
from adapters.providers._common import (
    answer_cap,
    checked,
    parse_duration,
    retry_in_message,
    safe_text,
)
from bot.catalog import ModelSpec
from bot.domain import GenerationRequest, OfferedModel, ProviderImage
from bot.errors import (
    ConfigError,
    EmptyResult,
    HistoryRejected,
    InvalidRequest,
    ModelNotOffered,
    ProviderError,
    ProviderMisconfigured,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    ProviderTimeout,
    SafetyBlocked,
)
from bot.ports import ImageInspector
from bot.validate import sniff_image


def _http_exceptions(attribute: str) -> tuple[type[BaseException], ...]:
    """``attribute`` of httpx2 and httpx, where installed (google-genai may ride on either)."""
    found = []
    for package in ("httpx2", "httpx"):
        try:
            found.append(getattr(importlib.import_module(package), attribute))
        except ImportError:
            continue
    return tuple(found)


_HTTP_TIMEOUTS = _http_exceptions("TimeoutException")
_HTTP_ERRORS = _http_exceptions("TransportError")
DEFAULT_API_VERSION = "v1beta"  # image generation is documented (and served) on v1beta
SAFETY_FINISH = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)


class GeminiProvider:
    """A Gemini channel: Google AI Studio, a Gemini-compatible relay, or Vertex AI."""

    def __init__(
        self,
        channel: str,
        *,
        api_key: str,
        base_url: str | None = None,
        api_version: str | None = None,
        vertex: bool = False,
        project: str | None = None,
        location: str | None = None,
        images: ImageInspector | None = None,
    ) -> None:
        if not api_key and not vertex:  # never let the SDK pick a key from the environment
            raise ConfigError(f"channel {channel!r}: no API key")
        self._channel = channel
        self._vertex = vertex
        self._secrets = (api_key,) if api_key else ()
        self._images = images or PillowInspector()
        # Vertex without a key signs requests through google-auth's session, which takes
        # no aiohttp middlewares: there only the decoded image is checked.
        capped = api_key or not vertex
        client_args = capped_client_args(answer_cap(self._images.limits))
        options = types.HttpOptions(
            base_url=base_url,
            api_version=api_version or (None if vertex else DEFAULT_API_VERSION),
            retry_options=types.HttpRetryOptions(attempts=1),
            async_client_args=client_args if capped else None,
        )
        try:
            if vertex:
                self._client = genai.Client(
                    vertexai=True,
                    api_key=api_key or None,
                    project=project,
                    location=location,
                    http_options=options,
                )
            else:
                self._client = genai.Client(api_key=api_key, http_options=options)
        except ValueError as exc:
            raise ConfigError(f"channel {channel!r}: {safe_text(exc, self._secrets)}") from exc

    @property
    def channel(self) -> str:
        return self._channel

    async def generate(self, *, model: ModelSpec, request: GenerationRequest) -> ProviderImage:
        contents, user_turn = build_contents(request, model.id)
        config = build_config(model, request)
        try:
            response = await self._client.aio.models.generate_content(
                model=model.id, contents=contents, config=config
            )
        except TimeoutError:
            raise  # the router's (or aiohttp's bare) timeout: not ours to rename
        except Exception as exc:
            raise map_error(exc, model.id, self._secrets) from exc
        return await checked(read_response(response, user_turn, model.id), self._images, model.id)

    async def list_models(self) -> list[OfferedModel] | None:
        """What the key can call (``models.list``, every page); spends no image.
        None where there is no list to read: Vertex (it lists tuned models, not
        Google's) or a relay that answers 404 / 405 / 501."""
        if self._vertex:
            return None
        config = types.ListModelsConfig(page_size=1000, query_base=True)
        try:
            pager = await self._client.aio.models.list(config=config)
            names = [m.name async for m in pager if m.name]
        except genai_errors.APIError as exc:
            if exc.code in (404, 405, 501):
                return None
            raise map_api_error(exc, "models.list", self._secrets) from exc
        return [OfferedModel(name.removeprefix("models/")) for name in names]

    async def aclose(self) -> None:
        self._client.close()  # the sync httpx client the SDK always builds
        await self._client.aio.aclose()


def map_error(exc: Exception, model: str, secrets: Sequence[str] = ()) -> ProviderError:
    """Anything google-genai raised (bar TimeoutError) → our tree."""
    if isinstance(exc, genai_errors.APIError):
        return map_api_error(exc, model, secrets)
    if isinstance(exc, EmptyResult):  # ``_capped``: raised before the model was known
        return EmptyResult(f"{model}{exc}", model=model, status=exc.status)
    name, detail = type(exc).__name__, safe_text(exc, secrets)
    if isinstance(exc, _HTTP_TIMEOUTS):
        return ProviderTimeout(f"{model}: no answer in time ({name})", model=model)
    if isinstance(exc, pydantic.ValidationError):
        return EmptyResult(f"{model}: unreadable answer (bad image data?)", model=model, status=200)
    if isinstance(exc, (aiohttp.ClientError, ConnectionError, *_HTTP_ERRORS)):
        return ProviderServerError(f"{model}: connection failed: {name}: {detail}", model=model)
    if isinstance(exc, (genai_errors.UnknownApiResponseError, json.JSONDecodeError)):
        # an error status raises APIError first: this was a 2xx answer with no image in it
        return EmptyResult(f"{model}: answer was not JSON", model=model, status=200)
    return ProviderServerError(f"{model}: unexpected {name}: {detail}", model=model)


def build_contents(
    request: GenerationRequest, model: str = ""
) -> tuple[list[types.Content], types.Content]:
    """The request's ``contents``: stored history, then the new user turn."""
    try:
        history = [types.Content.model_validate(turn) for turn in request.history]
    except pydantic.ValidationError as exc:
        raise InvalidRequest(f"{model}: stored history is not Gemini content", model=model) from exc
    parts = [types.Part.from_text(text=request.prompt)]
    parts += [types.Part.from_bytes(data=r.data, mime_type=r.mime_type) for r in request.references]
    user = types.Content(role="user", parts=parts)
    return [*history, user], user


def build_config(model: ModelSpec, request: GenerationRequest) -> types.GenerateContentConfig:
    """Text+image output; the aspect ratio only if asked (the model's nearest one);
    the size only for models that offer more than one."""
    ratio = model.fit_aspect(request.aspect_ratio)
    size = model.fit_size(request.size) if len(model.sizes) > 1 else None
    image_config = types.ImageConfig(aspect_ratio=ratio, image_size=size) if ratio or size else None
    return types.GenerateContentConfig(
        response_modalities=["TEXT", "IMAGE"], image_config=image_config
    )


def read_response(
    response: types.GenerateContentResponse, user_turn: types.Content, model: str
) -> ProviderImage:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        reason = _name(feedback.block_reason)
        raise SafetyBlocked(
            f"{model}: prompt blocked ({reason})", model=model, status=200, reason=reason
        )
    if not response.candidates:
        raise EmptyResult(f"{model}: answer had no candidates", model=model, status=200)
    candidate = response.candidates[0]
    parts: Sequence[types.Part] = (candidate.content.parts if candidate.content else None) or []
    answer = [p for p in parts if not p.thought]
    images = [p.inline_data for p in answer if p.inline_data is not None and p.inline_data.data]
    finish = _name(candidate.finish_reason) if candidate.finish_reason is not None else "none"
    if not images:
        if finish in SAFETY_FINISH:
            raise SafetyBlocked(
                f"{model}: image withheld ({finish})", model=model, status=200, reason=finish
            )
        raise EmptyResult(
            f"{model}: no image in the answer (finish {finish})", model=model, status=200
        )
    data = images[-1].data or b""
    mime = sniff_image(data)
    if mime is None:
        raise EmptyResult(f"{model}: image data is not an image", model=model, status=200)
    text = "\n".join(p.text for p in answer if p.text) or None
    assert candidate.content is not None
    turns = (_dump(user_turn), _dump(candidate.content))
    return ProviderImage(data=data, mime_type=mime, text=text, turns=turns)


def map_api_error(
    exc: genai_errors.APIError, model: str, secrets: Sequence[str] = ()
) -> ProviderError:
    """A Gemini HTTP error → our tree (see bot/errors.py and DESIGN.md's table)."""
    code, status = exc.code, str(exc.status or "")
    words = (exc.message or "").lower()
    msg = f"{model}: HTTP {code} {status}: {safe_text(exc.message or '', secrets)}"
    if code == 429 or status == "RESOURCE_EXHAUSTED":
        retry_after = _retry_delay(exc.details)
        if retry_after is None:
            retry_after = retry_in_message(exc.message)
        return ProviderRateLimited(msg, model=model, status=code, retry_after=retry_after)
    if (
        code == 503
        or status == "UNAVAILABLE"
        or (code >= 500 and ("high demand" in words or "overloaded" in words))
    ):
        return ProviderOverloaded(msg, model=model, status=code)
    if code >= 500 or code in (408, 499):
        return ProviderServerError(msg, model=model, status=code)
    if code == 404 and ("not found" in words or "not supported" in words):
        return ModelNotOffered(msg, model=model, status=code)  # unknown or shut down
    if code in (401, 403, 404) or status in (
        "FAILED_PRECONDITION",
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
    ):
        return ProviderMisconfigured(msg, model=model, status=code)
    if "API_KEY_INVALID" in _reasons(exc.details) or "api key not valid" in words:
        return ProviderMisconfigured(
            msg, model=model, status=code
        )  # Google answers a bad key with 400
    if "thought signature" in words or "thought_signature" in words:
        return HistoryRejected(msg, model=model, status=code)  # another model's signature
    return InvalidRequest(msg, model=model, status=code)


def _details(body: Any) -> list[Any]:
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if not isinstance(body, dict):
        return []
    inner = body.get("error", body)
    details = inner.get("details") if isinstance(inner, dict) else None
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def _retry_delay(body: Any) -> float | None:
    for detail in _details(body):
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            return parse_duration(detail.get("retryDelay"))
    return None


def _reasons(body: Any) -> set[str]:
    return {str(d.get("reason")) for d in _details(body) if "reason" in d}


def _name(value: object) -> str:
    return str(getattr(value, "value", value))


def _dump(content: types.Content) -> dict[str, Any]:
    return content.model_dump(mode="json", exclude_none=True)
