"""Text people typed, made fit to send to a model and to quote back in a channel.

Control characters (ESC, BEL, DEL, NUL and the rest of Unicode's Cc category) would
reach a model as noise and a terminal or a chat client as commands; newlines and tabs
are kept. Imports nothing of ours, so both ``bot.validate`` and ``bot.messages`` use it.
"""

from __future__ import annotations

import re

MAX_NAME_CHARS = 80  # a reference's file name, as quoted back in a refusal

# C0 controls but tab and newline, DEL, C1 controls (the Unicode category Cc).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """``text`` without control characters: CR LF and a lone CR become LF; newlines and
    tabs stay, everything else in Unicode's Cc category (ESC, BEL, DEL, NUL …) goes."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """Something a person typed, fit to quote back: one line, no control characters,
    at most ``limit`` characters."""
    out = " ".join(clean_text(text).split())
    return out if len(out) <= limit else out[: limit - 1] + "…"
