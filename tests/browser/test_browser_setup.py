"""The browser fixture's rule: skip with the reason without Debian's chromium, but
fail under CI (which must run the browser tests, not skip them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import conftest


def test_without_chromium_it_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        conftest.chromium_path.__wrapped__()  # type: ignore[attr-defined]


def test_under_ci_a_missing_chromium_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI"):
        conftest.chromium_path.__wrapped__()  # type: ignore[attr-defined]
