"""Process-wide settings read from ADSGEN_* environment variables (pydantic-settings).

`get_settings()` returns one cached `Settings`; CLI flags override its values per call
rather than mutating it. Tests that change the environment call `get_settings.cache_clear()`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Defaults for a run: where to write (database, files), which seed and which platform.

    Every field can be set with an environment variable named ADSGEN_<FIELD>, e.g.
    `ADSGEN_DATABASE_URL=postgresql+psycopg://user@host/db`.
    """

    model_config = SettingsConfigDict(env_prefix="ADSGEN_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///ads.db"
    seed: int = 42
    output_dir: Path = Path("out")
    platform: str = "netflix_like"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()
