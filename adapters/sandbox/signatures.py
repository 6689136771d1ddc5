"""Thought signatures bound to the sandbox, the model and the API key.

A signature is opaque bytes to a client. Here it is ``MAGIC | counter | MAC |
TAIL`` where the MAC (HMAC-SHA256, keyed by the sandbox's seed) covers the
model id, a hash of the API key the answer was made for, and the counter. So
the same seed, model, key and counter always give the same signature (two
sandboxes with one seed agree byte for byte), and the sandbox can tell its own
signatures from foreign ones: another model's, another key's, another seed's,
or made-up bytes. Gemini answers those with 400 "Corrupted thought signature."
(github.com/google-gemini/gemini-cli/issues/13467). A history without
signatures is accepted (Gemini 3 Pro Image does not reject missing ones).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

MAGIC = b"sbx1"
MAC_BYTES = 18  # MAGIC + counter + MAC = 30 bytes: TAIL starts a fresh base64 quantum
TAIL = b"\xfb\xff\xfe"  # "+//+" in standard base64, "-__-" URL-safe: both alphabets matter
SIZE = len(MAGIC) + 8 + MAC_BYTES + len(TAIL)
CORRUPTED = "Corrupted thought signature."


def key_digest(api_key: str) -> bytes:
    """What a signature remembers of the key: its SHA-256, never the key."""
    return hashlib.sha256(api_key.encode()).digest()


class Signer:
    """Makes and checks one sandbox's signatures (keyed by its seed)."""

    def __init__(self, seed: int) -> None:
        self._secret = hashlib.sha256(f"imagine-sandbox-thought-signature:{seed}".encode()).digest()

    def _mac(self, model: str, digest: bytes, counter: int) -> bytes:
        message = b"\0".join([model.encode(), digest, counter.to_bytes(8, "big")])
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:MAC_BYTES]

    def make(self, model: str, counter: int, digest: bytes) -> bytes:
        """The raw signature for answer ``counter`` of ``model`` to the key with ``digest``."""
        counter_bytes = counter.to_bytes(8, "big")
        return MAGIC + counter_bytes + self._mac(model, digest, counter) + TAIL

    def make_b64(self, model: str, counter: int, digest: bytes) -> str:
        return base64.b64encode(self.make(model, counter, digest)).decode("ascii")

    def verify(self, raw: bytes, model: str, digest: bytes) -> bool:
        """True if this sandbox made ``raw`` for ``model`` and the key with ``digest``."""
        if len(raw) != SIZE or not raw.startswith(MAGIC) or not raw.endswith(TAIL):
            return False
        counter = int.from_bytes(raw[len(MAGIC) : len(MAGIC) + 8], "big")
        mac = raw[len(MAGIC) + 8 : len(MAGIC) + 8 + MAC_BYTES]
        return hmac.compare_digest(mac, self._mac(model, digest, counter))


def signatures_in(contents: Any) -> Iterator[tuple[str, Any]]:
    """``(where, value)`` for every thought signature in ``contents`` (either spelling).

    ``where`` is the field path Google names in its errors, e.g.
    ``contents[1].parts[2].thought_signature``.
    """
    if not isinstance(contents, list):
        return
    for i, content in enumerate(contents):
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list):
            continue
        for j, part in enumerate(parts):
            if not isinstance(part, dict):
                continue
            for name in ("thoughtSignature", "thought_signature"):
                if name in part:
                    yield f"contents[{i}].parts[{j}].thought_signature", part[name]
