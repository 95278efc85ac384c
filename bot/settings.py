"""Settings from the environment or `.env`, prefix `SHOPBOT_`; the only reader of either."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["BUNDLED_MODEL", "Settings", "SettingsError", "load_settings"]

BUNDLED_MODEL = Path(__file__).resolve().parents[1] / "models" / "intent"


class SettingsError(ValueError):
    """A setting that cannot work, said in one line."""


class Settings(BaseSettings):
    """Every setting with a safe default; see the README's table."""

    model_config = SettingsConfigDict(env_prefix="SHOPBOT_", env_file=".env",
                                      env_file_encoding="utf-8", extra="ignore")

    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    database_url: str = "sqlite+aiosqlite:///shopbot.db"
    model_dir: Path = BUNDLED_MODEL
    threshold: float = Field(0.7, ge=0.0, le=1.0)
    margin: float = Field(0.1, ge=0.0, le=1.0)
    admin_chat_id: int | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = Field(10.0, gt=0)
    llm_enabled: bool = True
    llm_all_group_messages: bool = False
    store_fallbacks: bool = True
    fetch_allow_private: bool = False
    digest_delay: float = Field(60.0, ge=0)
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _async_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("must be a SQLAlchemy URL such as sqlite+aiosqlite:///shopbot.db")
        scheme = value.split("://", 1)[0]
        if scheme in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"use an async driver: {scheme.replace('postgres', 'postgresql')}"
                             f"+{'aiosqlite' if scheme == 'sqlite' else 'asyncpg'}://…")
        return value

    @property
    def llm_configured(self) -> bool:
        """The LLM is used when a base URL or a key is set (and it is not turned off)."""
        return self.llm_enabled and bool(self.llm_base_url or self.llm_api_key)


def load_settings() -> Settings:
    """Read the settings; a bad one raises `SettingsError` with one readable line."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "SHOPBOT_" + str(first["loc"][0]).upper() if first.get("loc") else "SHOPBOT_*"
        raise SettingsError(f"{name}: {first['msg']}") from None
