"""The chain, the scaled latencies and the other constants every part shares."""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
clock = time.monotonic

PRIMARY = "gemini-3-pro-image"
FLASH = "gemini-nano-banana-2.1"
GPT = "gpt-image-2.6-sunburst"
CHAIN = (PRIMARY, FLASH, GPT)
SHORT = {PRIMARY: "pro", FLASH: "flash", GPT: "gpt"}

# Real answer times (catalogue: 20 s / 8 s / 25 s typical) scaled down, in proportion
# closer to what the vendors show at peak: (seconds, ± uniform jitter).
LATENCY = {PRIMARY: (0.8, 0.15), FLASH: (0.4, 0.08), GPT: (1.2, 0.2)}
ERROR_S = 0.04  # 503 / 429 answers come back fast
RETRY_AFTER_S = 2.0  # the RetryInfo delay in S4's 429s
IMAGE_PX = 64  # sandbox images are tiny: rendering must not eat the shared 2 cores
API_KEY = "bench-key-not-secret"

DOWN_KINDS = frozenset(
    {"overloaded", "overloaded_alt", "rate_limited", "server_error", "hang", "disconnect"}
)
IMPAIRED_KINDS = DOWN_KINDS | {"slow"}
STRATEGIES = ("router", "naive", "oracle")
