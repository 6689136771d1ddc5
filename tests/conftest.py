"""Test set-up shared by the whole suite: a hermetic environment.

No real key, endpoint or project from the developer's shell may leak into a
test (the vendor SDKs read these variables on their own).
"""

from __future__ import annotations

import pytest

from tests.databases import db_url, pg_url

__all__ = ["db_url", "pg_url"]  # fixtures: each store test runs on SQLite and PostgreSQL

VENDOR_ENV = (
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
)


def pytest_configure(config: pytest.Config) -> None:
    # google-genai subclasses aiohttp.ClientSession; aiohttp frowns on that. Not ours to fix.
    config.addinivalue_line(
        "filterwarnings", "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
    )
    # discord.py imports audioop for voice, which this bot never uses.
    config.addinivalue_line("filterwarnings", "ignore:'audioop' is deprecated:DeprecationWarning")


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VENDOR_ENV:
        monkeypatch.delenv(name, raising=False)
