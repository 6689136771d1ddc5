from datetime import date
from pathlib import Path

import pytest

from bot.catalog import load_catalog, parse_aspect
from bot.config import Settings
from bot.errors import ConfigError

TODAY = date(2026, 12, 7)
CURRENT = ("gemini-3-pro-image", "gemini-nano-banana-2.1", "gpt-image-2.6-sunburst")


def test_default_chain_is_made_of_current_models() -> None:
    cat = load_catalog()
    assert cat.chain == CURRENT
    assert cat.resolved_chain(TODAY) == CURRENT  # no alias in the default
    for model_id in cat.chain:
        spec = cat.models[model_id]
        assert not spec.is_retired(TODAY) and spec.status == "ga"
        assert spec.checked == TODAY and spec.source and spec.source.startswith("https://")
    assert cat.chain_warnings(TODAY) == []
    pro = cat.models["gemini-3-pro-image"]
    assert pro.price_for("2K") == 0.134 and pro.price_for("4K") == 0.24
    lite = cat.models["gemini-3.1-flash-lite-image"]
    assert lite.fit_size("4K") == "1K" and lite.thinking == ("minimal", "high")
    assert cat.models["gpt-image-2.6-sunburst"].pixel_sizes


def test_every_shut_down_default_resolves_to_its_successor() -> None:
    cat = load_catalog()
    assert cat.resolve("gemini-3-pro-image-preview", TODAY) == "gemini-3-pro-image"
    assert cat.resolve("gemini-2.5-flash-image", TODAY) == "gemini-nano-banana-2.1"
    assert cat.resolve("gpt-image-1.5", TODAY) == "gpt-image-2.6-sunburst"
    assert cat.resolve("gpt-image-1-mini", TODAY) == "gpt-image-2.6-flare"
    assert cat.resolve("dall-e-3", TODAY) == "gpt-image-2.5-sunburst"
    assert cat.resolve("gemini-9-ultra", TODAY) == "gemini-9-ultra"  # unknown: left alone
    for old in cat.retired:  # every alias lands on a live model
        assert cat.resolve(old, TODAY) in cat.live_ids(TODAY)


def test_retired_and_unknown_models_warn_with_a_successor() -> None:
    cat = load_catalog(chain=["gpt-image-1", "gemini-3-pro-image-preview", "gemini-9-ultra"])
    assert cat.resolved_chain(TODAY) == (
        "gpt-image-2.5-sunburst",
        "gemini-3-pro-image",
        "gemini-9-ultra",
    )
    warnings = cat.chain_warnings(TODAY)
    assert warnings[0] == (
        "model 'gpt-image-1' was shut down on 2026-10-23; "
        "its successor 'gpt-image-2.5-sunburst' is used instead"
    )
    assert "'gemini-3-pro-image-preview' was shut down on 2026-06-25" in warnings[1]
    assert "not in the catalogue" in warnings[2] and "gemini-nano-banana-2.1" in warnings[2]
    assert len(warnings) == 3


def test_a_model_shut_down_by_date_resolves_once_the_date_passes(tmp_path: Path) -> None:
    overlay = tmp_path / "imagine.toml"
    overlay.write_text('[models."gemini-3.1-flash-image"]\nretired = "2026-12-20"\n')
    cat = load_catalog(overlay)
    assert cat.resolve("gemini-3.1-flash-image", TODAY) == "gemini-3.1-flash-image"
    later = date(2026, 12, 21)
    assert cat.resolve("gemini-3.1-flash-image", later) == "gemini-nano-banana-2.1"


def test_an_old_id_in_imagine_config_resolves_with_one_warning(tmp_path: Path) -> None:
    overlay = tmp_path / "imagine.toml"
    overlay.write_text('chain = ["gemini-2.5-flash-image", "gpt-image-2.6-sunburst"]\n')
    cat = load_catalog(overlay)
    assert cat.resolved_chain(TODAY) == ("gemini-nano-banana-2.1", "gpt-image-2.6-sunburst")
    assert cat.chain_warnings(TODAY) == [
        "model 'gemini-2.5-flash-image' was shut down on 2026-10-02; "
        "its successor 'gemini-nano-banana-2.1' is used instead"
    ]


def test_an_operator_model_table_wins_over_a_retired_entry(tmp_path: Path) -> None:
    overlay = tmp_path / "imagine.toml"
    overlay.write_text(
        '[models."gemini-2.5-flash-image"]\napi = "gemini"\nchannels = ["google"]\n'
        'edit = true\nmulti_turn = true\nprice = { "1K" = 0.039 }\n'
    )
    cat = load_catalog(overlay, chain=["gemini-2.5-flash-image"])
    assert cat.resolve("gemini-2.5-flash-image", TODAY) == "gemini-2.5-flash-image"
    assert cat.chain_warnings(TODAY) == []


def test_overlay_adds_channels_and_relay_models(tmp_path: Path) -> None:
    overlay = tmp_path / "imagine.toml"
    overlay.write_text(
        'chain = ["gemini-3-pro-image", "seedream-4.5", "my-model"]\n'
        '[channels.relay]\nkind = "openai"\nbase_url = "https://relay.test/v1"\n'
        'api_key_env = "RELAY_API_KEY"\n'
        '[models."gemini-3-pro-image"]\nchannels = ["google", "relay-g"]\n'
        '[channels.relay-g]\nkind = "gemini"\nbase_url = "https://g.test"\n'
        '[models."my-model"]\napi = "openai"\nchannels = ["relay"]\nsizes = ["1K", "2K"]\n'
        'price = { "1K" = 0.03, "2K" = 0.05 }\n'
    )
    cat = load_catalog(overlay)
    assert cat.chain == ("gemini-3-pro-image", "seedream-4.5", "my-model")
    pro = cat.models["gemini-3-pro-image"]
    assert pro.channels == ("google", "relay-g") and pro.price_for("4K") == 0.24  # merged
    assert cat.models["my-model"].price_for("2K") == 0.05
    assert cat.chain_warnings(TODAY) == []  # seedream's "relay" channel now exists


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[channels.x]\nkind = "smtp"\n', "kind must be one of"),
        ('[channels.x]\nkind = "openai"\ncolour = "red"\n', "unknown keys"),
        ('[models.m]\napi = "openai"\nchannels = ["openai"]\nsizes = ["8K"]\n', "sizes"),
        ('[models.m]\napi = "openai"\n', "at least one channel"),
        ("chain = [", "cannot read IMAGINE_CONFIG"),
        ('[retired.old]\nshut_down = "2026-01-01"\n', "needs replacement"),
        ('[models.m]\napi = "openai"\nchannels = ["openai"]\nstatus = "beta"\n', "status"),
    ],
)
def test_bad_overlays_are_config_errors(tmp_path: Path, text: str, error: str) -> None:
    overlay = tmp_path / "bad.toml"
    overlay.write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_catalog(overlay)


def test_aspect_parsing_and_fitting() -> None:
    assert parse_aspect("16x9") == "16:9" and parse_aspect(" 4:3 ") == "4:3"
    assert parse_aspect("3840:2160") == "3840:2160"  # sides up to 10,000 (issue 13.7)
    for bad in ("wide", "16:", "0:1", "1:0", "-1:2", "10001:1", "1:" + "9" * 400, "²:1"):
        with pytest.raises(ValueError):
            parse_aspect(bad)
    gpt = load_catalog().models["gpt-image-2.6-sunburst"]
    assert gpt.fit_aspect("2:1") == "16:9" and gpt.fit_aspect("1:8") == "9:16"
    assert gpt.fit_aspect("1:1") == "1:1"


def test_settings_read_env_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RELAY_API_KEY=from-dotenv\nIMAGINE_MODELS=gpt-image-1.5 , \n")
    monkeypatch.setenv("GEMINI_API_KEY", "from-env")
    monkeypatch.setenv("OPENAI_API_KEY", "  ")
    settings = Settings()
    assert settings.lookup("GEMINI_API_KEY") == "from-env"
    assert settings.lookup("RELAY_API_KEY") == "from-dotenv"
    assert settings.lookup("OPENAI_API_KEY") is None  # blank is unset
    assert settings.catalog.chain == ("gpt-image-1.5",)  # an old id in .env …
    assert settings.catalog.resolved_chain(TODAY) == ("gpt-image-2.6-sunburst",)  # … still works
    assert settings.warnings(TODAY) == [
        "model 'gpt-image-1.5' was shut down on 2026-12-01; "
        "its successor 'gpt-image-2.6-sunburst' is used instead"
    ]
