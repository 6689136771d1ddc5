"""Fault scripts: which model misbehaves how, when, and how often.

A script is an ordered list of :class:`Fault` rules for one model (or ``"*"``,
the default for models without their own script). For each call the first
rule that is active wins: inside its time window, not yet used up by
``first_n``, and lucky on its ``probability`` roll (a seeded RNG per model, so
a run is reproducible for a given arrival order).
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from aiohttp import web

KINDS = frozenset(
    {
        "overloaded",  # 503 UNAVAILABLE "high demand"
        "overloaded_alt",  # 503 UNAVAILABLE "The model is overloaded"
        "rate_limited",  # 429 with RetryInfo / Retry-After
        "server_error",  # 500 INTERNAL
        "bad_request",  # 400 INVALID_ARGUMENT / invalid_request_error
        "moderation_blocked",  # openai 400 moderation_blocked; gemini 200 PROHIBITED_CONTENT
        "image_safety",  # gemini 200 finishReason IMAGE_SAFETY
        "prompt_blocked",  # gemini 200 promptFeedback.blockReason SAFETY
        "text_only",  # 200, no image
        "empty",  # 200, no candidates / data: []
        "malformed_b64",  # 200, image data that is not base64
        "truncated_image",  # 200, a PNG cut off halfway (its header intact)
        "bomb_image",  # 200, a 109 KB PNG that decodes to 30000 x 30000 pixels
        "oversize_image",  # 200, a real ~3 MB PNG (1024 x 1024 noise, uncompressed)
        "oversize_chunked",  # the same answer sent chunked: no Content-Length to refuse it by
        "chunked",  # the usual answer, sent chunked (Transfer-Encoding: chunked, no length)
        "html",  # 200 text/html: a proxy's or login wall's page instead of the API's JSON
        "oversize_error",  # 502 from a relay's proxy: an ~4 MB error page, sent chunked
        "unauthorized",  # 401
        "forbidden",  # 403
        "not_found",  # 404 model
        "slow",  # normal answer, late
        "hang",  # no answer until the client goes away
        "disconnect",  # connection closed without an answer
    }
)

# Kinds answered with HTTP 200 by a model that "ran": they take the model's time.
MODEL_ANSWERS = frozenset(
    {
        "image_safety",
        "prompt_blocked",
        "text_only",
        "empty",
        "malformed_b64",
        "moderation_blocked",
        "truncated_image",
        "bomb_image",
        "oversize_image",
        "oversize_chunked",
        "chunked",
    }
)
# Kinds whose answer is sent chunked, in pieces of this many bytes (as a relay may send it).
CHUNKED = frozenset({"chunked", "oversize_chunked", "oversize_error"})
OVERSIZE_ERROR_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
    "<body><h1>Please sign in to continue</h1></body></html>\n"
)

DEFAULT_RETRY_AFTER = 5.0
DEFAULT_SLOW_FACTOR = 4.0
DEFAULT_SLOW_SECONDS = 5.0  # a "slow" fault on a model that has no base latency


@dataclass(frozen=True, slots=True)
class Fault:
    """One rule of a model's fault script (times in seconds since the script was set)."""

    kind: str
    probability: float = 1.0
    start: float = 0.0
    end: float | None = None
    first_n: int | None = None
    retry_after: float | None = None
    latency: float | None = None
    factor: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def covers(self, elapsed: float) -> bool:
        return self.start <= elapsed and (self.end is None or elapsed < self.end)


@dataclass(slots=True)
class _Script:
    rules: tuple[Fault, ...]
    set_at: float
    seen: list[int]  # calls each rule has seen inside its window
    used_up_at: list[float | None]


@dataclass(slots=True)
class Behaviour:
    """Latency and fault scripts per model; ``"*"`` is the fallback for any model."""

    seed: int = 0
    latency: dict[str, tuple[float, float]] = field(default_factory=dict)
    scripts: dict[str, _Script] = field(default_factory=dict)
    rngs: dict[str, random.Random] = field(default_factory=dict)

    def rng(self, model: str) -> random.Random:
        if model not in self.rngs:
            self.rngs[model] = random.Random(f"{self.seed}:{model}")
        return self.rngs[model]

    def set_latency(self, model: str, seconds: float, jitter: float = 0.0) -> None:
        self.latency[model] = (max(0.0, seconds), max(0.0, jitter))

    def base_latency(self, model: str) -> float:
        return self.latency.get(model, self.latency.get("*", (0.0, 0.0)))[0]

    def draw_latency(self, model: str) -> float:
        seconds, jitter = self.latency.get(model, self.latency.get("*", (0.0, 0.0)))
        if jitter:
            seconds += self.rng(model).uniform(-jitter, jitter)
        return max(0.0, seconds)

    def script(self, model: str, rules: Iterable[Fault], now: float) -> None:
        rules = tuple(rules)
        self.scripts[model] = _Script(rules, now, [0] * len(rules), [None] * len(rules))

    def pick(self, model: str, now: float) -> Fault | None:
        """The fault for a call arriving at ``now`` (consumes counters and RNG)."""
        script = self.scripts.get(model) or self.scripts.get("*")
        if script is None:
            return None
        elapsed = now - script.set_at
        for i, rule in enumerate(script.rules):
            if not rule.covers(elapsed) or script.used_up_at[i] is not None:
                continue
            script.seen[i] += 1
            if rule.first_n is not None and script.seen[i] >= rule.first_n:
                script.used_up_at[i] = now
            if rule.probability >= 1.0 or self.rng(model).random() < rule.probability:
                return rule
        return None

    def active(self, model: str, at: float) -> list[Fault]:
        """Rules whose window covers ``at`` and that were not used up before it."""
        script = self.scripts.get(model) or self.scripts.get("*")
        if script is None:
            return []
        out = []
        for i, rule in enumerate(script.rules):
            used_up = script.used_up_at[i]
            if rule.covers(at - script.set_at) and (used_up is None or at <= used_up):
                out.append(rule)
        return out

    def reset(self) -> None:
        self.latency.clear()
        self.scripts.clear()
        self.rngs.clear()


def fault_delay(fault: Fault | None, base: float) -> float:
    """How long to wait before answering with ``fault`` (``base``: the model's latency)."""
    if fault is None:
        return base
    if fault.latency is not None:
        return fault.latency
    if fault.kind == "slow":
        return base * (fault.factor or DEFAULT_SLOW_FACTOR) if base else DEFAULT_SLOW_SECONDS
    if fault.kind in MODEL_ANSWERS:
        return base
    return 0.0


def retry_after_of(fault: Fault) -> float:
    return fault.retry_after if fault.retry_after is not None else DEFAULT_RETRY_AFTER


def proto_duration(seconds: float) -> str:
    """``google.protobuf.Duration`` JSON: "27s", "1.500s"."""
    if seconds == math.floor(seconds):
        return f"{int(seconds)}s"
    return f"{seconds:.3f}s"


def oversize_error() -> web.Response:
    """A relay's proxy failing with a huge error page (``oversize_error``): 502, ~4 MB."""
    page = "<html><body>" + "Bad gateway. " * (OVERSIZE_ERROR_BYTES // 13) + "</body></html>"
    return web.Response(status=502, text=page, content_type="text/html")


def chunked(response: web.Response) -> web.Response:
    """``response`` sent with ``Transfer-Encoding: chunked`` and no ``Content-Length``,
    its body in ``CHUNK_BYTES`` pieces (the rest is not sent once the client hangs up)."""
    body = response.body
    assert isinstance(body, bytes)

    async def pieces() -> AsyncIterator[bytes]:
        for at in range(0, len(body), CHUNK_BYTES):
            yield body[at : at + CHUNK_BYTES]

    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return web.Response(status=response.status, body=pieces(), headers=headers)
