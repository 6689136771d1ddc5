"""What the sandbox read from a request, and what it remembers about each call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from multidict import CIMultiDict

from adapters.sandbox.faults import Fault


@dataclass(slots=True)
class Parsed:
    """What an API module read from a request."""

    model: str
    body: Any  # the JSON body, or the multipart fields (files summarised)
    prompt: str = ""
    images: list[tuple[bytes, str]] = field(default_factory=list)  # the new turn's images
    options: dict[str, Any] = field(default_factory=dict)
    api_key: str = ""  # the key (or OAuth token) the request carried, once auth passed


@dataclass(slots=True)
class Call:
    """One request as the sandbox saw it (recorded when it arrives)."""

    api: str  # "gemini" | "openai"
    path: str
    started: float  # monotonic
    headers: CIMultiDict[str]
    model: str = ""
    body: Any = None
    prompt: str = ""
    images: list[tuple[bytes, str]] = field(default_factory=list)
    fault: Fault | None = None
    outcome: str = "pending"  # "ok", a fault kind, "unauthorized", "invalid", "dropped"
    status: int | None = None  # None: no HTTP answer was sent (hang, disconnect)
    finished: float | None = None

    def summary(self) -> dict[str, Any]:
        """JSON-friendly view (no bodies, no image bytes)."""
        return {
            "api": self.api,
            "model": self.model,
            "path": self.path,
            "started": self.started,
            "finished": self.finished,
            "outcome": self.outcome,
            "status": self.status,
            "prompt": self.prompt,
            "images": [{"mime_type": m, "bytes": len(d)} for d, m in self.images],
            "turns": len(self.body["contents"])
            if isinstance(self.body, dict) and isinstance(self.body.get("contents"), list)
            else None,
        }
