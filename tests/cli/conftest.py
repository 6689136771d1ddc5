"""The CLI, end to end: each invocation is a new process (`python -m adapters.cli`)
using the real SDKs against the standalone sandbox process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-SECRET-0123456789"


@dataclass
class SandboxProc:
    gemini: str
    openai: str

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        req = urllib.request.Request(
            self.gemini + path, json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def script(self, model: str, *faults: dict[str, Any]) -> None:
        self._post("/_sandbox/script", {"model": model, "faults": list(faults)})

    def reset(self) -> None:
        self._post("/_sandbox/reset", {})

    def calls(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.gemini + "/_sandbox/calls", timeout=10) as resp:
            return json.loads(resp.read())


@pytest.fixture(scope="session")
def sandbox_proc() -> Iterator[SandboxProc]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters.sandbox", "--port", "0", "--image-px", "64"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        urls = dict(proc.stdout.readline().strip().split("=", 1) for _ in range(2))
        yield SandboxProc(urls["gemini_base_url"], urls["openai_base_url"])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli(sandbox_proc: SandboxProc, tmp_path: Path):  # type: ignore[no-untyped-def]
    sandbox_proc.reset()

    def run(*args: str, **env: str) -> Run:
        environ = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "GEMINI_API_KEY": KEY,
            "GEMINI_BASE_URL": sandbox_proc.gemini,
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": sandbox_proc.openai,
            "IMAGINE_DATA_DIR": str(tmp_path / "data"),
            **env,
        }
        environ = {k: v for k, v in environ.items() if v != "<unset>"}
        done = subprocess.run(
            [sys.executable, "-m", "adapters.cli", *args],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert KEY not in done.stdout and KEY not in done.stderr
        return Run(done.returncode, done.stdout, done.stderr)

    return run
