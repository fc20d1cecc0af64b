"""Settings from the environment (``AIMANAGER_*``), validated by pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aimanager.redact import register


def default_database_url() -> str:
    """SQLite file in the working directory: the embedded default, no server needed."""
    return f"sqlite+aiosqlite:///{Path.cwd() / 'aimanager.db'}"


def normalise_database_url(url: str) -> str:
    """Accept the URLs people type (``postgresql://``, ``sqlite:///``) and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    scheme = url.partition("://")[0] if "://" in url else url
    raise ValueError(
        f"unsupported database {scheme!r}: use sqlite:///path/to/file.db or postgresql://user@host/db"
    )


class Settings(BaseSettings):
    """Process-wide configuration. Every field maps to ``AIMANAGER_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="AIMANAGER_", env_file=None, extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    redis_url: str | None = None
    # Fernet key (urlsafe base64, 32 bytes) for marketplace credentials at rest. When unset, a key
    # file next to the SQLite database is created on first use (embedded mode only).
    secret_key: SecretStr | None = None
    secret_key_file: Path = Path(".aimanager.key")
    # The product's log level; unset = quiet (warnings and one line per job). ``aimanager -v`` wins.
    log_level: str | None = None
    log_json: bool = False
    # Files for people (Uzum's bulk card XLSX): <exports_dir>/<partner slug>/uzum-<shop id>/<file>.
    exports_dir: Path = Path("exports")
    # Product images (``aimanager.media``): the object store (a folder path, or s3://bucket/prefix?endpoint=…
    # with AWS_* credentials; default ./media) and the public (CDN) base URL its keys are served under.
    media_url: str | None = None
    media_public_url: str | None = None

    # LLM gateway
    llm_provider: str = "offline"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    llm_routes_file: str | None = None  # TOML: task → tier → models (default: packaged routes.toml)
    llm_cache_store: str | None = None  # sql | redis | none (default: redis when redis_url is set)
    llm_pack_size: int = 20
    llm_pack_window_ms: float = 50.0
    llm_batch_enabled: bool = False

    # Operator defaults of every partner's settings, as JSON (``{"margin_target_pct": 12, "autopilot":
    # {"cards": false}}``); checked by ``domain.partner_settings``; a partner's own settings win.
    partner_defaults: dict[str, Any] = Field(default_factory=dict)

    # Job engine
    lease_seconds: float = 10.0
    job_retention_days: float = 7.0

    @field_validator("database_url")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalise_database_url(value)

    def model_post_init(self, context: object, /) -> None:
        # Known from here on: any error text that echoes one of these stores *** instead.
        register(
            *(
                value.get_secret_value()
                for value in (self.secret_key, self.anthropic_api_key, self.openai_api_key)
                if value is not None
            )
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
