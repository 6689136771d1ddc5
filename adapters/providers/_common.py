"""Small helpers the provider adapters share: safe messages, durations, and the check
every image a model returns goes through before the router sees it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from bot.domain import ImageLimits, ProviderImage
from bot.errors import EmptyResult
from bot.ports import ImageInspector

_MAX_VENDOR_TEXT = 240
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*s\s*$")
_RETRY_IN = re.compile(r"retry in (\d+(?:\.\d+)?)\s*s", re.IGNORECASE)


def safe_text(text: object, secrets: Iterable[str]) -> str:
    """Vendor text fit for a log line: secrets blanked, one line, bounded length."""
    out = " ".join(str(text).split())
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, "[redacted]")
    if len(out) > _MAX_VENDOR_TEXT:
        out = out[: _MAX_VENDOR_TEXT - 1] + "…"
    return out


def parse_duration(text: object) -> float | None:
    """``google.protobuf.Duration`` JSON ("27s", "1.5s") → seconds."""
    match = _DURATION.match(str(text)) if text is not None else None
    return float(match[1]) if match else None


def retry_in_message(message: object) -> float | None:
    """Gemini also says it in words: "Please retry in 57.24s."."""
    match = _RETRY_IN.search(str(message or ""))
    return float(match[1]) if match else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """An HTTP ``Retry-After`` value (seconds or an HTTP date) → seconds from now."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def answer_cap(limits: ImageLimits) -> int:
    """The most bytes an answer carrying one image within ``limits`` needs: the image in
    base64 (4/3 of it) plus room for its text, signatures and JSON."""
    return limits.max_bytes * 4 // 3 + 256 * 1024


def too_large(model: str, size: int, cap: int) -> EmptyResult:
    """An answer longer than ``answer_cap``: not read further, treated as no image."""
    return EmptyResult(f"{model}: answer of {size}+ bytes is over {cap}", model=model, status=200)


async def checked(image: ProviderImage, images: ImageInspector, model: str) -> ProviderImage:
    """``image`` once it decodes whole within the limits (its type as decoded); else
    EmptyResult: an oversize, truncated or undecodable image is no image — the next
    model is tried and nothing is billed or stored."""
    found = await images.inspect(image.data)
    if found.problem is not None:
        size = f", {found.width}x{found.height}" if found.width else ""
        raise EmptyResult(
            f"{model}: image refused: {found.problem} ({len(image.data)} bytes{size})",
            model=model,
            status=200,
        )
    return replace(image, mime_type=found.mime_type or image.mime_type)
