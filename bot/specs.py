"""What one catalogue entry says: a channel, a model, a shut-down id; aspect ratios.

Plain frozen data (loaded by ``bot.catalog`` from TOML). A model's figures carry
the page they came from and the date they were checked (``source``, ``checked``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from bot.bounds import MAX_ASPECT_SIDE
from bot.domain import SIZES

API_KINDS = ("gemini", "openai")
STATUSES = ("ga", "preview", "deprecated")


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """How to reach one vendor endpoint. Secrets are named, never stored here."""

    name: str
    kind: str  # "gemini" | "openai"
    api_key_env: str | None = None
    base_url: str | None = None
    base_url_env: str | None = None
    api_version: str | None = None  # Gemini only: pin "v1beta" (default), "v1", …
    vertex: bool = False
    project: str | None = None
    location: str | None = None
    rpm: int = 0  # requests per minute per model on this channel (bot.pacing); 0: not paced


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    api: str
    channels: tuple[str, ...]
    display: str = ""
    generate: bool = True
    edit: bool = False
    max_refs: int = 0
    multi_turn: bool = False
    aspect_ratios: tuple[str, ...] = ("1:1",)
    sizes: tuple[str, ...] = ("1K",)
    pixel_sizes: bool = False  # OpenAI-protocol: any WxH (GPT Image 2.x, relays), not 3 sizes
    price: Mapping[str, float] = field(default_factory=dict)
    latency_s: float = 15.0
    timeout_s: float = 90.0
    thinking: tuple[str, ...] = ()  # thinking levels the model offers, where it has any
    status: str = "ga"  # "ga" | "preview" | "deprecated"
    retired: date | None = None  # the vendor's shutdown date (future: announced)
    replacement: str | None = None  # the successor the vendor names
    checked: date | None = None  # when these figures were checked …
    source: str | None = None  # … and on which page

    def fit_size(self, size: str | None) -> str:
        """The size this model will make for ``size``: the largest it has not above it."""
        if size is None or size in self.sizes:
            return size or self.sizes[0]
        wanted = SIZES.index(size) if size in SIZES else 0
        fitting = [s for s in self.sizes if s in SIZES and SIZES.index(s) <= wanted]
        return fitting[-1] if fitting else self.sizes[0]

    def fit_aspect(self, aspect: str | None) -> str | None:
        """The supported aspect ratio closest in shape to ``aspect``."""
        if aspect is None or aspect in self.aspect_ratios:
            return aspect
        return min(self.aspect_ratios, key=lambda a: abs(_log_ratio(a) - _log_ratio(aspect)))

    def price_for(self, size: str | None) -> float:
        fitted = self.fit_size(size)
        if fitted in self.price:
            return self.price[fitted]
        return max(self.price.values(), default=0.0)

    def is_retired(self, today: date) -> bool:
        return self.retired is not None and self.retired <= today


@dataclass(frozen=True, slots=True)
class RetiredSpec:
    """An id its vendor shut down; requests for it go to ``replacement``."""

    id: str
    replacement: str
    shut_down: date
    source: str | None = None


def aspect_value(ratio: str) -> float | None:
    """``"16:9"`` → 1.777…; None for anything that is not a positive ratio."""
    w, sep, h = ratio.partition(":")
    try:
        value = float(w) / float(h) if sep else None
    except (ValueError, ZeroDivisionError):
        return None
    return value if value and value > 0 and math.isfinite(value) else None


def _log_ratio(aspect: str) -> float:
    return math.log(aspect_value(aspect) or 1.0)


def parse_aspect(text: str) -> str:
    """Normalise "16:9" / "16x9" (sides 1 … ``MAX_ASPECT_SIDE``, e.g. 3840:2160); raise
    ValueError for anything else."""
    w, sep, h = text.strip().replace("x", ":").partition(":")
    sides = [int(n) for n in (w, h) if n.isascii() and n.isdigit() and len(n) <= 6]
    if not sep or len(sides) != 2 or not all(0 < n <= MAX_ASPECT_SIDE for n in sides):
        raise ValueError(text)
    return f"{sides[0]}:{sides[1]}"
