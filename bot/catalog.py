"""The model catalogue: models, the channels that serve them, prices, retirement.

Everything here is data loaded from ``catalog.toml`` (shipped in the package)
and an optional operator TOML (``IMAGINE_CONFIG``) of the same shape, merged
field by field. A relay model or a second channel for a model is a TOML table,
not a new class.

Shut-down ids never break a team's set-up: a ``[retired."<id>"]`` table (or a
model whose ``retired`` date has passed) names the successor, and ``resolve``
follows it — for the configured chain, a workspace's stored chain, a stored
thread and a queued job alike. A ``[models]`` table for the same id wins over
``[retired]``, so an operator who can still call an old model keeps it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from bot.bounds import check_rpm
from bot.domain import SIZES
from bot.errors import ConfigError
from bot.specs import (
    API_KINDS,
    STATUSES,
    ChannelSpec,
    ModelSpec,
    RetiredSpec,
    aspect_value,
    parse_aspect,
)

__all__ = [
    "API_KINDS",
    "Catalog",
    "ChannelSpec",
    "ModelSpec",
    "RetiredSpec",
    "aspect_value",
    "load_catalog",
    "parse_aspect",
]


@dataclass(frozen=True, slots=True)
class Catalog:
    models: Mapping[str, ModelSpec]
    channels: Mapping[str, ChannelSpec]
    chain: tuple[str, ...]  # as configured (may name shut-down ids: see ``resolved_chain``)
    retired: Mapping[str, RetiredSpec] = field(default_factory=dict)

    def resolve(self, model_id: str, today: date) -> str:
        """The id to call for ``model_id``: its successor while it is shut down."""
        seen, current = {model_id}, model_id
        while (nxt := self._successor_if_gone(current, today)) and nxt not in seen:
            seen.add(nxt)
            current = nxt
        return current

    def resolved_chain(self, today: date, chain: Iterable[str] | None = None) -> tuple[str, ...]:
        """``chain`` (default: the configured one) with shut-down ids replaced, deduplicated."""
        ids = self.chain if chain is None else chain
        return tuple(dict.fromkeys(self.resolve(m, today) for m in ids))

    def shut_down_on(self, model_id: str, today: date) -> date | None:
        """When ``model_id`` was shut down, if it has been."""
        spec = self.models.get(model_id)
        if spec is not None:
            return spec.retired if spec.is_retired(today) else None
        gone = self.retired.get(model_id)
        return gone.shut_down if gone else None

    def alias_warning(self, old: str, new: str, today: date) -> str:
        when = self.shut_down_on(old, today)
        on = f" on {when}" if when else ""
        return f"model {old!r} was shut down{on}; its successor {new!r} is used instead"

    def successor(self, model_id: str) -> str | None:
        """The successor the vendor names for ``model_id`` (shut down or not)."""
        spec = self.models.get(model_id)
        if spec is not None:
            return spec.replacement
        gone = self.retired.get(model_id)
        return gone.replacement if gone else None

    def chain_warnings(self, today: date) -> list[str]:
        """Human-readable start-up warnings about the configured chain."""
        out = []
        for model_id in self.chain:
            resolved = self.resolve(model_id, today)
            if resolved != model_id:
                out.append(self.alias_warning(model_id, resolved, today))
            spec = self.models.get(resolved)
            if spec is None:
                out.append(
                    f"model {resolved!r} in the chain is not in the catalogue and is skipped; "
                    f"known models: {', '.join(self.live_ids(today))}"
                )
            elif spec.is_retired(today):
                out.append(
                    f"model {resolved!r} was retired on {spec.retired} and is skipped; "
                    f"use {spec.replacement or 'another model'} instead"
                )
            else:
                missing = [c for c in spec.channels if c not in self.channels]
                if missing and len(missing) == len(spec.channels):
                    out.append(
                        f"model {resolved!r} has no usable channel: define "
                        f"[channels.{missing[0]}] in IMAGINE_CONFIG"
                    )
        return out

    def live_ids(self, today: date) -> list[str]:
        return [m.id for m in self.models.values() if not m.is_retired(today)]

    def _successor_if_gone(self, model_id: str, today: date) -> str | None:
        spec = self.models.get(model_id)
        if spec is not None:
            return spec.replacement if spec.is_retired(today) else None
        gone = self.retired.get(model_id)
        return gone.replacement if gone else None


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
        retired = {
            rid: _retired(rid, t) for rid, t in _table(base, "retired").items() if rid not in models
        }
        order = chain or base.get("chain", ())
        if not isinstance(order, list | tuple) or not all(isinstance(m, str) for m in order):
            raise ConfigError("chain must be a list of model ids")
        return Catalog(models=models, channels=channels, chain=tuple(order), retired=retired)
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
    try:
        rpm = check_rpm(t.get("rpm", 0), f"channel {name!r}")
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return ChannelSpec(name=name, **{**t, "rpm": rpm})


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
    if t.get("status", "ga") not in STATUSES:
        raise ConfigError(f"model {mid!r}: status must be one of {STATUSES}")
    price = t.get("price", {})
    if not isinstance(price, dict) or not all(
        isinstance(v, int | float) and v >= 0 for v in price.values()
    ):
        raise ConfigError(f'model {mid!r}: price must be a table like {{ "1K" = 0.04 }}')
    fields = dict(t)
    for key in ("channels", "aspect_ratios", "sizes", "thinking"):
        if key in fields:
            fields[key] = tuple(fields[key])
    for key in ("retired", "checked"):
        fields[key] = _date(fields.get(key))
    fields.setdefault("display", mid)
    return ModelSpec(id=mid, **fields)


def _retired(rid: str, t: Mapping[str, Any]) -> RetiredSpec:
    unknown = set(t) - {"replacement", "shut_down", "source"}
    if unknown or not isinstance(t.get("replacement"), str) or "shut_down" not in t:
        raise ConfigError(
            f"retired {rid!r}: needs replacement and shut_down (and maybe source), not {sorted(t)}"
        )
    shut_down = _date(t["shut_down"])
    assert shut_down is not None
    return RetiredSpec(rid, t["replacement"], shut_down, t.get("source"))


def _date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise TypeError(f"a date must be YYYY-MM-DD, not {value!r}")
