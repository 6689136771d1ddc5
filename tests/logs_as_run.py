"""Logging set up as ``imagine-bot`` sets it up (``adapters.logs.setup_logging``),
into a string the test reads — then put back as it was."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

from adapters.logs import QUIET, setup_logging
from bot.config import Settings


@contextlib.contextmanager
def logs_as_run(settings: Settings | None = None) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    names = [*QUIET, "slack_sdk.web", "discord.http"]
    saved = (list(root.handlers), root.level, {n: logging.getLogger(n).level for n in names})
    filters = {h: list(h.filters) for h in root.handlers}
    out = io.StringIO()
    setup_logging(settings or Settings(), stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
        for handler, kept in filters.items():
            handler.filters[:] = kept
