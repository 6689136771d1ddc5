"""OpenAI Images (``/v1/images/generations`` JSON, ``/v1/images/edits`` multipart).

Errors are shaped as the real API shapes them: ``{"error": {message, type,
param, code}}``; 503s look like what OpenAI-compatible relays send
(``code: "upstream_error"``). Models whose id does not start with
``gpt-image`` behave like DALL·E-style relays: they answer with a ``url``
unless asked for ``response_format="b64_json"``. Models offered with
``pixel_sizes`` (GPT Image 2.x) take any valid ``WxH`` and draw exactly that
shape (scaled by ``image_px / 1024``); the others draw the requested ratio
with the long side ``image_px``.
"""

from __future__ import annotations

import base64
import json
import math
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from adapters.sandbox.faults import HTML_PAGE, Fault, oversize_error, retry_after_of
from adapters.sandbox.images import (
    FORMATS,
    dimensions,
    image_for,
    parse_wxh,
    pixel_size_problem,
    scaled,
)
from adapters.sandbox.records import Parsed

if TYPE_CHECKING:
    from aiohttp.web_request import FileField

    from adapters.sandbox.models import Offer
    from adapters.sandbox.server import Sandbox

MISSING = "missing_required_parameter"
IMAGE_MIMES = frozenset({"image/png", "image/jpeg", "image/webp"})
SAFETY_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your request may contain "
    "content that is not allowed by our safety system."
)

# kind -> (HTTP code, type, code, message)
ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    "overloaded": (
        503,
        "server_error",
        "upstream_error",
        "The upstream model is currently experiencing high demand. Please try again later.",
    ),
    "overloaded_alt": (
        503,
        "server_error",
        "upstream_error",
        "The model is overloaded. Please try again later.",
    ),
    "server_error": (
        500,
        "server_error",
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    "bad_request": (400, "invalid_request_error", "invalid_value", "Invalid value for 'size'."),
    "moderation_blocked": (
        400,
        "image_generation_user_error",
        "moderation_blocked",
        SAFETY_MESSAGE,
    ),
    "image_safety": (400, "image_generation_user_error", "moderation_blocked", SAFETY_MESSAGE),
    "prompt_blocked": (400, "image_generation_user_error", "moderation_blocked", SAFETY_MESSAGE),
    "unauthorized": (
        401,
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided.",
    ),
    "forbidden": (
        403,
        "invalid_request_error",
        None,
        "Your organization must be verified to use this model.",
    ),
}


def error(
    status: int, kind: str, code: str | None, message: str, param: str | None = None, **headers: str
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers or None)


def not_found(model: str) -> web.Response:
    """An unknown, withdrawn or shut-down model: HTTP 404 ``model_not_found``."""
    message = f"The model `{model}` does not exist or you do not have access to it."
    return error(404, "invalid_request_error", "model_not_found", message)


def request_key(request: web.Request) -> str:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.startswith("Bearer ") else ""


def check_auth(request: web.Request, keys: frozenset[str] | None) -> web.Response | None:
    key = request_key(request)
    if not key:
        message = "Missing bearer or basic authentication in header"
        return error(401, "invalid_request_error", None, message)
    if keys is not None and key not in keys:
        return error(*ERRORS["unauthorized"])
    return None


def _invalid(message: str, param: str | None = None, code: str | None = None) -> web.Response:
    return error(400, "invalid_request_error", code, message, param)


class OpenAIImagesApi:
    name = "openai"

    async def parse(self, request: web.Request) -> Parsed | web.Response:
        edit = request.path.endswith("/edits")
        read = await (_read_form(request) if edit else _read_json(request))
        if isinstance(read, web.Response):
            return read
        body, images = read
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return _invalid("Missing required parameter: 'prompt'.", "prompt", MISSING)
        model = str(body.get("model") or "dall-e-2")
        size = str(body.get("size") or "auto")
        ratio = _size_ratio(size)
        if ratio is None:
            return _invalid(
                f"Invalid value: '{size}'. Use 'auto' or WIDTHxHEIGHT.", "size", "invalid_value"
            )
        fmt = str(body.get("output_format") or "png")
        if fmt not in FORMATS:
            return _invalid(f"Invalid value: '{fmt}'.", "output_format", "invalid_value")
        try:
            n = int(body.get("n") or 1)
        except ValueError:
            n = 0
        if not 1 <= n <= 10:
            return _invalid(
                "Invalid value for 'n': must be between 1 and 10.", "n", "invalid_value"
            )
        wants_b64 = model.startswith("gpt-image") or body.get("response_format") == "b64_json"
        if body.get("response_format") == "url":
            wants_b64 = False
        options = {
            "size": size,
            "ratio": ratio,
            "format": fmt,
            "n": n,
            "b64": wants_b64,
            "edit": edit,
        }
        return Parsed(model=model, body=body, prompt=prompt, images=images, options=options)

    def check_auth(self, request: web.Request, keys: frozenset[str] | None) -> web.Response | None:
        return check_auth(request, keys)

    def request_key(self, request: web.Request) -> str:
        return request_key(request)

    def not_found(self, parsed: Parsed) -> web.Response:
        return not_found(parsed.model)

    def validate(self, sb: Sandbox, parsed: Parsed, offer: Offer) -> web.Response | None:
        """Per-model rules: only image models draw; GPT Image 2.x sizes."""
        if offer.kind != "image":
            message = f"Invalid value: '{parsed.model}'. This model does not support images."
            return _invalid(message, "model", "invalid_value")
        if not offer.pixel_sizes:
            return None
        size = parsed.options["size"]
        problem = pixel_size_problem(size)
        if problem is not None:
            message = f"Invalid value for 'size': '{size}'. {problem}"
            return _invalid(message, "size", "invalid_value")
        parsed.options["pixels"] = parse_wxh(size) or (1024, 1024)  # "auto": square
        return None

    async def respond(self, sb: Sandbox, parsed: Parsed, fault: Fault | None) -> web.Response:
        kind = fault.kind if fault else "ok"
        if kind in ERRORS:
            return error(*ERRORS[kind])
        if kind == "oversize_error":
            return oversize_error()
        if kind == "rate_limited":
            assert fault is not None
            wait = retry_after_of(fault)
            message = f"Rate limit reached for images per minute. Please try again in {wait:g}s."
            return error(
                429,
                "requests",
                "rate_limit_exceeded",
                message,
                **{"Retry-After": str(math.ceil(wait)), "retry-after-ms": str(round(wait * 1000))},
            )
        if kind == "not_found":
            return self.not_found(parsed)
        if kind == "html":
            return web.Response(text=HTML_PAGE, content_type="text/html")
        data: list[dict[str, Any]] = []
        if kind == "text_only":
            data = [{"revised_prompt": parsed.prompt}]
        elif kind != "empty":
            data = [await self._item(sb, parsed, kind) for _ in range(parsed.options["n"])]
        out: dict[str, Any] = {"created": int(time.time()), "data": data}
        if parsed.model.startswith("gpt-image"):
            out["output_format"] = parsed.options["format"]
            text_tokens = 8 + len(parsed.prompt) // 4
            image_tokens = 323 * len(parsed.images)
            out["usage"] = {
                "input_tokens": text_tokens + image_tokens,
                "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
                "output_tokens": 1056 * len(data),
                "total_tokens": text_tokens + image_tokens + 1056 * len(data),
            }
        return web.json_response(out)

    async def _item(self, sb: Sandbox, parsed: Parsed, kind: str) -> dict[str, Any]:
        counter = sb.next_counter()
        if kind == "malformed_b64":
            return {"b64_json": "this is not base64!!"}
        if not parsed.options["b64"]:
            return {"url": f"{sb.base_url}/_sandbox/files/{counter}.{parsed.options['format']}"}
        pixels = parsed.options.get("pixels")
        width, height = (
            scaled(pixels[0], pixels[1], sb.image_px)
            if pixels
            else dimensions(parsed.options["ratio"], sb.image_px)
        )
        image = await image_for(
            kind, parsed.prompt, parsed.model, counter, width, height, parsed.options["format"]
        )
        return {"b64_json": base64.b64encode(image).decode("ascii")}


async def _read_form(
    request: web.Request,
) -> tuple[dict[str, Any], list[tuple[bytes, str]]] | web.Response:
    """Multipart fields (files summarised) and the uploaded images, as sent."""
    if not request.content_type.startswith("multipart/"):
        return _invalid("Images must be uploaded as multipart/form-data.")
    fields: dict[str, Any] = {}
    images: list[tuple[bytes, str]] = []
    for name, value in (await request.post()).items():
        if isinstance(value, str):
            fields[name] = value
            continue
        if isinstance(value, (bytes, bytearray)):
            fields[name] = value.decode(errors="replace")
            continue
        upload: FileField = value
        data = upload.file.read()
        summary = {"filename": upload.filename, "content_type": upload.content_type}
        fields.setdefault(name, []).append({**summary, "bytes": len(data)})
        if name not in ("image", "image[]"):
            continue
        if upload.content_type not in IMAGE_MIMES:
            return _invalid(
                f"Invalid file 'image': unsupported mimetype ('{upload.content_type}'). "
                "Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                "image",
                "unsupported_file_mimetype",
            )
        images.append((data, upload.content_type))
    if not images:
        return _invalid("Missing required parameter: 'image'.", "image", MISSING)
    return fields, images


async def _read_json(
    request: web.Request,
) -> tuple[dict[str, Any], list[tuple[bytes, str]]] | web.Response:
    try:
        body = json.loads(await request.read())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _invalid("We could not parse the JSON body of your request.")
    return body, []


def _size_ratio(size: str) -> float | None:
    if size == "auto":
        return 1.0
    wh = parse_wxh(size)
    return None if wh is None else wh[0] / wh[1]
