"""Which model ids the sandbox serves, on which API, and until when.

By default every ``[models."<id>"]`` table of the built-in catalogue
(``bot/catalog.toml``) is served on its ``api`` ("gemini": generateContent,
"openai": the Images API, relay ids included), beside a few text and
embedding models that only show up in the model lists (so a client must
filter). An id the vendor shut down (``[retired]``), withdrawn, past its
shutdown date or never offered answers the vendor's 404 and is absent from
the lists::

    sb.offer("gemini-3-pro-image-preview", "gemini")   # serve an old id again
    sb.set_shutdown("gpt-image-2", "2027-03-01")       # announced: listed with the date
    sb.withdraw("gemini-3.1-flash-image")              # gone: 404, not listed
"""

from __future__ import annotations

import datetime
import tomllib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

APIS = frozenset({"gemini", "openai"})
KINDS = frozenset({"image", "text", "embedding"})


@dataclass(frozen=True, slots=True)
class Offer:
    """One served model id."""

    id: str
    api: str  # "gemini" | "openai"
    kind: str = "image"  # "image" | "text" (listed; no images) | "embedding"
    display: str = ""
    shutdown_date: datetime.date | None = None  # announced; from that day on: gone
    pixel_sizes: bool = False  # GPT Image 2.x free WxH sizes

    def as_dict(self) -> dict[str, Any]:
        shutdown = self.shutdown_date.isoformat() if self.shutdown_date else None
        return {
            "model": self.id,
            "api": self.api,
            "kind": self.kind,
            "shutdown_date": shutdown,
            "pixel_sizes": self.pixel_sizes,
        }


# Listed and served, but not image models: a client picking image models must filter.
EXTRAS = (
    Offer("gemini-3-flash", "gemini", "text", "Gemini 3 Flash"),
    Offer("gemini-3-pro", "gemini", "text", "Gemini 3 Pro"),
    Offer("gemini-embedding-001", "gemini", "embedding", "Gemini Embedding 001"),
    Offer("gpt-5", "openai", "text", "GPT-5"),
    Offer("text-embedding-3-small", "openai", "embedding", "text-embedding-3-small"),
)


def load_catalogue() -> dict[str, Any]:
    """The built-in catalogue as plain TOML (not through ``bot.catalog``'s loader)."""
    with resources.files("bot").joinpath("catalog.toml").open("rb") as handle:
        return tomllib.load(handle)


def parse_date(value: str | datetime.date | None) -> datetime.date | None:
    """``"YYYY-MM-DD"`` (or a date, or None); ValueError for anything else."""
    if value is None or isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


class Registry:
    """The served models; ``today`` decides when an announced shutdown takes effect."""

    def __init__(
        self,
        models: Mapping[str, str] | None = None,
        *,
        today: Callable[[], datetime.date] = datetime.date.today,
        catalogue: Mapping[str, Any] | None = None,
    ) -> None:
        table = load_catalogue() if catalogue is None else catalogue
        self._tables: Mapping[str, Mapping[str, Any]] = table.get("models", {})
        self.retired: frozenset[str] = frozenset(table.get("retired", {}))
        self.today = today
        self._offers: dict[str, Offer] = {extra.id: extra for extra in EXTRAS}
        chosen = (
            {mid: spec.get("api") for mid, spec in self._tables.items() if spec.get("api") in APIS}
            if models is None
            else models
        )
        for model_id, api in chosen.items():
            self.offer(model_id, api)

    def offer(
        self,
        model_id: str,
        api: str,
        *,
        shutdown_date: str | datetime.date | None = None,
        pixel_sizes: bool | None = None,
        kind: str = "image",
    ) -> Offer:
        """Serve ``model_id`` on ``api`` (replacing any earlier offer of that id).

        ``pixel_sizes`` None: the catalogue's ``pixel_sizes`` for that id (else False).
        """
        if api not in APIS:
            raise ValueError(f"api must be one of {sorted(APIS)}, not {api!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
        spec = self._tables.get(model_id, {})
        if pixel_sizes is None:
            pixel_sizes = bool(spec.get("pixel_sizes", False)) and api == "openai"
        offer = Offer(
            id=model_id,
            api=api,
            kind=kind,
            display=str(spec.get("display", model_id)),
            shutdown_date=parse_date(shutdown_date),
            pixel_sizes=pixel_sizes,
        )
        self._offers[model_id] = offer
        return offer

    def withdraw(self, model_id: str) -> None:
        """Stop serving ``model_id`` at once (404, absent from the lists); no-op if unknown."""
        self._offers.pop(model_id, None)

    def set_shutdown(self, model_id: str, when: str | datetime.date | None) -> None:
        """Announce (or with None, cancel) ``model_id``'s shutdown date."""
        offer = self._offers.get(model_id)
        if offer is None:
            raise KeyError(f"{model_id!r} is not offered; offer() it first")
        self._offers[model_id] = replace(offer, shutdown_date=parse_date(when))

    def live(self, model_id: str, api: str | None = None) -> Offer | None:
        """The offer if ``model_id`` is served (on ``api``, if given) today; else None."""
        offer = self._offers.get(model_id)
        if offer is None or (api is not None and offer.api != api):
            return None
        if offer.shutdown_date is not None and offer.shutdown_date <= self.today():
            return None
        return offer

    def listed(self, api: str) -> list[Offer]:
        """What ``api``'s model list shows today, in offer order."""
        return [o for o in self._offers.values() if self.live(o.id, api) is not None]

    def state(self) -> list[dict[str, Any]]:
        """Every offer (live or past its date), JSON-friendly, with ``live``."""
        return [{**o.as_dict(), "live": self.live(o.id) is not None} for o in self._offers.values()]


# -- list entries -----------------------------------------------------------------

TOKEN_LIMITS = {"image": (65_536, 32_768), "text": (1_048_576, 65_536), "embedding": (2_048, 1)}
METHODS = {
    "image": ["generateContent", "countTokens"],
    "text": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
    "embedding": ["embedContent", "countTextTokens"],
}


def gemini_entry(offer: Offer) -> dict[str, Any]:
    """One ``models[]`` item of Gemini's ``ListModels`` (also ``GET models/{id}``)."""
    inputs, outputs = TOKEN_LIMITS[offer.kind]
    return {
        "name": f"models/{offer.id}",
        "baseModelId": offer.id,
        "version": "001",
        "displayName": offer.display or offer.id,
        "description": f"Sandbox stand-in for {offer.display or offer.id}.",
        "inputTokenLimit": inputs,
        "outputTokenLimit": outputs,
        "supportedGenerationMethods": list(METHODS[offer.kind]),
    }


def openai_entry(offer: Offer) -> dict[str, Any]:
    """One ``data[]`` item of OpenAI's ``GET /v1/models`` (also ``/v1/models/{id}``)."""
    own = offer.id.startswith(("gpt-", "dall-e", "text-embedding", "chatgpt-"))
    return {
        "id": offer.id,
        "object": "model",
        "created": 1_700_000_000 + zlib.crc32(offer.id.encode()) % 90_000_000,
        "owned_by": "openai" if own else "system",
        "shutdown_date": offer.shutdown_date.isoformat() if offer.shutdown_date else None,
    }
