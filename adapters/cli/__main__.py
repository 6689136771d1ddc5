"""``imagine-bot``: the command line, a platform like Slack and Discord.

    imagine-bot imagine "prompt" [--aspect 16:9] [--size 2K] [--ref PATH]... [--out PATH] [--json]
    imagine-bot status [--json]     each model's 🟢/🟡/🔴 state
    imagine-bot usage [--guild G]   images and spend per model and user
    imagine-bot doctor [--json]     keys, chain, catalogue, shutdowns, stored old ids
    imagine-bot models [--json]     the catalogue, what each channel offers, shutdown dates
    imagine-bot demo                watch failover against the local sandbox (no keys)
    imagine-bot run                 the chat bot (Slack and/or Discord)

Exit codes: 0 success, 1 a failed generation (or failed check), 2 a usage error.

The parts come from the composition root (``adapters/app.py``), imported only once
the arguments are read: a usage error loads no vendor SDK.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from pydantic import ValidationError

from adapters.cli.commands import EXIT_FAILED, EXIT_USAGE, Output, Wiring, imagine, status
from adapters.cli.doctor import doctor
from adapters.cli.models import models
from adapters.cli.usage import usage
from adapters.logs import setup_logging
from bot.config import Settings
from bot.domain import SIZES
from bot.errors import ConfigError


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 2; with --json they are a JSON object too."""

    def error(self, message: str) -> NoReturn:
        if "--json" in sys.argv:
            print(json.dumps({"ok": False, "error": "usage", "message": message}))
            raise SystemExit(EXIT_USAGE)
        super().error(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="imagine-bot", description="Make images with failover between models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    img = sub.add_parser("imagine", help="make one image")
    img.add_argument("prompt")
    img.add_argument("--aspect", help="aspect ratio, e.g. 16:9")
    img.add_argument("--size", type=str.upper, choices=SIZES, help="1K, 2K or 4K")
    img.add_argument(
        "--ref", action="append", default=[], metavar="PATH", help="reference image (repeatable)"
    )
    img.add_argument("--out", metavar="PATH", help="where to write the image")
    img.add_argument("--json", action="store_true", help="print one JSON object")
    img.add_argument(
        "--session", metavar="NAME", help="continue (or start) a named editing session across runs"
    )
    img.add_argument("--guild", default="cli", help="quota identity: the workspace")
    img.add_argument("--user", default="cli", help="quota identity: the user")
    use = sub.add_parser("usage", help="images and spend per model and user, with limits")
    use.add_argument("--guild", default="cli")
    use.add_argument("--json", action="store_true")
    for name, text in (
        ("status", "each model's state"),
        ("doctor", "check the set-up"),
        ("models", "the catalogue, what each channel offers, shutdown dates, the chain"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--json", action="store_true")
    sub.add_parser("run", help="run the chat bot")
    demo = sub.add_parser("demo", help="watch failover against the local sandbox (no keys)")
    demo.add_argument("--requests", type=bounded(int, 1, 1_000), default=30)
    demo.add_argument(
        "--overload", type=bounded(float, 0, 1), default=0.45, help="share of primary 503s"
    )
    demo.add_argument(
        "--outage", type=bounded(float, 0, 600), default=4.0, help="seconds fully down (0: none)"
    )
    demo.add_argument("--out", default="out/demo", metavar="DIR")
    return p


def bounded(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number from ``low`` to ``high`` (else a usage error, 2)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:  # NaN fails too
            raise argparse.ArgumentTypeError(f"give {low:g} to {high:,g}, not {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _wiring() -> Wiring:
    from adapters.app import build_router, open_app  # SDK-backed: only when needed

    return Wiring(router=build_router, app=open_app)


async def _dispatch(args: Any, settings: Settings) -> int:
    out = Output(json_mode=getattr(args, "json", False))
    commands = {
        "imagine": imagine,
        "status": status,
        "doctor": doctor,
        "usage": usage,
        "models": models,
    }
    if args.command in commands:
        return await commands[args.command](args, settings, _wiring(), out)
    if args.command == "demo":
        from pathlib import Path

        from adapters.cli.demo import demo

        return await demo(
            requests=args.requests,
            overload=args.overload,
            outage_s=args.outage,
            out_dir=Path(args.out),
        )
    from adapters.app import run

    return await run(settings)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        return _config_error(args, _invalid(exc), EXIT_USAGE)
    setup_logging(settings)
    try:
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        return _config_error(args, str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        return 130


def _invalid(exc: ValidationError) -> str:
    """Which settings are wrong and what they must be, e.g. *IMAGINE_WORKERS: input should
    be less than or equal to 1000* (pydantic's words name the limit, never the value)."""
    bad = [
        f"{str(e['loc'][0]).upper()}: {e['msg'][:1].lower()}{e['msg'][1:]}"
        for e in exc.errors()
        if e["loc"]
    ]
    return f"invalid setting — {'; '.join(bad)} (see .env.example)"


def _config_error(args: Any, message: str, code: int) -> int:
    """Configuration problems are the admin's to fix: say exactly what (no secrets in it)."""
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": "misconfigured", "message": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
