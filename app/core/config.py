"""Settings: one validated object, read from GSR_* environment variables or a .env file.

Sections are nested models; a section's field is set with the section's name and the
field's, joined by an underscore: `GSR_DATABASE_URL`, `GSR_REPORTS_WORKERS`,
`GSR_AGGREGATE_MIN_GROUP`. The object is built once at start-up (so a bad value stops the
process with a clear message) and passed to what needs it; nothing reads the environment.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Published aggregates never cover fewer countries than this, whatever the setting says:
# with at least 3 countries in a group, a country that knows its own contribution still
# faces at least 2 others when it subtracts itself (see docs/confidentiality.md).
MIN_GROUP_FLOOR = 3


class DatabaseSettings(BaseModel):
    """Where the data lives and how long a request may wait for it."""

    url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'gsr.db'}",
        description="SQLAlchemy URL: SQLite by default, postgresql+psycopg://... in production",
    )
    pool_size: int = Field(default=10, ge=1, le=200, description="connections kept per process")
    max_overflow: int = Field(default=20, ge=0, le=500, description="extra connections at peaks")
    pool_timeout: float = Field(
        default=10.0, gt=0, le=300, description="seconds to wait for a free connection"
    )
    lock_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="seconds a statement waits for a lock (SQLite busy timeout, PostgreSQL "
        "lock_timeout) before the request is answered 503 with Retry-After",
    )


class ReportSettings(BaseModel):
    """How PDF reports are rendered, stored and prepared in the background."""

    render_timeout: float = Field(
        default=60.0, gt=0, description="seconds one render may take (rendering only)"
    )
    workers: int = Field(default=2, ge=1, le=64)
    store_max_mb: int = Field(
        default=512, ge=1, description="size of the stored PDFs before the least used go"
    )
    download_wait: float = Field(
        default=3.0,
        ge=0,
        le=600,
        description="seconds a download waits for a render under way before it answers "
        "that the report is being prepared",
    )
    prepare_delay: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="seconds after an assessment's last change before its reports are "
        "rendered in the background",
    )


class JobSettings(BaseModel):
    """Background jobs: threads in the web process on SQLite, `gsr worker` on PostgreSQL."""

    runner: Literal["auto", "threads"] = Field(
        default="auto",
        description="auto: procrastinate's queue and `gsr worker` on PostgreSQL, threads of "
        "the web process on SQLite; threads: always in the web process (one machine)",
    )
    threads: int = Field(default=1, ge=1, le=16, description="job threads per web process")
    heartbeat: float = Field(default=10.0, gt=0, le=300, description="worker heartbeat, s")
    stalled_after: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="seconds without a heartbeat after which a worker's jobs are retried",
    )


class AggregateSettings(BaseModel):
    """The confidentiality threshold of published, anonymised figures."""

    min_group: int = Field(
        default=5,
        description=f"smallest group of countries a published figure may describe "
        f"(never below {MIN_GROUP_FLOOR})",
    )

    @field_validator("min_group")
    @classmethod
    def _at_least_floor(cls, value: int) -> int:
        if value < MIN_GROUP_FLOOR:
            raise ValueError(f"must be at least {MIN_GROUP_FLOOR} to keep countries anonymous")
        return value


class SecuritySettings(BaseModel):
    """Password links and two-factor log-in."""

    reset_link_minutes: int = Field(
        default=60, ge=5, le=24 * 60, description="minutes a password reset link stays valid"
    )
    invitation_days: int = Field(
        default=7, ge=1, le=60, description="days an invitation to set a password stays valid"
    )
    require_two_factor: bool = Field(
        default=False,
        description="alliance roles and coordinators must use two-factor log-in",
    )


class MailSettings(BaseModel):
    """The SMTP server that sends the product's e-mails; nothing is sent without a host."""

    host: str = Field(default="", description="SMTP server; empty: e-mails wait unsent")
    port: int = Field(default=587, ge=1, le=65535)
    user: str = ""
    password: SecretStr = SecretStr("")
    security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="starttls (port 587), ssl (port 465) or none"
    )
    from_address: str = Field(default="gsr-assess@localhost", description="the sender")
    timeout: float = Field(default=20.0, gt=0, le=300)
    max_attempts: int = Field(default=8, ge=1, le=50, description="tries before giving up")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GSR_",
        env_file=".env",
        extra="ignore",
        env_nested_delimiter="_",
        env_nested_max_split=1,
    )

    database: DatabaseSettings = DatabaseSettings()
    reports: ReportSettings = ReportSettings()
    jobs: JobSettings = JobSettings()
    aggregate: AggregateSettings = AggregateSettings()
    catalogue_path: Path = PROJECT_ROOT / "capabilities"
    demo_mode: bool = Field(
        default=False,
        description="seed and show the fictional demo countries (never in production)",
    )
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    last_seen_interval: int = Field(
        default=300,
        ge=0,
        description="seconds between two records of a session's or token's last use",
    )
    log_level: str = "info"
    security: SecuritySettings = SecuritySettings()
    mail: MailSettings = MailSettings()
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="the address users reach the product at, for links in e-mails",
    )

    @model_validator(mode="before")
    @classmethod
    def _flat_database_url(cls, data: Any) -> Any:
        """Accept `database_url=...` as a shorthand for the database section's URL."""
        if isinstance(data, dict) and "database_url" in data:
            data = dict(data)
            url = data.pop("database_url")
            section = data.get("database") or {}
            if isinstance(section, BaseModel):
                section = section.model_dump()
            data["database"] = {**section, "url": url}
        return data

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def database_url(self) -> str:
        return self.database.url


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once (operator commands and the server's start-up)."""
    return Settings()
