"""The container files: the Dockerfile runs the bot as a non-root user with /healthz as
its health check, and compose.yaml validates (with ``docker-compose`` / ``docker compose``
where one is installed; no Docker engine is needed for ``config``, and none runs here —
the image build itself is checked wherever one does)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_dockerfile_runs_the_bot_unprivileged_with_a_health_check() -> None:
    text = (ROOT / "Dockerfile").read_text()
    final = text[text.rindex("FROM ") :]  # the runtime stage
    assert "USER imagine" in final and "USER root" not in final
    assert "/healthz" in final and "HEALTHCHECK" in final
    assert 'ENTRYPOINT ["imagine-bot"]' in final and 'CMD ["run"]' in final
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv", "data"} <= set(ignored)  # no secrets or databases in it


def _compose() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):  # a docker without the compose plugin does not count
        found = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if found.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_validates_and_needs_a_web_token(tmp_path: Path) -> None:
    tool = _compose()
    if tool is None:
        reason = "no docker-compose or docker compose here: apt-get install docker-compose"
        if os.environ.get("CI"):
            pytest.fail(reason + " (.ci/run installs it)", pytrace=False)
        pytest.skip(reason)
    (tmp_path / ".env").write_text("")
    compose = str(ROOT / "compose.yaml")
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", "IMAGINE_WEB_TOKEN": "a-long-test-token"}
    ok = subprocess.run(
        [*tool, "-f", compose, "--project-directory", str(tmp_path), "config", "-q"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    env.pop("IMAGINE_WEB_TOKEN")
    refused = subprocess.run(
        [*tool, "-f", compose, "--project-directory", str(tmp_path), "config", "-q"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert refused.returncode != 0 and "IMAGINE_WEB_TOKEN" in refused.stderr
