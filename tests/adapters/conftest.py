"""Fixtures for adapter tests: a sandbox on 127.0.0.1 and providers pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from google import genai
from google.genai import types

from adapters.providers import GeminiProvider, OpenAIImagesProvider
from adapters.sandbox import Sandbox
from bot.catalog import Catalog, ModelSpec, load_catalog
from tests.adapters.helpers import API_KEY


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def gemini_model(catalog: Catalog) -> ModelSpec:
    return catalog.models["gemini-3-pro-image"]


@pytest.fixture
def openai_model(catalog: Catalog) -> ModelSpec:
    return catalog.models["gpt-image-2.6-sunburst"]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=0, image_px=64) as sb:
        yield sb


@pytest.fixture
async def gemini(sandbox: Sandbox) -> AsyncIterator[GeminiProvider]:
    provider = GeminiProvider("google", api_key=API_KEY, base_url=sandbox.gemini_base_url)
    yield provider
    await provider.aclose()


@pytest.fixture
async def openai_images(sandbox: Sandbox) -> AsyncIterator[OpenAIImagesProvider]:
    provider = OpenAIImagesProvider("openai", api_key=API_KEY, base_url=sandbox.openai_base_url)
    yield provider
    await provider.aclose()


@pytest.fixture
async def google(sandbox: Sandbox) -> AsyncIterator[genai.Client]:
    options = types.HttpOptions(base_url=sandbox.gemini_base_url, api_version="v1beta")
    client = genai.Client(api_key=API_KEY, http_options=options)
    yield client
    await client.aio.aclose()


@pytest.fixture
async def oai(sandbox: Sandbox) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(base_url=sandbox.openai_base_url, api_key=API_KEY, max_retries=0)
    yield client
    await client.close()
