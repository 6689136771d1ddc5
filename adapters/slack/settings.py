"""Slack's settings, read once from ``bot.config.Settings`` (environment, then
``.env``) and shared by the platform (``build_slack``) and ``imagine-bot doctor``.
No Slack SDK here: reading them costs nothing when Slack is not configured.

Tokens are kept to be handed to the SDK, never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import Settings
from bot.errors import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"


@dataclass(frozen=True, slots=True)
class SlackSettings:
    bot_token: str = field(repr=False)  # SLACK_BOT_TOKEN (xoxb-…)
    app_token: str | None = field(repr=False)  # SLACK_APP_TOKEN (xapp-…): Socket Mode
    signing_secret: str | None = field(repr=False)  # SLACK_SIGNING_SECRET: HTTP mode
    api_url: str  # SLACK_API_URL, ending in "/" (GovSlack, a proxy, tests)

    @classmethod
    def read(cls, settings: Settings) -> SlackSettings | None:
        """Slack's settings if ``SLACK_BOT_TOKEN`` is set, else None (Slack is off)."""
        token = settings.lookup("SLACK_BOT_TOKEN")
        if not token:
            return None
        return cls(
            bot_token=token,
            app_token=settings.lookup("SLACK_APP_TOKEN"),
            signing_secret=settings.lookup("SLACK_SIGNING_SECRET"),
            api_url=(settings.lookup("SLACK_API_URL") or DEFAULT_API_URL).rstrip("/") + "/",
        )

    @property
    def socket_mode(self) -> bool:
        """Requests come over Socket Mode (no public URL), not to ``/slack/events``."""
        return self.app_token is not None

    @property
    def app_token_ok(self) -> bool:
        """An app-level token, if one is set (a bot token there is a common slip)."""
        return self.app_token is None or self.app_token.startswith("xapp-")

    def check(self) -> None:
        """Raise ``ConfigError`` if ``imagine-bot run`` cannot start Slack with these."""
        if not self.app_token and not self.signing_secret:
            raise ConfigError(
                "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor "
                "SLACK_SIGNING_SECRET (HTTP mode) is"
            )
        if not self.app_token_ok:
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-…)")
