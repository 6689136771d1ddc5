"""Which platforms ``imagine-bot run`` starts, and how each is built (its SDK is
imported only when it is configured). A platform is built in two steps: its
client and sink before the service (the service is given the sinks), then
``attach`` once the service exists."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from adapters.discord.settings import DiscordSettings
from adapters.parts import Parts
from adapters.playground.app import build_playground
from adapters.playground.embedded import Embedded
from adapters.slack.settings import SlackSettings
from bot.config import Settings
from bot.errors import ConfigError


class Platform(Protocol):
    """A chat platform, built in two steps: its client and ``sink`` (a ``JobSink`` and
    ``StatusPoster``) before the service, then ``attach`` once the service exists."""

    sink: Any

    def attach(self, parts: Parts) -> None: ...

    def mount(self, web_app: web.Application) -> None: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None:
        """Stop taking requests."""

    async def close_http(self) -> None:
        """After the jobs and the announcer: they post through this client."""


@dataclass(frozen=True, slots=True)
class Chosen:
    slack: SlackSettings | None
    discord: DiscordSettings | None
    playground: bool


def chosen_platforms(settings: Settings) -> Chosen:
    """The platforms ``run`` starts; ``ConfigError`` if one is set up wrong or none is.
    The playground runs when asked (``IMAGINE_PLAYGROUND=on``) or, by default, when
    no chat platform is configured."""
    slack = SlackSettings.read(settings)
    if slack is not None:
        slack.check()
    discord = DiscordSettings.read(settings)
    mode = settings.imagine_playground
    playground = mode == "on" or (mode == "auto" and slack is None and discord is None)
    if slack is None and discord is None and not playground:
        raise ConfigError(
            "no chat platform is configured: set DISCORD_TOKEN, or SLACK_BOT_TOKEN with "
            "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode), or "
            "IMAGINE_PLAYGROUND=auto for the local playground; see README"
        )
    return Chosen(slack, discord, playground)


def open_platforms(
    stack: AsyncExitStack, chosen: Chosen, embedded: Embedded | None, data_dir: Path
) -> list[Platform]:
    """Each platform's client and sink; closed after the jobs that post through them."""
    found: list[Platform] = []
    if chosen.slack is not None:
        from adapters.slack.app import build_slack  # an SDK is loaded only when used

        found.append(build_slack(chosen.slack))
    if chosen.discord is not None:
        from adapters.discord.app import build_discord

        found.append(build_discord(chosen.discord))
    if chosen.playground:
        found.append(build_playground(embedded, data_dir))
    for platform in found:
        stack.push_async_callback(platform.close_http)
    return found
