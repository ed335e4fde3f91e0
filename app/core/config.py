"""Settings, read from the environment with the GSR_ prefix (or a .env file)."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GSR_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'gsr.db'}",
        description="SQLAlchemy URL: SQLite by default, postgresql+psycopg://... in production",
    )
    catalogue_path: Path = PROJECT_ROOT / "capabilities"
    demo_mode: bool = False
    session_hours: int = 12
    log_level: str = "info"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
