"""Serve the sandbox until SIGINT/SIGTERM.

    python -m adapters.sandbox --port 8765 --script faults.toml --latency gpt-image-2.6-sunburst=2.5

A script file is TOML::

    seed = 1                    # optional
    [models."gemini-3-pro-image"]
    latency = 2.0
    jitter = 0.5
    faults = [{ kind = "overloaded", start = 10, end = 40, probability = 0.5 }]
    [models."gemini-3-pro-image-preview"]   # serve an id the catalogue retired
    api = "gemini"
    [models."gpt-image-2"]
    shutdown_date = "2027-01-15"           # announced (or: offered = false, withdrawn)

The catalogue's models are served by default (``adapters/sandbox/models.py``).

Faults can also be set at run time: ``POST /_sandbox/script`` with
``{"model": ..., "faults": [...]}``; ``GET /_sandbox/calls`` lists the calls;
``POST /_sandbox/models`` offers and withdraws models (``adapters/sandbox/control.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters.sandbox.faults import Fault
from adapters.sandbox.server import Sandbox


def configure(sb: Sandbox, table: Mapping[str, Any]) -> None:
    """Apply a script table (the TOML shape above) to ``sb``."""
    for model, spec in table.get("models", {}).items():
        if spec.get("offered") is False:
            sb.withdraw(model)
        elif "api" in spec:
            sb.offer(model, str(spec["api"]), shutdown_date=spec.get("shutdown_date"))
        elif "shutdown_date" in spec:
            sb.set_shutdown(model, spec["shutdown_date"])
        if "latency" in spec:
            sb.set_latency(model, float(spec["latency"]), float(spec.get("jitter", 0.0)))
        if "faults" in spec:
            sb.script(model, [Fault.from_dict(f) for f in spec["faults"]])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m adapters.sandbox", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--image-px", type=int, default=256, help="long side of a 1K image")
    parser.add_argument("--script", type=Path, help="TOML fault script")
    parser.add_argument("--max-calls", type=int, default=20_000, help="calls kept in memory")
    parser.add_argument(
        "--latency",
        action="append",
        default=[],
        metavar="MODEL=SECONDS",
        help="repeatable; MODEL may be *",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    table: dict[str, Any] = {}
    if args.script is not None:
        table = tomllib.loads(args.script.read_text("utf-8"))
    seed = args.seed if args.seed is not None else int(table.get("seed", 0))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sandbox = Sandbox(
        seed=seed, image_px=args.image_px, host=args.host, port=args.port, max_calls=args.max_calls
    )
    async with sandbox as sb:
        configure(sb, table)
        for item in args.latency:
            model, _, seconds = item.partition("=")
            sb.set_latency(model, float(seconds))
        print(f"gemini_base_url={sb.gemini_base_url}", flush=True)
        print(f"openai_base_url={sb.openai_base_url}", flush=True)
        await stop.wait()
    print("sandbox stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
