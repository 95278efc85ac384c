"""Settings from the environment or `.env`, prefix `SHOPBOT_`; the only reader of either."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import SettingsError

__all__ = ["BUNDLED_MODEL", "Settings", "SettingsError", "load_settings"]

BUNDLED_MODEL = Path(__file__).resolve().parents[1] / "models" / "intent"
# Synchronous schemes people paste from other tools, and the async URL that works here.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite", "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg", "postgresql+psycopg": "postgresql+asyncpg",
    "postgresql+pg8000": "postgresql+asyncpg",
}
# Settings whose values are credentials (some belong to features that may not be set up).
_SECRET_SETTINGS = ("telegram_token", "llm_api_key", "webhook_secret", "stt_api_key")


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
    log_format: Literal["text", "json"] = "text"
    # Telegram's flood limits, kept by PTB's AIORateLimiter (bot/limits.py); off for a local
    # Bot API server, which has none, and for benchmarks.
    rate_limit: bool = True
    # Webhook mode (`shopbot serve`).
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1:8080"
    webhook_secret: str | None = None
    workers: int = Field(1, ge=1, le=64)
    # Voice notes (bot/voice.py): an OpenAI-compatible /audio/transcriptions endpoint, used
    # only when a base URL or a key is set; nothing is sent anywhere otherwise.
    stt_base_url: str | None = None
    stt_api_key: str | None = None
    stt_model: str = "whisper-1"
    stt_timeout: float = Field(30.0, gt=0)
    stt_max_seconds: int = Field(120, ge=1)
    stt_max_bytes: int = Field(5_000_000, ge=1, le=20_000_000)

    @field_validator("database_url")
    @classmethod
    def _async_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("must be a SQLAlchemy URL such as sqlite+aiosqlite:///shopbot.db")
        scheme, rest = value.split("://", 1)
        driver = _ASYNC_DRIVERS.get(scheme.lower())
        if driver is not None:
            # The rest of the URL is left out of the hint: it may hold a password.
            raise ValueError(f"use an async driver: {driver}://… instead of {scheme}://…")
        backend = scheme.lower().split("+", 1)[0]
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{scheme}:// is not supported; use sqlite+aiosqlite:// or "
                             "postgresql+asyncpg://")
        if backend == "sqlite" and not rest.startswith("/"):
            raise ValueError("a SQLite URL has three slashes before a relative path: "
                             "sqlite+aiosqlite:///shopbot.db")
        return value

    @field_validator("rate_limit", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        words = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False}
        if isinstance(value, str):
            if value.strip().lower() not in words:
                raise ValueError("must be on or off")
            return words[value.strip().lower()]
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be the public https:// URL Telegram calls")
        return value or None

    @field_validator("stt_base_url")
    @classmethod
    def _stt_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// URL such as http://127.0.0.1:8000/v1")
        return value or None

    @field_validator("webhook_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port, e.g. 127.0.0.1:8080")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        # What setWebhook accepts as secret_token.
        if value and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value):
            raise ValueError("1-256 characters: letters, digits, _ and -")
        return value or None

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    def secrets(self) -> list[str]:
        """Every configured value that must never reach a log: tokens, keys, passwords."""
        values = [str(getattr(self, name, None) or "") for name in _SECRET_SETTINGS]
        for url in (self.database_url, self.llm_base_url, self.telegram_api_url,
                    self.stt_base_url, getattr(self, "webhook_url", None)):
            if url and "@" in url.split("?", 1)[0]:
                userinfo = url.split("://", 1)[-1].split("@", 1)[0]
                values.extend(part for part in (userinfo, *userinfo.split(":", 1)))
        token = self.telegram_token
        if ":" in token:
            values.append(token.split(":", 1)[1])  # the secret half, should it appear alone
        return [value for value in values if len(value) >= 4]

    @property
    def listen(self) -> tuple[str, int]:
        """Where `shopbot serve` listens: SHOPBOT_WEBHOOK_LISTEN as (host, port)."""
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def stt_configured(self) -> bool:
        """Voice notes are transcribed when a base URL or a key is set."""
        return bool(self.stt_base_url or self.stt_api_key)

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
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None
