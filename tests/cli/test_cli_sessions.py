"""Sessions and quotas through the CLI: every invocation is a new process."""

from tests.cli.conftest import SandboxProc

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"


def test_a_session_continues_across_processes(cli, sandbox_proc: SandboxProc) -> None:
    first = cli("imagine", "a red fox", "--session", "fox", "--json")
    assert first.code == 0, first.stderr
    assert first.json["session"] == "fox" and first.json["version"] == 1
    second = cli("imagine", "now give it a hat", "--session", "fox", "--json")
    assert second.code == 0 and second.json["version"] == 2
    calls = sandbox_proc.calls()
    assert calls[0]["turns"] == 1  # turn 1: just the prompt
    assert calls[1]["turns"] == 3  # turn 2 sends turn 1 back (user, model), then the edit
    other = cli("imagine", "a cat", "--session", "cat", "--json")
    assert other.json["version"] == 1  # another thread, another session


def test_edit_survives_gemini_outage_and_returns(cli, sandbox_proc: SandboxProc) -> None:
    assert cli("imagine", "a red fox", "--session", "s", "--json").json["model"] == PRO
    sandbox_proc.script(PRO, {"kind": "overloaded"})
    sandbox_proc.script(FLASH, {"kind": "overloaded"})
    backup = cli("imagine", "make it blue", "--session", "s", "--json")
    assert backup.code == 0, backup.stderr
    body = backup.json
    assert body["model"] == GPT and body["version"] == 2 and body["fallback"] is True
    edit = sandbox_proc.calls()[-1]
    assert edit["path"] == "/v1/images/edits" and len(edit["images"]) == 1  # the latest image
    sandbox_proc.script(PRO)
    sandbox_proc.script(FLASH)
    back = cli("imagine", "add a hat", "--session", "s", "--json")
    assert back.json["model"] == PRO and back.json["version"] == 3
    resumed = sandbox_proc.calls()[-1]
    assert resumed["api"] == "gemini" and resumed["turns"] == 3  # v1's exchange, then…
    assert len(resumed["images"]) == 1  # …the backup's v2 carried in as a user image


def test_daily_quota_refuses_without_calling_a_model(cli, sandbox_proc: SandboxProc) -> None:
    env = {"IMAGINE_DAILY_IMAGES_PER_GUILD": "2", "IMAGINE_USER_RATE": ""}
    for _ in range(2):
        assert cli("imagine", "x", "--guild", "team", "--json", **env).code == 0
    refused = cli("imagine", "x", "--guild", "team", "--json", **env)
    assert refused.code == 1
    body = refused.json
    assert body["error"] == "quota_exceeded"
    assert "daily images" in body["message"] and "2 of 2" in body["message"]
    assert "resets" in body["message"]
    assert len(sandbox_proc.calls()) == 2
    assert cli("imagine", "x", "--guild", "other", "--json", **env).code == 0  # per guild


def test_usage_and_no_charge_for_failures(cli, sandbox_proc: SandboxProc) -> None:
    assert cli("imagine", "x", "--guild", "team", "--user", "ana", "--json").code == 0
    sandbox_proc.script(PRO, {"kind": "overloaded"})
    assert cli("imagine", "x", "--guild", "team", "--user", "bo", "--json").code == 0
    for model in (FLASH, GPT):
        sandbox_proc.script(model, {"kind": "overloaded"})
    assert cli("imagine", "x", "--guild", "team", "--json").code == 1  # all failed: not billed
    usage = cli("usage", "--guild", "team", "--json")
    assert usage.code == 0
    body = usage.json
    assert body["images_today"] == 2 and body["reserved_usd"] == 0
    assert body["spent_usd"] == round(0.134 + 0.0336, 6)
    assert set(body["by_model"]) == {PRO, FLASH} and set(body["by_user"]) == {"ana", "bo"}
    text = cli("usage", "--guild", "team").stdout
    assert "2 images today" in text and "$0.168" in text
