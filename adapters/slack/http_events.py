"""``POST /slack/events`` in HTTP mode: the signature is checked on the raw bytes
before anything is parsed, then the body is read once, carefully.

Slack signs every request: ``X-Slack-Signature`` is ``v0=`` + hex HMAC-SHA256 of
``v0:{X-Slack-Request-Timestamp}:{raw body}`` with the app's signing secret, and a
timestamp more than five minutes from now is refused as a possible replay
(docs.slack.dev/authentication/verifying-requests-from-slack, as quoted by
slack_sdk 3.48's ``SignatureVerifier``, read 2026-12-07). Bolt builds its request
— parsing the body — *before* its own check, so garbage from anyone reached a
traceback; here it cannot:

- no, wrong or stale signature, or a timestamp that is not a number → 401 and one
  warning line (nothing parsed, nothing echoed);
- signed but unreadable (not UTF-8, not JSON / a form, not an object) → 400 and one
  warning line.

Bolt's own verification still runs after ours (the same check, a second time).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest

log = logging.getLogger(__name__)

MAX_SKEW_S = 300  # Slack: "more than five minutes from local time … could be a replay attack"


def signed(secret: str, headers: Any, raw: bytes, now: float | None = None) -> str | None:
    """Why the request is not Slack's (None: it is)."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        return "no signature"
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "a timestamp that is not a number"
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_SKEW_S:
        return "a stale timestamp"
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "a wrong signature"
    return None


async def read_signed(request: web.Request, secret: str) -> AsyncBoltRequest | web.Response:
    """The request as Bolt's, or the 401 / 400 to answer instead."""
    raw = await request.read()
    why = signed(secret, request.headers, raw)
    if why is not None:
        log.warning("Slack: refused a request with %s (401) from %s", why, request.remote)
        return web.Response(status=401, text="invalid request")
    try:
        bolt_request = AsyncBoltRequest(
            body=raw.decode("utf-8"),
            query=request.query_string,
            headers={k: v for k, v in request.headers.items()},
        )
        readable = isinstance(bolt_request.body, dict) and isinstance(
            bolt_request.body.get("event", {}), dict
        )
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        readable, why = False, type(exc).__name__
    else:
        why = "not an object"
    if not readable:
        log.warning("Slack: a signed request could not be read (%s); answered 400", why)
        return web.Response(status=400, text="unreadable request")
    return bolt_request
