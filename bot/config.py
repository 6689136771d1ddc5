"""Settings from the environment and ``.env`` (pydantic-settings), plus the catalogue.

A channel's key and base URL are looked up by the env var names its catalogue
entry gives (``api_key_env``, ``base_url_env``), in the process environment
first and then in ``.env``; keys are handed to the provider and never printed.
"""

from __future__ import annotations

import os
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import bounds
from bot.catalog import Catalog, load_catalog
from bot.domain import ImageLimits


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Keys and base URLs (GEMINI_API_KEY, OPENAI_BASE_URL, a relay's key …) are read by
    # name through ``lookup``: the catalogue's channels say which variables they use.
    imagine_models: str | None = Field(default=None, description="comma list overriding the chain")
    imagine_config: Path | None = None
    imagine_deadline_s: float = Field(
        default=120.0, gt=0, le=bounds.MAX_DEADLINE_S, allow_inf_nan=False
    )
    imagine_hedge: bool = True
    imagine_safety_failover: bool = False
    imagine_admin_users: str = ""  # comma list of user ids allowed to run admin commands
    imagine_data_dir: Path = Path("data")
    imagine_database_url: str | None = None  # default: sqlite:///<IMAGINE_DATA_DIR>/imagine.db
    # shared live between processes (health, rate limits, announcements); None: per process
    imagine_redis_url: str | None = None
    imagine_daily_images_per_guild: int = Field(default=100, ge=0, le=bounds.MAX_DAILY_IMAGES)
    imagine_monthly_budget_usd_per_guild: float = Field(
        default=50.0, ge=0, le=bounds.MAX_BUDGET_USD, allow_inf_nan=False
    )
    imagine_user_rate: str = "5/minute"
    imagine_guild_concurrency: int = Field(default=4, ge=0, le=bounds.MAX_GUILD_CONCURRENCY)
    # jobs generating at once, all workspaces
    imagine_workers: int = Field(default=8, ge=1, le=bounds.MAX_WORKERS)
    imagine_max_history_mb: float = Field(
        default=14.0, gt=0, le=bounds.MAX_HISTORY_MB, allow_inf_nan=False
    )
    # every image taken in (a reference) or accepted from a model, decoded once: bytes as
    # sent, pixels once decoded (a bigger one: the reference is refused, the model's answer
    # counts as no image and the next model is tried)
    imagine_max_image_mb: float = Field(default=20.0, gt=0, le=1024, allow_inf_nan=False)
    imagine_max_image_pixels: int = Field(default=40_000_000, gt=0, le=1_000_000_000)
    imagine_log_level: str = "INFO"
    imagine_http_host: str = "127.0.0.1"  # the bot's web server: /healthz, /slack/events
    imagine_http_port: int = Field(default=8080, ge=0, le=65535)
    imagine_web_token: SecretStr | None = None  # the web pages' password (blank: none)
    # running jobs, on SIGTERM
    imagine_shutdown_grace_s: float = Field(
        default=20.0, ge=0, le=bounds.MAX_WAIT_S, allow_inf_nan=False
    )
    # PostgreSQL connections this process may hold (its pool; SQLite: unused)
    imagine_database_pool: int = Field(default=10, ge=1, le=bounds.MAX_DB_POOL)
    # a process whose heartbeat stopped this long is dead: another adopts its jobs
    imagine_lease_s: float = Field(
        default=15.0, ge=bounds.MIN_LEASE_S, le=bounds.MAX_LEASE_S, allow_inf_nan=False
    )
    # a state must last this long before it is announced; then at most one post per model
    imagine_announce_settle_s: float = Field(
        default=20.0, ge=0, le=bounds.MAX_WAIT_S, allow_inf_nan=False
    )
    imagine_announce_cooldown_s: float = Field(
        default=300.0, ge=0, le=bounds.MAX_WAIT_S, allow_inf_nan=False
    )
    # the local web playground: auto = when no chat platform is configured
    imagine_playground: Literal["on", "off", "auto"] = "auto"
    _env: dict[str, str] = PrivateAttr(default_factory=dict)  # ``with_env``: looked up first

    @property
    def admin_users(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.imagine_admin_users.split(",") if u.strip())

    @property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_bytes=int(self.imagine_max_image_mb * 1024 * 1024),
            max_pixels=self.imagine_max_image_pixels,
        )

    @property
    def database_url(self) -> str:
        return self.imagine_database_url or f"sqlite:///{self.imagine_data_dir}/imagine.db"

    @field_validator(
        "imagine_models",
        "imagine_config",
        "imagine_database_url",
        "imagine_redis_url",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("imagine_playground", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("imagine_log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @cached_property
    def catalog(self) -> Catalog:
        chain = None
        if self.imagine_models:
            chain = [m.strip() for m in self.imagine_models.split(",") if m.strip()]
        return load_catalog(self.imagine_config, chain)

    def lookup(self, name: str | None) -> str | None:
        """An env var by name: the process environment, then ``.env``. Blank is unset."""
        if not name:
            return None
        value = self._env.get(name, os.environ.get(name))
        if value is None:
            env_file = self.model_config.get("env_file")
            if isinstance(env_file, str) and Path(env_file).is_file():
                value = dotenv_values(env_file).get(name)
        return value.strip() or None if value else None

    def with_env(self, **values: str) -> Settings:
        """A copy whose ``lookup`` finds ``values`` first (e.g. keys and base URLs of an
        in-process sandbox), leaving the process environment alone."""
        copy = self.model_copy()
        copy._env = {**self._env, **values}
        return copy

    def warnings(self, today: date | None = None) -> list[str]:
        return self.catalog.chain_warnings(today or date.today())
