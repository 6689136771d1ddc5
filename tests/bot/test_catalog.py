from datetime import date
from pathlib import Path

import pytest

from bot.catalog import load_catalog, parse_aspect
from bot.config import Settings
from bot.errors import ConfigError

TODAY = date(2026, 11, 23)


def test_default_chain_and_prices() -> None:
    cat = load_catalog()
    assert cat.chain == ("gemini-3-pro-image-preview", "gemini-2.5-flash-image", "gpt-image-1.5")
    pro = cat.models["gemini-3-pro-image-preview"]
    assert pro.price_for("2K") == 0.134 and pro.price_for("4K") == 0.24
    flash = cat.models["gemini-2.5-flash-image"]
    assert flash.price_for("4K") == 0.039 and flash.fit_size("4K") == "1K"
    assert cat.chain_warnings(TODAY) == []


def test_retired_and_unknown_models_warn_with_a_replacement() -> None:
    cat = load_catalog(chain=["gpt-image-1", "dall-e-3", "gemini-9-ultra"])
    warnings = cat.chain_warnings(TODAY)
    assert "retired on 2026-10-23" in warnings[0] and "gpt-image-1.5" in warnings[0]
    assert "retired on 2026-05-12" in warnings[1]
    assert "not in the catalogue" in warnings[2] and "gemini-2.5-flash-image" in warnings[2]
    assert cat.models["gpt-image-1"].is_retired(TODAY)
    assert not cat.models["gpt-image-1"].is_retired(date(2026, 10, 1))


def test_overlay_adds_channels_and_relay_models(tmp_path: Path) -> None:
    overlay = tmp_path / "imagine.toml"
    overlay.write_text(
        'chain = ["gemini-3-pro-image-preview", "seedream-4.5", "my-model"]\n'
        '[channels.relay]\nkind = "openai"\nbase_url = "https://relay.test/v1"\n'
        'api_key_env = "RELAY_API_KEY"\n'
        '[models."gemini-3-pro-image-preview"]\nchannels = ["google", "relay-g"]\n'
        '[channels.relay-g]\nkind = "gemini"\nbase_url = "https://g.test"\n'
        '[models."my-model"]\napi = "openai"\nchannels = ["relay"]\nsizes = ["1K", "2K"]\n'
        'price = { "1K" = 0.03, "2K" = 0.05 }\n'
    )
    cat = load_catalog(overlay)
    assert cat.chain == ("gemini-3-pro-image-preview", "seedream-4.5", "my-model")
    pro = cat.models["gemini-3-pro-image-preview"]
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
    ],
)
def test_bad_overlays_are_config_errors(tmp_path: Path, text: str, error: str) -> None:
    overlay = tmp_path / "bad.toml"
    overlay.write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_catalog(overlay)


def test_aspect_parsing_and_fitting() -> None:
    assert parse_aspect("16x9") == "16:9" and parse_aspect(" 4:3 ") == "4:3"
    for bad in ("wide", "16:", "0:1", "1:0", "-1:2"):
        with pytest.raises(ValueError):
            parse_aspect(bad)
    gpt = load_catalog().models["gpt-image-1.5"]
    assert gpt.fit_aspect("16:9") == "3:2" and gpt.fit_aspect("9:16") == "2:3"
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
    assert settings.catalog.chain == ("gpt-image-1.5",)
