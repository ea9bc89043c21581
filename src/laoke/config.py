"""Settings from the environment and `.env`, validated once at start-up."""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_DATA_DIR = Path("var")
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "development"})


class Mode(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class Language(StrEnum):
    ZH_CN = "zh_CN"
    ZH_TW = "zh_TW"
    EN = "en"


class InsecureSettings(RuntimeError):
    """Production refuses to start with a missing or placeholder secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAOKE_", env_file=".env", extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    database_url: str = Field(default=f"sqlite:///{DEV_DATA_DIR / 'laoke.db'}")
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    default_language: Language = Language.ZH_CN
    public_base_url: str = ""
    session_idle_minutes: int = Field(default=60, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_ip: int = Field(default=30, ge=1)
    login_throttle_minutes: int = Field(default=15, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    upload_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    data_dir: Path = DEV_DATA_DIR
    # Messaging: the outbox worker inside `laoke serve`, and where outgoing calls may go.
    run_worker: bool = True
    worker_poll_seconds: float = Field(default=1.0, ge=0.05, le=60)
    outbound_private_networks: bool | None = None

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_driver(cls, value: str) -> str:
        # psycopg 3 is the driver we ship; accept the URLs people paste from elsewhere.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> Settings:
        if self.mode is Mode.PRODUCTION and (
            self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 32
        ):
            raise InsecureSettings(
                "LAOKE_SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def allows_private_targets(self) -> bool:
        """May webhooks and gateways point at loopback/private addresses? Not in production
        unless set explicitly: a tenant must not reach the server's own network."""
        if self.outbound_private_networks is not None:
            return self.outbound_private_networks
        return self.mode is not Mode.PRODUCTION

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/") or f"http://{self.host}:{self.port}"


def _dev_secret(path: Path) -> str:
    """A development secret generated on first run and kept, so sessions survive restarts."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def load_settings(**overrides: object) -> Settings:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if not settings.secret_key and settings.mode is not Mode.PRODUCTION:
        settings.secret_key = _dev_secret(DEV_DATA_DIR / "secret_key")
    if settings.is_sqlite:
        _ensure_sqlite_dir(settings.database_url)
    return settings


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
