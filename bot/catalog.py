"""The model catalogue: models, the channels that serve them, prices, retirement.

Everything here is data loaded from ``catalog.toml`` (shipped in the package)
and an optional operator TOML (``IMAGINE_CONFIG``) of the same shape, merged
field by field. A relay model or a second channel for a model is a TOML table,
not a new class.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from bot.domain import SIZES
from bot.errors import ConfigError

API_KINDS = ("gemini", "openai")


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
    price: Mapping[str, float] = field(default_factory=dict)
    latency_s: float = 15.0
    timeout_s: float = 90.0
    retired: date | None = None
    replacement: str | None = None

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
class Catalog:
    models: Mapping[str, ModelSpec]
    channels: Mapping[str, ChannelSpec]
    chain: tuple[str, ...]

    def with_chain(self, chain: tuple[str, ...]) -> Catalog:
        return replace(self, chain=chain)

    def chain_warnings(self, today: date) -> list[str]:
        """Human-readable start-up warnings about the configured chain."""
        out = []
        for model_id in self.chain:
            spec = self.models.get(model_id)
            if spec is None:
                out.append(
                    f"model {model_id!r} in the chain is not in the catalogue and is skipped; "
                    f"known models: {', '.join(self.live_ids(today))}"
                )
            elif spec.is_retired(today):
                out.append(
                    f"model {model_id!r} was retired on {spec.retired} and is skipped; "
                    f"use {spec.replacement or 'another model'} instead"
                )
            else:
                missing = [c for c in spec.channels if c not in self.channels]
                if missing and len(missing) == len(spec.channels):
                    out.append(
                        f"model {model_id!r} has no usable channel: define "
                        f"[channels.{missing[0]}] in IMAGINE_CONFIG"
                    )
        return out

    def live_ids(self, today: date) -> list[str]:
        return [m.id for m in self.models.values() if not m.is_retired(today)]


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
    """Normalise "16:9" / "16x9"; raise ValueError for anything else."""
    w, sep, h = text.strip().replace("x", ":").partition(":")
    if not sep or not w.isdigit() or not h.isdigit() or int(w) == 0 or int(h) == 0:
        raise ValueError(text)
    return f"{int(w)}:{int(h)}"


def load_catalog(overlay: Path | None = None, chain: list[str] | None = None) -> Catalog:
    """The built-in catalogue, merged with ``overlay`` TOML, chain overridden by ``chain``."""
    base = tomllib.loads(resources.files("bot").joinpath("catalog.toml").read_text("utf-8"))
    if overlay is not None:
        try:
            extra = tomllib.loads(overlay.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read IMAGINE_CONFIG {overlay}: {exc}") from exc
        base = _merge(base, extra)
    try:
        channels = {name: _channel(name, t) for name, t in _table(base, "channels").items()}
        models = {mid: _model(mid, t) for mid, t in _table(base, "models").items()}
        order = chain or base.get("chain", ())
        if not isinstance(order, list | tuple) or not all(isinstance(m, str) for m in order):
            raise ConfigError("chain must be a list of model ids")
        return Catalog(models=models, channels=channels, chain=tuple(order))
    except (TypeError, ValueError, AttributeError) as exc:  # a value of the wrong type
        where = f"IMAGINE_CONFIG {overlay}" if overlay else "the built-in catalogue"
        raise ConfigError(f"{where}: a value has the wrong type ({exc})") from exc


def _table(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict) or not all(isinstance(t, dict) for t in value.values()):
        raise ConfigError(f"[{key}] must be tables, e.g. [{key}.name]")
    return value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _channel(name: str, t: Mapping[str, Any]) -> ChannelSpec:
    kind = t.get("kind")
    if kind not in API_KINDS:
        raise ConfigError(f"channel {name!r}: kind must be one of {API_KINDS}, not {kind!r}")
    known = set(ChannelSpec.__slots__) - {"name"}
    unknown = set(t) - known
    if unknown:
        raise ConfigError(f"channel {name!r}: unknown keys {sorted(unknown)}")
    return ChannelSpec(name=name, **t)


def _model(mid: str, t: Mapping[str, Any]) -> ModelSpec:
    unknown = set(t) - (set(ModelSpec.__slots__) - {"id"})
    if unknown:
        raise ConfigError(f"model {mid!r}: unknown keys {sorted(unknown)}")
    if t.get("api") not in API_KINDS:
        raise ConfigError(f"model {mid!r}: api must be one of {API_KINDS}")
    if not t.get("channels"):
        raise ConfigError(f"model {mid!r}: needs at least one channel")
    bad_sizes = [s for s in t.get("sizes", ()) if s not in SIZES]
    if bad_sizes:
        raise ConfigError(f"model {mid!r}: sizes must be among {SIZES}, not {bad_sizes}")
    price = t.get("price", {})
    if not isinstance(price, dict) or not all(
        isinstance(v, int | float) and v >= 0 for v in price.values()
    ):
        raise ConfigError(f'model {mid!r}: price must be a table like {{ "1K" = 0.04 }}')
    fields = dict(t)
    for key in ("channels", "aspect_ratios", "sizes"):
        if key in fields:
            fields[key] = tuple(fields[key])
    if isinstance(fields.get("retired"), str):
        fields["retired"] = date.fromisoformat(fields["retired"])
    fields.setdefault("display", mid)
    return ModelSpec(id=mid, **fields)
