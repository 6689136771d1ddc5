"""Gemini ``generateContent`` as Google serves it: routes, auth, bodies, errors.

Accepts what google-genai sends (camelCase keys with snake_case ``mime_type``
inside ``inlineData``, URL-safe base64) and what hand-written clients send
(snake_case, standard base64): images are compared as decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web
from PIL import Image

from adapters.sandbox.faults import (
    HTML_PAGE,
    Fault,
    oversize_error,
    proto_duration,
    retry_after_of,
)
from adapters.sandbox.images import SIZE_FACTORS, dimensions, image_for, render_async
from adapters.sandbox.records import Parsed
from adapters.sandbox.signatures import CORRUPTED, signatures_in
from bot.specs import aspect_value

if TYPE_CHECKING:
    from adapters.sandbox.models import Offer
    from adapters.sandbox.server import Sandbox

PATH = re.compile(
    r"(?:projects/[^/]+/locations/[^/]+/)?(?:publishers/google/)?models/(?P<model>[^/:]+)"
    r":generateContent"
)
VERSIONS = frozenset({"v1", "v1beta", "v1alpha", "v1beta1"})
ASPECT_RATIOS = frozenset("1:1 2:3 3:2 3:4 4:3 4:5 5:4 9:16 16:9 21:9 9:21 1:4 4:1 1:8 8:1".split())
HIGH_DEMAND = (
    "This model is currently experiencing high demand. Spikes in demand are usually "
    "temporary. Please try again later."
)
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_METRIC = "generativelanguage.googleapis.com/generate_requests_per_model"

# kind -> (HTTP code, google.rpc status, message)
ERRORS: dict[str, tuple[int, str, str]] = {
    "overloaded": (503, "UNAVAILABLE", HIGH_DEMAND),
    "overloaded_alt": (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    "server_error": (
        500,
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    ),
    "bad_request": (400, "INVALID_ARGUMENT", "Request contains an invalid argument."),
    "unauthorized": (
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential.",
    ),
    "forbidden": (403, "PERMISSION_DENIED", "The caller does not have permission"),
}


def error(code: int, status: str, message: str, details: list[Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        body["details"] = details
    return web.json_response({"error": body}, status=code)


def not_found(model: str, version: str) -> web.Response:
    """An unknown, withdrawn or shut-down model, as Google words it (google/adk-python#200)."""
    message = (
        f"models/{model} is not found for API version {version}, or is not supported for "
        "generateContent. Call ListModels to see the list of available models and their "
        "supported methods."
    )
    return error(404, "NOT_FOUND", message)


def request_key(request: web.Request) -> str:
    """The API key (or, on Vertex, the OAuth token) a request was made with."""
    key = request.headers.get("x-goog-api-key") or request.query.get("key")
    if key:
        return key
    bearer = request.headers.get("Authorization", "")
    return bearer[7:].strip() if bearer.startswith("Bearer ") else ""


def decode_b64(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional; ValueError if neither."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    return obj.get(camel, obj.get(snake))


class GeminiApi:
    name = "gemini"

    async def parse(self, request: web.Request) -> Parsed | web.Response:
        version, rest = request.match_info["version"], request.match_info["rest"]
        match = PATH.fullmatch(rest)
        if version not in VERSIONS or match is None:
            return error(404, "NOT_FOUND", f"Method not found: /{version}/{rest}")
        model = match["model"]
        try:
            body = json.loads(await request.read())
        except ValueError:
            return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        contents = body.get("contents") if isinstance(body, dict) else None
        if not contents or not isinstance(contents, list):
            return error(
                400,
                "INVALID_ARGUMENT",
                "* GenerateContentRequest.contents: contents is not specified",
            )
        texts, images = [], []
        for i, part in enumerate(contents[-1].get("parts") or []):
            if "text" in part and not part.get("thought"):
                texts.append(str(part["text"]))
            blob = _get(part, "inlineData", "inline_data")
            if blob:
                try:
                    images.append(
                        (
                            decode_b64(blob.get("data", "")),
                            _get(blob, "mimeType", "mime_type") or "",
                        )
                    )
                except ValueError:
                    where = f"contents[{len(contents) - 1}].parts[{i}].inline_data.data"
                    return error(
                        400,
                        "INVALID_ARGUMENT",
                        f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed",
                    )
        config = _get(body, "generationConfig", "generation_config") or {}
        image_config = _get(config, "imageConfig", "image_config") or {}
        ratio = _get(image_config, "aspectRatio", "aspect_ratio")
        size = _get(image_config, "imageSize", "image_size")
        if ratio is not None and ratio not in ASPECT_RATIOS:
            return error(400, "INVALID_ARGUMENT", f"Unsupported aspect ratio: {ratio}")
        if size is not None and size not in SIZE_FACTORS:
            return error(400, "INVALID_ARGUMENT", f"Unsupported image size: {size}")
        asked = _get(config, "responseModalities", "response_modalities")
        modalities = [str(m).upper() for m in asked or ["TEXT", "IMAGE"]]
        thinking = _get(config, "thinkingConfig", "thinking_config") or {}
        return Parsed(
            model=model,
            body=body,
            prompt="\n".join(texts),
            images=images,
            options={
                "version": version,
                "ratio": ratio,
                "size": size or "1K",
                "image": "IMAGE" in modalities,
                "image_asked": bool(asked) and "IMAGE" in modalities,
                "thoughts": bool(_get(thinking, "includeThoughts", "include_thoughts")),
            },
        )

    def check_auth(self, request: web.Request, keys: frozenset[str] | None) -> web.Response | None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        bearer = request.headers.get("Authorization", "")
        if not key and bearer.startswith("Bearer ") and bearer[7:].strip():
            return None  # an OAuth token (Vertex): not checked
        if not key:
            return error(*ERRORS["unauthorized"])
        if keys is not None and key not in keys:
            # What Google really answers for a wrong key: 400, not 401.
            info = {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
            }
            return error(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [info]
            )
        return None

    def request_key(self, request: web.Request) -> str:
        return request_key(request)

    def not_found(self, parsed: Parsed) -> web.Response:
        return not_found(parsed.model, parsed.options["version"])

    def validate(self, sb: Sandbox, parsed: Parsed, offer: Offer) -> web.Response | None:
        """What a served model refuses: other methods, modalities, foreign signatures."""
        if offer.kind == "embedding":  # served, but not for generateContent
            return self.not_found(parsed)
        if offer.kind == "text":
            if parsed.options["image_asked"]:
                message = "Model does not support the requested response modality: IMAGE"
                return error(400, "INVALID_ARGUMENT", message)
            parsed.options["image"] = False
        for where, value in signatures_in(parsed.body.get("contents")):
            try:
                raw = decode_b64(value) if isinstance(value, str) else None
            except ValueError:
                raw = None
            if raw is None:
                message = f"Invalid value at '{where}' (TYPE_BYTES), Base64 decoding failed"
                return error(400, "INVALID_ARGUMENT", message)
            if not sb.owns_signature(raw, parsed.model, parsed.api_key):
                return error(400, "INVALID_ARGUMENT", CORRUPTED)
        return None

    async def respond(self, sb: Sandbox, parsed: Parsed, fault: Fault | None) -> web.Response:
        kind = fault.kind if fault else "ok"
        if kind in ERRORS:
            return error(*ERRORS[kind])
        if kind == "oversize_error":
            return oversize_error()
        if kind == "rate_limited":
            assert fault is not None
            delay = proto_duration(retry_after_of(fault))
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{"quotaMetric": QUOTA_METRIC}],
                },
                {"@type": RETRY_INFO, "retryDelay": delay},
            ]
            message = f"You exceeded your current quota. Please retry in {delay}."
            return error(429, "RESOURCE_EXHAUSTED", message, details)
        if kind == "not_found":
            return self.not_found(parsed)
        if kind == "html":
            return web.Response(text=HTML_PAGE, content_type="text/html")
        out: dict[str, Any] = {
            "modelVersion": parsed.model,
            "responseId": secrets.token_urlsafe(12),
        }
        out["usageMetadata"] = {
            "promptTokenCount": 8 + len(parsed.prompt) // 4 + 258 * len(parsed.images)
        }
        if kind in ("moderation_blocked", "prompt_blocked"):
            reason = "PROHIBITED_CONTENT" if kind == "moderation_blocked" else "SAFETY"
            out["promptFeedback"] = {"blockReason": reason}
            return web.json_response(out)
        if kind == "empty":
            return web.json_response(out)
        candidate: dict[str, Any] = {"index": 0, "finishReason": "STOP"}
        if kind == "image_safety":
            candidate["finishReason"] = "IMAGE_SAFETY"
            candidate["finishMessage"] = (
                "Unable to show the generated image: it may violate our policies."
            )
        elif kind == "text_only" or not parsed.options["image"]:
            text = f"I can only describe it: {parsed.prompt}"
            candidate["content"] = {"role": "model", "parts": [{"text": text}]}
        else:
            candidate["content"] = {"role": "model", "parts": await self._parts(sb, parsed, kind)}
        out["candidates"] = [candidate]
        if "content" in candidate:
            usage = out["usageMetadata"]
            drew = kind != "text_only" and parsed.options["image"]
            usage["candidatesTokenCount"] = 1290 if drew else 40
            usage["totalTokenCount"] = usage["promptTokenCount"] + usage["candidatesTokenCount"]
        return web.json_response(out)

    async def _parts(self, sb: Sandbox, parsed: Parsed, kind: str) -> list[dict[str, Any]]:
        counter = sb.next_counter()
        ratio = aspect_value(parsed.options["ratio"] or "") or _first_image_ratio(parsed) or 1.0
        long_side = max(16, round(sb.image_px * SIZE_FACTORS[parsed.options["size"]]))
        width, height = dimensions(ratio, long_side)
        parts: list[dict[str, Any]] = []
        if sb.thoughts or parsed.options["thoughts"]:
            draft = await render_async("draft: " + parsed.prompt, parsed.model, counter, 32, 32)
            parts.append({"text": "Planning the composition.", "thought": True})
            parts.append(
                {"inlineData": {"mimeType": "image/png", "data": _b64(draft)}, "thought": True}
            )
        parts.append({"text": f"Here is your image of: {parsed.prompt[:200]}"})
        if kind == "malformed_b64":
            data = "this is not base64!!"
        else:
            data = _b64(await image_for(kind, parsed.prompt, parsed.model, counter, width, height))
        parts.append(
            {
                "inlineData": {"mimeType": "image/png", "data": data},
                "thoughtSignature": sb.signature(parsed.model, counter, parsed.api_key),
            }
        )
        return parts


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _first_image_ratio(parsed: Parsed) -> float | None:
    """Without an aspect ratio, Gemini follows the (first) input image's shape."""
    for data, _mime in parsed.images:
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.width / image.height
        except (OSError, ValueError, ZeroDivisionError):
            continue
    return None
