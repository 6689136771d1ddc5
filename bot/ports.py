"""Ports the core calls and adapters implement. Keyword-only, small."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bot.catalog import ModelSpec
    from bot.domain import GenerationRequest, ProviderImage

Clock = Callable[[], float]
"""Monotonic seconds; ``time.monotonic`` in production, a fake in tests."""


@runtime_checkable
class ImageProvider(Protocol):
    """One channel to one vendor API (Google direct, a relay, Vertex, OpenAI).

    ``generate`` makes exactly one call, with the SDK's own retries off, and
    raises only ``bot.errors.ProviderError`` subclasses (or lets
    ``TimeoutError`` / ``CancelledError`` through). The router owns timeouts.
    """

    @property
    def channel(self) -> str: ...

    async def generate(self, *, model: ModelSpec, request: GenerationRequest) -> ProviderImage: ...

    async def aclose(self) -> None: ...
