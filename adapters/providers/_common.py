"""Small helpers the provider adapters share: safe messages, image sniffing, durations."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

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
