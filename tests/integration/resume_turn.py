"""The next turn of a stored thread, made by a fresh process (for test_session_resume).

    python -m tests.integration.resume_turn DB_URL GEMINI_BASE_URL MODEL PROMPT

Loads the thread from SQLite, asks Gemini (the sandbox) for the next image with
the stored history, appends the exchange and prints ``OK v<version>``.
"""

from __future__ import annotations

import asyncio
import sys

from adapters.providers import GeminiProvider
from bot.catalog import load_catalog
from bot.sessions import SessionStore, ThreadKey
from bot.store import Store
from tests.adapters.helpers import API_KEY

KEY = ThreadKey("discord", "guild-1", "chan-1", "thread-1")


async def main(db_url: str, base_url: str, model_id: str, prompt: str) -> None:
    model = load_catalog().models[model_id]
    async with await Store.open(db_url) as store:
        sessions = SessionStore(store)
        async with sessions.lock(KEY):
            session = await sessions.load(KEY)
            if session is None:
                raise SystemExit("no stored session")
            request = session.next_request(
                prompt=prompt, aspect_ratio=session.config.get("aspect_ratio")
            )
            provider = GeminiProvider("google", api_key=API_KEY, base_url=base_url)
            try:
                image = await provider.generate(model=model, request=request)
            finally:
                await provider.aclose()
            result = await sessions.append(
                KEY,
                model=model_id,
                config=session.config,
                turns=image.turns,
                image=(image.data, image.mime_type),
            )
    print(f"OK v{result.version}")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
