"""Small helpers for adapter tests: test images and ports."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import Callable

from PIL import Image

API_KEY = "test-key-Zq8uN3vX0pL7"  # distinctive, so a leak is easy to grep for


def png(width: int = 24, height: int = 16, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(width: int = 16, height: int = 24) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 30, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def closed_port() -> int:
    """A local port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(predicate: Callable[[], object], within: float = 2.0) -> None:
    """Wait (polling) until ``predicate()`` is true; fail after ``within`` seconds."""
    for _ in range(int(within / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")
