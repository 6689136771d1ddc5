import io
import json
from pathlib import Path

from PIL import Image

from tests.cli.conftest import SandboxProc

PRO, FLASH, GPT = "gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst"


def test_imagine_json_success(cli, tmp_path: Path) -> None:
    out = tmp_path / "fox.png"
    run = cli("imagine", "a red fox in snow", "--aspect", "16:9", "--out", str(out), "--json")
    assert run.code == 0, run.stderr
    body = run.json
    assert body["ok"] is True and body["model"] == PRO and body["fallback"] is False
    assert body["notices"] == [] and body["cost_usd"] == 0.134 and body["path"] == str(out)
    assert [(a["model"], a["outcome"]) for a in body["attempts"]] == [(PRO, "ok")]
    assert isinstance(body["attempts"][0]["latency_ms"], int)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width > img.height  # 16:9 honoured


def test_backup_model_is_named_with_the_reason(cli, sandbox_proc: SandboxProc) -> None:
    sandbox_proc.script(PRO, {"kind": "overloaded"})
    run = cli("imagine", "a red fox", "--json")
    assert run.code == 0, run.stderr
    body = run.json
    assert body["model"] == FLASH and body["fallback"] is True
    assert body["notices"] == [f"Made with backup model {FLASH} — {PRO} is overloaded (503)."]
    assert [(a["model"], a["outcome"]) for a in body["attempts"]] == [
        (PRO, "overloaded"),
        (FLASH, "ok"),
    ]
    assert Path(body["path"]).is_file()


def test_plain_output_is_for_people(cli, sandbox_proc: SandboxProc) -> None:
    sandbox_proc.script(PRO, {"kind": "overloaded"})
    run = cli("imagine", "a red fox")
    assert run.code == 0
    assert run.stdout.startswith("Saved out/imagine-")
    assert f"Made with backup model {FLASH}" in run.stdout


def test_safety_block_stops_without_failover(cli, sandbox_proc: SandboxProc) -> None:
    sandbox_proc.script(PRO, {"kind": "image_safety"})
    run = cli("imagine", "something unsafe", "--json")
    assert run.code == 1
    body = run.json
    assert body["ok"] is False and body["error"] == "safety_blocked"
    assert "rephras" in body["message"] and "IMAGE_SAFETY" not in body["message"]
    assert {c["model"] for c in sandbox_proc.calls()} == {PRO}


def test_all_models_failed(cli, sandbox_proc: SandboxProc) -> None:
    for model in (PRO, FLASH, GPT):
        sandbox_proc.script(model, {"kind": "overloaded"})
    run = cli("imagine", "a red fox", "--json")
    assert run.code == 1
    body = run.json
    assert body["error"] == "all_models_failed" and "retry" in body["message"]
    assert [a["outcome"] for a in body["attempts"]] == ["overloaded"] * 3


def test_usage_errors_exit_2_and_call_nothing(cli, sandbox_proc: SandboxProc, tmp_path) -> None:
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    cases = [
        (("imagine", "   ", "--json"), "invalid_input", "empty"),
        (("imagine", "x", "--aspect", "wide", "--json"), "invalid_input", "Aspect ratio"),
        (("imagine", "x", "--ref", str(not_image), "--json"), "invalid_input", "isn't a PNG"),
        (("imagine", "x", "--ref", "missing.png", "--json"), "invalid_input", "doesn't exist"),
        (("imagine", "x", "--size", "8K", "--json"), "usage", "invalid choice"),
    ]
    for args, error, words in cases:
        run = cli(*args)
        assert run.code == 2, args
        assert run.json["error"] == error and words in run.json["message"], run.json
    assert sandbox_proc.calls() == []


def test_reference_image_makes_an_edit(cli, sandbox_proc: SandboxProc, tmp_path) -> None:
    ref = tmp_path / "cat.png"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buf, "PNG")
    ref.write_bytes(buf.getvalue())
    run = cli("imagine", "give the cat a hat", "--ref", str(ref), "--json")
    assert run.code == 0, run.stderr
    (call,) = sandbox_proc.calls()
    assert call["images"] == [{"mime_type": "image/png", "bytes": len(buf.getvalue())}]


def test_a_shut_down_id_in_the_env_is_served_by_its_successor(
    cli, sandbox_proc: SandboxProc
) -> None:
    run = cli("imagine", "x", "--json", IMAGINE_MODELS=f"gpt-image-1.5,{FLASH}")
    assert run.code == 0, run.stderr
    assert run.json["model"] == GPT  # gpt-image-1.5 → gpt-image-2.6-sunburst
    assert [c["model"] for c in sandbox_proc.calls()] == [GPT]  # the old id never on the wire
    warning = f"'gpt-image-1.5' was shut down on 2026-12-01; its successor '{GPT}' is used"
    assert run.stderr.count(warning) == 1


def test_status_remembers_an_outage_between_runs(cli, sandbox_proc: SandboxProc) -> None:
    sandbox_proc.script(PRO, {"kind": "overloaded"})
    for _ in range(4):
        assert cli("imagine", "x", "--json").code == 0
    run = cli("status", "--json")
    assert run.code == 0
    body = run.json
    states = {m["model"]: m["state"] for m in body["models"]}
    assert states == {PRO: "down", FLASH: "normal", GPT: "normal"}
    assert body["primary"] == FLASH and body["online"] == 2 and body["total"] == 3
    text = cli("status").stdout
    assert f"🔴 {PRO}" in text and "(overloaded)" in text


def test_misconfigured_key_is_reported_without_the_key(cli, sandbox_proc) -> None:
    sandbox_proc.script(PRO, {"kind": "unauthorized"})
    run = cli("imagine", "x", "--json")
    assert run.code == 0 and run.json["model"] == FLASH
    assert "misconfigured" in run.stderr  # the admin sees why; the key itself never shows


def test_doctor(cli) -> None:
    good = cli("doctor", "--json")
    assert good.code == 0 and good.json["ok"] is True
    bad = cli("doctor", GEMINI_API_KEY="<unset>", OPENAI_API_KEY="<unset>")
    assert bad.code == 1
    assert "GEMINI_API_KEY is not set" in bad.stdout and "no usable model" in bad.stdout


def test_doctor_says_which_chat_platforms_would_start(cli) -> None:
    token = "xoxb-not-a-real-token-1234567890"
    assert "no chat platform configured" in cli("doctor").stdout
    socket = cli("doctor", SLACK_BOT_TOKEN=token, SLACK_APP_TOKEN="xapp-1-abc")
    assert "Slack: Socket Mode" in socket.stdout and token not in socket.stdout
    half = cli("doctor", SLACK_BOT_TOKEN=token)
    assert half.code == 1 and "neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET" in half.stdout
    both = cli(
        "doctor", "--json", SLACK_BOT_TOKEN=token, SLACK_SIGNING_SECRET="s", DISCORD_TOKEN="d"
    )
    said = [c["message"] for c in both.json["checks"]]
    assert any("HTTP mode" in m for m in said) and any("Discord" in m for m in said)


def test_no_keys_means_a_clear_failure(cli) -> None:
    run = cli("imagine", "x", "--json", GEMINI_API_KEY="<unset>", OPENAI_API_KEY="<unset>")
    assert run.code == 1 and run.json["error"] == "misconfigured"
    assert "doctor" in run.json["message"]


def test_relay_channel_and_relay_model_from_config(cli, sandbox_proc, tmp_path) -> None:
    config = tmp_path / "imagine.toml"
    config.write_text(
        f'chain = ["{PRO}", "seedream-4.5"]\n'
        f'[channels.relay]\nkind = "openai"\nbase_url = "{sandbox_proc.openai}"\n'
        'api_key_env = "RELAY_API_KEY"\n'
        f'[channels.gemini-relay]\nkind = "gemini"\nbase_url = "{sandbox_proc.gemini}"\n'
        'api_key_env = "RELAY_API_KEY"\n'
        f'[models."{PRO}"]\nchannels = ["google", "gemini-relay"]\n'
    )
    env = {"IMAGINE_CONFIG": str(config), "RELAY_API_KEY": "relay-key"}
    # Google direct is overloaded; the same model through the relay channel answers.
    sandbox_proc.script(PRO, {"kind": "overloaded", "first_n": 1})
    run = cli("imagine", "x", "--json", **env)
    assert run.code == 0, run.stderr
    body = run.json
    assert body["model"] == PRO and body["fallback"] is False
    assert [(a["channel"], a["outcome"]) for a in body["attempts"]] == [
        ("google", "overloaded"),
        ("gemini-relay", "ok"),
    ]
    # Both channels down: the relay model (OpenAI-compatible) serves, as data not code.
    sandbox_proc.script(PRO, {"kind": "overloaded"})
    run = cli("imagine", "x", "--json", **env)
    assert run.json["model"] == "seedream-4.5" and run.json["cost_usd"] == 0.04
    assert sandbox_proc.calls()[-1]["path"] == "/v1/images/generations"


def test_demo_runs_offline(cli, tmp_path) -> None:
    run = cli(
        "demo",
        "--requests",
        "4",
        "--outage",
        "0",
        "--overload",
        "0",
        GEMINI_API_KEY="<unset>",
        OPENAI_API_KEY="<unset>",
    )
    assert run.code == 0, run.stderr
    assert run.stdout.count("gemini-3-pro-image:ok") == 4
    assert len(list((tmp_path / "out" / "demo").glob("*.png"))) == 4


def test_bad_settings_and_config_are_clear_messages(cli, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    for text in (
        "models = 5\n",
        '[models."x"]\napi = "openai"\nchannels = ["openai"]\nprice = 5\n',
        '[models."gpt-image-2.6-sunburst"]\nretired = "soon"\n',
    ):
        bad.write_text(text)
        for command in ("imagine", "status", "doctor"):
            args = (command, "x", "--json") if command == "imagine" else (command, "--json")
            run = cli(*args, IMAGINE_CONFIG=str(bad))
            assert run.code == 1, (text, command, run.stderr)
            assert "Traceback" not in run.stderr
            body = run.json
            assert body["ok"] is False or any(c["level"] == "fail" for c in body["checks"])
    run = cli("status", "--json", IMAGINE_LOG_LEVEL="verbose")
    assert run.code == 2 and run.json["error"] == "misconfigured"
    assert "IMAGINE_LOG_LEVEL" in run.json["message"]


def test_unusable_out_path(cli, sandbox_proc: SandboxProc, tmp_path) -> None:
    run = cli("imagine", "x", "--out", str(tmp_path), "--json")
    assert run.code == 2 and "directory" in run.json["message"]
    assert sandbox_proc.calls() == []  # refused before anything was spent
    run = cli("imagine", "x", "--out", "/proc/nope/x.png", "--json")
    assert run.code == 1 and run.json["error"] == "invalid_input"
    assert "couldn't be saved" in run.json["message"] and "Traceback" not in run.stderr


def test_status_survives_a_torn_history_file(cli, tmp_path) -> None:
    history = tmp_path / "data" / "attempts.jsonl"
    history.parent.mkdir(parents=True)
    history.write_bytes(
        b'{"t": 1e400, "model": "gemini-3-pro-image", "channel": "google",'
        b' "outcome": "ok", "latency_ms": 5}\n'
        b'{"t": 1, "latency_ms": null}\n\xff\xfe garbage\n{"t": 2, "model": "x"'
    )
    run = cli("status", "--json")
    assert run.code == 0 and run.json["online"] == 3


def test_a_dotenv_copied_from_the_example_works(cli, tmp_path) -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    (tmp_path / ".env").write_text(example.read_text())
    run = cli("imagine", "x", "--json")  # keys come from the environment, the rest from .env
    assert run.code == 0, run.stderr
    assert (tmp_path / "data" / "imagine.db").is_file()
    bare = cli("doctor", GEMINI_API_KEY="<unset>", OPENAI_API_KEY="<unset>")
    assert bare.code == 1 and "Traceback" not in bare.stderr
    assert "GEMINI_API_KEY is not set" in bare.stdout


def test_doctor_names_the_playground_and_an_unguarded_bind(cli) -> None:
    alone = cli("doctor")
    assert alone.code == 0 and "Playground: served at http://127.0.0.1:8080/" in alone.stdout
    off = cli("doctor", IMAGINE_PLAYGROUND="off")
    assert "Playground" not in off.stdout and "no chat platform configured" in off.stdout
    open_bind = cli("doctor", IMAGINE_HTTP_HOST="0.0.0.0")
    assert open_bind.code == 1 and "IMAGINE_WEB_TOKEN" in open_bind.stdout
    token = "a-long-random-web-token-0123456789"
    guarded = cli("doctor", IMAGINE_HTTP_HOST="0.0.0.0", IMAGINE_WEB_TOKEN=token)
    assert guarded.code == 0 and token not in guarded.stdout


def test_doctor_on_postgresql(cli, pg_url: str) -> None:
    """A reachable server is used (migrated, read); an unreachable one is a failed check
    that names host and database, never the URL's password."""
    assert cli("doctor", "--json", IMAGINE_DATABASE_URL=pg_url).json["ok"] is True
    down = cli("doctor", IMAGINE_DATABASE_URL="postgresql://bot:hunter2@127.0.0.1:1/imagine")
    assert down.code == 1 and "cannot reach PostgreSQL at 127.0.0.1:1/imagine" in down.stdout
    assert "hunter2" not in down.stdout + down.stderr


def test_doctor_checks_redis_when_it_is_configured(cli) -> None:
    up = cli("doctor", IMAGINE_REDIS_URL="redis://:hunter2-secret@127.0.0.1:6379/0")
    assert "Redis at 127.0.0.1:6379/0: answers" in up.stdout and "hunter2" not in up.stdout
    down = cli("doctor", IMAGINE_REDIS_URL="redis://:hunter2-secret@127.0.0.1:1/0")
    assert down.code == 1 and "Redis at 127.0.0.1:1/0: no answer" in down.stdout
    assert "hunter2" not in down.stdout + down.stderr


def test_a_bad_rpm_stops_with_one_clear_line(cli, tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    for value in ("-1", '"x"', "1e30"):
        bad.write_text(f"[channels.google]\nrpm = {value}\n")
        run = cli("status", "--json", IMAGINE_CONFIG=str(bad))
        assert run.code == 1 and "Traceback" not in run.stderr, run.stderr
        assert "channel 'google': rpm must be a whole number" in json.dumps(run.json), value
