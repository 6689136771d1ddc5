"""``/imagine a red fox in the snow --ar 16:9 --size 2K`` → prompt and options.

Options may come anywhere in the text, as ``--ar 16:9``, ``--ar=16:9`` or
``--aspect 16:9``; chat apps' "smart" dashes (``—ar``) are accepted too. An
unknown ``--option`` is refused with a message naming it (nothing is queued);
the values themselves are checked by ``bot.validate`` like any other input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import InputError

_FLAG = re.compile(r"(?:^|\s)(?:--|—|–)([A-Za-z][\w-]*)(?:=(\S+)|\s+(\S+))?")
_NAMES = {"ar": "aspect", "aspect": "aspect", "size": "size", "s": "size"}


@dataclass(frozen=True, slots=True)
class Parsed:
    prompt: str
    aspect: str | None = None
    size: str | None = None


def parse(text: str) -> Parsed:
    values: dict[str, str] = {}
    for match in _FLAG.finditer(text or ""):
        name = match.group(1).lower()
        if name not in _NAMES:
            raise InputError("bad_option", f"--{name}")
        value = match.group(2) or match.group(3)
        if not value:
            raise InputError("bad_option", f"--{name} (it needs a value)")
        values[_NAMES[name]] = value
    prompt = " ".join(_FLAG.sub(" ", text or "").split())
    return Parsed(prompt, values.get("aspect"), values.get("size"))
