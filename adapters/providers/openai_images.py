"""OpenAI Images (and OpenAI-compatible relays) through the ``openai`` SDK.

No references → ``images.generate``; references → ``images.edit`` (multipart,
repeated ``image[]`` parts, each a ``(name, bytes, mime)`` tuple so the server
sees the right content type). SDK retries are off (``max_retries=0``).

Relay models (ids not starting with ``gpt-image``) get the same request plus
``response_format="b64_json"``: DALL·E-style relays answer with a URL
otherwise, while GPT Image models always answer in base64 and are not sent
the parameter.

The answer is read as a stream, at most ``answer_cap`` bytes of it, and only a JSON
answer is parsed: a relay answering 200 with an HTML page (a login wall, a proxy's
error page) or with more than one image's worth of bytes is an ``EmptyResult`` (the
next model, at once). Every image is then decoded (``ImageInspector``) before it is
returned.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from datetime import date
from typing import Any, Literal

import openai
import pydantic

from adapters.imaging import PillowInspector
from adapters.providers._common import (
    answer_cap,
    checked,
    parse_retry_after,
    safe_text,
    too_large,
)
from bot.catalog import ModelSpec, aspect_value
from bot.domain import GenerationRequest, ImageInput, OfferedModel, ProviderImage
from bot.errors import (
    ConfigError,
    EmptyResult,
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

SIZES = {"1024x1024": 1.0, "1536x1024": 1.5, "1024x1536": 2 / 3}
SAFETY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


class OpenAIImagesProvider:
    """One OpenAI-compatible Images endpoint (OpenAI itself or a relay)."""

    def __init__(
        self,
        channel: str,
        *,
        api_key: str,
        base_url: str | None = None,
        images: ImageInspector | None = None,
    ) -> None:
        if not api_key:  # never let the SDK pick a key from the environment
            raise ConfigError(f"channel {channel!r}: no API key")
        self._channel = channel
        self._images = images or PillowInspector()
        self._cap = answer_cap(self._images.limits)
        self._secrets = (api_key,)
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0)

    @property
    def channel(self) -> str:
        return self._channel

    async def generate(self, *, model: ModelSpec, request: GenerationRequest) -> ProviderImage:
        aspect = request.aspect_ratio or model.aspect_ratios[0]
        size = (
            pixel_size(aspect, model.fit_size(request.size))
            if model.pixel_sizes
            else openai_size(aspect)
        )
        quality: Literal["medium", "high"] = (
            "medium" if model.fit_size(request.size) == "1K" else "high"
        )
        relay = not model.id.startswith("gpt-image")
        response_format: Literal["b64_json"] | openai.Omit = "b64_json" if relay else openai.omit
        streamed = self._client.images.with_streaming_response
        try:
            if request.references:
                answer = streamed.edit(
                    model=model.id,
                    prompt=request.prompt,
                    image=[_upload(i, ref) for i, ref in enumerate(request.references)],
                    size=size,
                    quality=quality,
                    response_format=response_format,
                )
            else:
                answer = streamed.generate(
                    model=model.id,
                    prompt=request.prompt,
                    size=size,
                    quality=quality,
                    response_format=response_format,
                )
            async with answer as response:
                body = await self._read(response, model.id)
        except (TimeoutError, ProviderError):
            raise
        except Exception as exc:
            raise map_error(exc, model.id, self._secrets) from exc
        return await checked(
            read_result(parse_body(body, model.id), model.id), self._images, model.id
        )

    async def _read(self, response: Any, model: str) -> tuple[str, bytes]:
        """The answer's content type and body, read no further than ``answer_cap``."""
        kind = response.headers.get("content-type", "")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._cap:
            raise too_large(model, int(length), self._cap)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self._cap:
                raise too_large(model, size, self._cap)
            chunks.append(chunk)
        return kind, b"".join(chunks)

    async def list_models(self) -> list[OfferedModel] | None:
        """``GET /models`` with each entry's ``shutdown_date`` (YYYY-MM-DD or null);
        spends no image. None for a relay without the endpoint (404 / 405 / 501)."""
        try:
            found = [m async for m in self._client.models.list()]
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 405, 501):
                return None
            raise map_error(exc, "models.list", self._secrets) from exc
        except Exception as exc:
            raise map_error(exc, "models.list", self._secrets) from exc
        return [OfferedModel(m.id, _date(getattr(m, "shutdown_date", None))) for m in found]

    async def aclose(self) -> None:
        await self._client.close()


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def openai_size(aspect_ratio: str) -> str:
    """The GPT Image size closest in shape to ``aspect_ratio``."""
    target = aspect_value(aspect_ratio) or 1.0
    return min(SIZES, key=lambda s: abs(math.log(SIZES[s] / target)))


# GPT Image 2.x (and relays with free sizes): any WxH with sides divisible by 16,
# ratio at most 3:1, edges up to 3840, 655,360–8,294,400 pixels (openai-python
# 3.3 ``images.generate`` docstring, checked 2026-12-07). A size is an area.
AREAS = {"1K": 1024 * 1024, "2K": 2048 * 2048, "4K": 3840 * 2160}
MAX_EDGE, MAX_RATIO = 3840, 3.0


def pixel_size(aspect_ratio: str, size: str) -> str:
    """``"WxH"`` for ``size``'s area in the shape of ``aspect_ratio`` (within the limits)."""
    ratio = min(max(aspect_value(aspect_ratio) or 1.0, 1 / MAX_RATIO), MAX_RATIO)
    area = AREAS.get(size, AREAS["1K"])
    width, height = math.sqrt(area * ratio), math.sqrt(area / ratio)
    shrink = min(1.0, MAX_EDGE / max(width, height))
    w, h = _by16(width * shrink), _by16(height * shrink)
    w, h = min(w, int(h * MAX_RATIO)), min(h, int(w * MAX_RATIO))  # rounding kept ≤ 3:1
    return f"{w}x{h}"


def _by16(edge: float) -> int:
    return max(16, int(edge) // 16 * 16)


def _upload(index: int, ref: ImageInput) -> tuple[str, bytes, str]:
    return (f"image-{index + 1}.{_EXTENSIONS.get(ref.mime_type, 'png')}", ref.data, ref.mime_type)


def parse_body(answer: tuple[str, bytes], model: str) -> openai.types.ImagesResponse:
    """A 200 answer → the SDK's ``ImagesResponse``; anything but the JSON of one (an HTML
    page, a truncated body) is EmptyResult: the model answered, but with no image."""
    kind, body = answer
    if "json" not in kind.lower():
        shown = kind.split(";")[0].strip() or "no content type"
        raise EmptyResult(f"{model}: answer was {shown}, not JSON", model=model, status=200)
    try:
        return openai.types.ImagesResponse.model_validate(json.loads(body))
    except (ValueError, pydantic.ValidationError) as exc:  # JSONDecodeError is a ValueError
        raise EmptyResult(
            f"{model}: answer was not an images JSON", model=model, status=200
        ) from exc


def read_result(result: openai.types.ImagesResponse, model: str) -> ProviderImage:
    item = result.data[0] if result.data else None
    if item is None or not item.b64_json:
        raise EmptyResult(f"{model}: answer carried no base64 image", model=model, status=200)
    try:
        data = base64.b64decode(item.b64_json, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EmptyResult(f"{model}: image data is not base64", model=model, status=200) from exc
    mime = sniff_image(data)
    if mime is None:
        raise EmptyResult(f"{model}: image data is not an image", model=model, status=200)
    return ProviderImage(data=data, mime_type=mime, text=item.revised_prompt or None)


BILLING_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})


def map_error(exc: Exception, model: str, secrets: tuple[str, ...] = ()) -> ProviderError:
    """An openai SDK exception → our tree (see bot/errors.py and DESIGN.md's table)."""
    detail = safe_text(getattr(exc, "message", exc), secrets)
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout(f"{model}: no answer in time", model=model)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderServerError(f"{model}: connection failed: {detail}", model=model)
    if not isinstance(exc, openai.APIStatusError):
        return ProviderServerError(
            f"{model}: unexpected {type(exc).__name__}: {detail}", model=model
        )
    status, code = exc.status_code, exc.code or ""
    if isinstance(exc.body, dict) and exc.body.get("message"):
        detail = safe_text(exc.body["message"], secrets)  # the vendor's words, not the SDK's dump
    msg = f"{model}: HTTP {status} {code or '-'}: {detail}"
    words = detail.lower()
    if code in BILLING_CODES:  # out of credit / spending limit (a 429 or a 400): waiting won't help
        return ProviderMisconfigured(msg, model=model, status=status)
    if status == 429:
        return ProviderRateLimited(msg, model=model, status=status, retry_after=_retry_after(exc))
    if status == 503 or (status >= 500 and ("overloaded" in words or "high demand" in words)):
        return ProviderOverloaded(msg, model=model, status=status)
    if status >= 500:
        return ProviderServerError(msg, model=model, status=status)
    if code in SAFETY_CODES:
        return SafetyBlocked(msg, model=model, status=status, reason=code)
    if code == "model_not_found" or (status == 404 and "model" in words):
        return ModelNotOffered(msg, model=model, status=status)  # unknown or shut down
    param = exc.body.get("param") if isinstance(exc.body, dict) else None
    if status == 400 and param == "model" and ("exist" in words or "deprecated" in words):
        return ModelNotOffered(msg, model=model, status=status)  # some say it with a 400
    if status in (401, 403, 404):
        return ProviderMisconfigured(msg, model=model, status=status)
    if status in (408, 409):
        return ProviderServerError(msg, model=model, status=status)
    return InvalidRequest(msg, model=model, status=status)


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """``retry-after-ms`` (OpenAI's own) first, then the standard ``Retry-After``."""
    headers = exc.response.headers
    millis = parse_retry_after(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    return parse_retry_after(headers.get("retry-after"))
