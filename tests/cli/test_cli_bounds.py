"""Issue 13.7: every number a person can configure or type is bounded, with a clear
message — a configuration error naming the variable (exit 2), never a traceback — and
``--json`` output is always valid JSON (no ``Infinity`` / ``NaN``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.conftest import Run

LIMIT = "less than or equal to 1000000"
TOO_BIG = [
    ("IMAGINE_DAILY_IMAGES_PER_GUILD", "1e30", "valid integer"),
    ("IMAGINE_DAILY_IMAGES_PER_GUILD", "100000000000000000000", LIMIT),
    ("IMAGINE_MONTHLY_BUDGET_USD_PER_GUILD", "inf", "finite number"),
    ("IMAGINE_MONTHLY_BUDGET_USD_PER_GUILD", "1e300", LIMIT),
    ("IMAGINE_MONTHLY_BUDGET_USD_PER_GUILD", "nan", "finite number"),
    ("IMAGINE_WORKERS", "100000", "less than or equal to 1000"),
    ("IMAGINE_GUILD_CONCURRENCY", "9999999999999999999999", "less than or equal to 1000"),
    ("IMAGINE_MAX_HISTORY_MB", "inf", "finite number"),
    ("IMAGINE_DEADLINE_S", "1e300", "less than or equal to 3600"),
    ("IMAGINE_SHUTDOWN_GRACE_S", "1e300", "less than or equal to 86400"),
    ("IMAGINE_LEASE_S", "0.1", "greater than or equal to 1"),
    ("IMAGINE_DATABASE_POOL", "0", "greater than or equal to 1"),
    ("IMAGINE_DATABASE_POOL", "1000", "less than or equal to 100"),
]


def strict(text: str) -> Any:
    """json.loads that refuses NaN / Infinity (which are not JSON)."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def assert_clean(run: Run) -> None:
    assert "Traceback" not in run.stderr and "OverflowError" not in run.stderr + run.stdout


@pytest.mark.parametrize(("name", "value", "says"), TOO_BIG)
def test_huge_settings_are_a_config_error_naming_the_variable(cli, name, value, says) -> None:
    for args in (("usage", "--json"), ("imagine", "a fox", "--json")):
        run = cli(*args, **{name: value})
        assert_clean(run)
        assert run.code == 2, (args, run.stdout, run.stderr)
        body = strict(run.stdout)
        assert body["error"] == "misconfigured"
        assert name in body["message"] and says in body["message"], body["message"]
    run = cli("run", **{name: value})  # `imagine-bot run` refuses to start the same way
    assert run.code == 2 and name in run.stderr and says in run.stderr
    assert_clean(run)


def test_usage_json_at_the_largest_limits_is_valid_json(cli) -> None:
    env = {
        "IMAGINE_DAILY_IMAGES_PER_GUILD": "1000000",
        "IMAGINE_MONTHLY_BUDGET_USD_PER_GUILD": "1000000",
    }
    made = cli("imagine", "a fox", "--json", **env)
    assert made.code == 0, made.stderr
    run = cli("usage", "--json", **env)
    assert run.code == 0, run.stderr
    body = strict(run.stdout)
    assert body["limits"] == {"daily_images": 1_000_000, "monthly_budget_usd": 1_000_000}
    assert body["images_today"] == 1


def test_demo_numbers_are_bounded(cli) -> None:
    for args in (("--outage", "inf"), ("--requests", "1e30"), ("--overload", "nan")):
        run = cli("demo", *args)
        assert run.code == 2 and "error: argument" in run.stderr, args
        assert_clean(run)


SHARDS = [  # issue 14: Discord's shard settings, checked before anything starts
    ({"DISCORD_SHARD_IDS": "2", "DISCORD_SHARD_COUNT": "2"}, "DISCORD_SHARD_IDS must be from 0"),
    ({"DISCORD_SHARD_IDS": "0"}, "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
    (
        {"DISCORD_SHARD_IDS": "abc", "DISCORD_SHARD_COUNT": "2"},
        "DISCORD_SHARD_IDS must be a comma list",
    ),
    ({"DISCORD_SHARD_COUNT": "1e9"}, "DISCORD_SHARD_COUNT must be a whole number from 1"),
]


@pytest.mark.parametrize(("env", "says"), SHARDS)
def test_bad_discord_shard_settings_stop_run_and_fail_doctor(cli, env, says) -> None:
    token = {"DISCORD_TOKEN": "not-a-real-token"}
    run = cli("run", **token, **env)
    assert run.code == 1 and f"error: {says}" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1  # one line, nothing started
    assert_clean(run)
    doctor = cli("doctor", **token, **env)
    assert doctor.code == 1 and f"Discord: {says}" in doctor.stdout


def test_doctor_says_which_shards_run_here(cli) -> None:
    token = {"DISCORD_TOKEN": "not-a-real-token"}
    assert "shards as Discord recommends" in cli("doctor", **token).stdout
    mine = cli("doctor", **token, DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="3,1")
    assert "shards 1,3 of 4 in this process" in mine.stdout
