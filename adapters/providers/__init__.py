"""Provider adapters: one class per vendor API, chosen by a channel's ``kind``."""

from __future__ import annotations

from adapters.providers.gemini import GeminiProvider
from adapters.providers.openai_images import OpenAIImagesProvider
from bot.catalog import ChannelSpec
from bot.errors import ConfigError
from bot.ports import ImageInspector, ImageProvider

__all__ = ["GeminiProvider", "OpenAIImagesProvider", "build_provider"]


def build_provider(
    channel: ChannelSpec,
    *,
    api_key: str,
    base_url: str | None,
    images: ImageInspector | None = None,
) -> ImageProvider:
    """The adapter for ``channel``. ``base_url``, resolved by the caller (e.g. from
    ``channel.base_url_env``), wins over ``channel.base_url``; ``images`` checks what
    the model returns (default: Pillow within the default limits)."""
    url = base_url if base_url is not None else channel.base_url
    if channel.kind == "gemini":
        return GeminiProvider(
            channel.name,
            api_key=api_key,
            base_url=url,
            api_version=channel.api_version,
            vertex=channel.vertex,
            project=channel.project,
            location=channel.location,
            images=images,
        )
    if channel.kind == "openai":
        return OpenAIImagesProvider(channel.name, api_key=api_key, base_url=url, images=images)
    raise ConfigError(f"channel {channel.name!r}: no adapter for kind {channel.kind!r}")
