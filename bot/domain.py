"""Plain, frozen data that crosses the layers: requests, provider answers, attempt logs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

JSON = Mapping[str, Any]

SIZES = ("1K", "2K", "4K")


class Outcome(StrEnum):
    """What one attempt on one model came to (the attempt log's vocabulary)."""

    OK = "ok"
    OVERLOADED = "overloaded"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    EMPTY_RESULT = "empty_result"
    SAFETY_BLOCKED = "safety_blocked"
    INVALID_REQUEST = "invalid_request"
    MISCONFIGURED = "misconfigured"
    SKIPPED = "skipped"  # not sent: breaker open, model stalled or disabled
    CANCELLED = "cancelled"  # a hedged attempt that lost the race
    BACKGROUND = "background"  # a probe that lost the race, left to finish (its verdict counts)


@dataclass(frozen=True, slots=True)
class ImageInput:
    """An image the user supplies (a reference, or the image being edited)."""

    data: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """The largest image the bot takes in (a reference) or accepts from a model: bytes as
    sent, pixels once decoded (width × height)."""

    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000


class ImageProblem(StrEnum):
    """Why an image was refused (``ImageInspector.inspect``)."""

    TOO_LARGE = "too_large"  # more bytes than ``ImageLimits.max_bytes``
    TOO_MANY_PIXELS = "too_many_pixels"  # a decompression bomb, or just too big
    UNREADABLE = "unreadable"  # not PNG / JPEG / WebP / GIF, truncated or corrupt


@dataclass(frozen=True, slots=True)
class ImageCheck:
    """What decoding an image found: ``problem`` None means whole and within limits."""

    problem: ImageProblem | None
    mime_type: str = ""
    width: int = 0  # 0: not known (the header could not be read)
    height: int = 0


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One image to make. ``history`` holds earlier Gemini turns as JSON dicts
    (``Content.model_dump(mode="json", exclude_none=True)``), oldest first."""

    prompt: str
    aspect_ratio: str | None = None
    size: str | None = None  # "1K" | "2K" | "4K"
    references: tuple[ImageInput, ...] = ()
    history: tuple[JSON, ...] = ()
    # (model, channel) whose turns ``history`` holds; another route gets it rebased
    # (bot.rebase): thought signatures only count for the model and key that made them.
    history_origin: tuple[str, str | None] | None = None


@dataclass(frozen=True, slots=True)
class ProviderImage:
    """What a provider returns for one successful call.

    ``turns`` are the user and model turns of this exchange as JSON dicts in the
    vendor's own history format (Gemini: thought signatures included), ready to
    be appended to ``GenerationRequest.history``; empty for stateless APIs.
    """

    data: bytes
    mime_type: str
    text: str | None = None
    turns: tuple[JSON, ...] = ()


@dataclass(frozen=True, slots=True)
class Attempt:
    """One line of the attempt log."""

    model: str
    channel: str
    outcome: Outcome
    latency_ms: int = 0
    cost_usd: float = 0.0
    status: int | None = None
    detail: str = ""  # our own words (e.g. "breaker open", "hedge"), never vendor text

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "channel": self.channel,
            "outcome": str(self.outcome),
            "latency_ms": self.latency_ms,
        }
        if self.cost_usd:
            out["cost_usd"] = round(self.cost_usd, 4)
        if self.status is not None:
            out["status"] = self.status
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True, slots=True)
class ImageResult:
    """The router's answer: the image plus an honest record of how it was made."""

    image: ProviderImage
    model: str
    channel: str
    primary: str  # the model this request would have used had everything been up
    attempts: tuple[Attempt, ...]
    cost_usd: float
    fallback_reason: str | None = None  # an Outcome value, or "delayed": why not ``primary``
    adjustments: tuple[str, ...] = field(default=())  # e.g. "size 4K→2K"
    rebased: bool = False  # the thread's history was replaced (another model made it)

    @property
    def fallback(self) -> bool:
        return self.model != self.primary

    @property
    def spent_usd(self) -> float:
        """What this request may have cost in all: the image plus hedged attempts
        that were cancelled after the vendor may already have billed them."""
        return sum(a.cost_usd for a in self.attempts)


@dataclass(frozen=True, slots=True)
class OfferedModel:
    """One entry of a channel's model list (Gemini ``models.list``, OpenAI
    ``models.list``): the id and, where the vendor says, its shutdown date."""

    id: str
    shutdown: date | None = None
