"""The process's logging: one stderr handler whose filter blanks every configured
secret, and the SDKs' body-level debug logs kept off.

``Redactor`` knows the secrets by their env-var names, read through
``Settings.lookup`` (environment, then ``.env``): the chat tokens and signing
secret, the web page's token (``IMAGINE_WEB_TOKEN``), every catalogue channel's
``api_key_env`` and a database URL's password. A record is rewritten before any
handler formats it — message, arguments, traceback and stack — so a token a
proxy echoes in a response body, or an SDK error that quotes one, is logged as
``[redacted SLACK_BOT_TOKEN]``. Slack-style tokens (``xoxb-…``, ``xapp-…``) are
blanked even when they are not ours.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import TextIO

import yarl

from bot.config import Settings
from bot.errors import ConfigError

SECRET_NAMES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DISCORD_TOKEN",
    "IMAGINE_WEB_TOKEN",
    "GEMINI_API_KEY",
    "OPENAI_API_KEY",
)
MIN_SECRET_LEN = 6  # shorter values would blank ordinary words; no real key is that short
SLACK_TOKEN = re.compile(r"\bx(?:ox[abeoprs]|app)-[0-9A-Za-z-]{8,}")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Loggers that write whole request / response bodies at DEBUG (or every request at
# INFO): never below this level, whatever IMAGINE_LOG_LEVEL says.
QUIET = {
    "httpx": logging.WARNING,
    "httpx2": logging.WARNING,
    "google_genai": logging.WARNING,
    "openai": logging.WARNING,
    "aiohttp.access": logging.WARNING,  # a line per request: a flood of bad POSTs is one each
    "slack_sdk": logging.INFO,  # DEBUG: "Received the following response - … body: {…}"
    "slack_bolt": logging.INFO,  # DEBUG: request bodies
    "discord": logging.INFO,  # DEBUG: gateway payloads, REST request bodies
}


class Redactor(logging.Filter):
    """Rewrites each record so that no known secret survives formatting."""

    def __init__(self, secrets: Mapping[str, str]) -> None:
        super().__init__()
        named = {v: k for k, v in secrets.items() if len(v) >= MIN_SECRET_LEN}
        self._names = named
        ordered = sorted(named, key=len, reverse=True)  # a key inside a longer one: longer first
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: f"[redacted {self._names[m.group(0)]}]", text)
        return SLACK_TOKEN.sub("[redacted slack token]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def secrets_of(settings: Settings) -> dict[str, str]:
    """Every configured secret, by the name it is set under."""
    names = list(SECRET_NAMES)
    try:
        names += [c.api_key_env for c in settings.catalog.channels.values() if c.api_key_env]
    except ConfigError:
        pass  # a bad IMAGINE_CONFIG is reported by the command itself; keep the defaults
    found = {name: value for name in names if (value := settings.lookup(name))}
    try:
        password = yarl.URL(settings.database_url).password
    except ValueError:
        password = None
    if password:
        found["IMAGINE_DATABASE_URL"] = password
    return found


class BotHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``setup_logging`` installs (replaced, not doubled, by a second call);
    without a stream of its own it writes to whatever ``sys.stderr`` is at the time."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._follow = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow:
            self.stream = sys.stderr
        super().emit(record)


def setup_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """One handler on the root logger, at IMAGINE_LOG_LEVEL, redacting secrets; the
    redaction also guards any handler already there. Returns the new handler."""
    redactor = Redactor(secrets_of(settings))
    handler = BotHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, BotHandler):
            root.removeHandler(existing)
            continue
        for old in [f for f in existing.filters if isinstance(f, Redactor)]:
            existing.removeFilter(old)
        existing.addFilter(redactor)
    handler.addFilter(redactor)
    root.addHandler(handler)
    level = logging.getLevelName(settings.imagine_log_level.upper())
    root.setLevel(level)
    quiet(QUIET.items(), level)
    return handler


def quiet(loggers: Iterable[tuple[str, int]], level: int) -> None:
    for name, floor in loggers:
        logging.getLogger(name).setLevel(max(floor, level))
