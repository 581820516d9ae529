"""Settings come from ADSGEN_* variables, with defaults, and are read once per process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from adsgen.settings import Settings, get_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in list(os.environ):
        if name.startswith("ADSGEN_") and not name.startswith("ADSGEN_TEST_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_defaults(env: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///ads.db"
    assert (settings.seed, settings.output_dir, settings.platform) == (42, Path("out"),
                                                                     "netflix_like")


def test_environment_overrides(env: pytest.MonkeyPatch) -> None:
    env.setenv("ADSGEN_DATABASE_URL", "postgresql+psycopg://u@h/db")
    env.setenv("ADSGEN_SEED", "7")
    env.setenv("ADSGEN_OUTPUT_DIR", "/tmp/x")
    env.setenv("ADSGEN_PLATFORM", "other")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert (settings.seed, settings.output_dir, settings.platform) == (7, Path("/tmp/x"), "other")


def test_bad_value_is_rejected(env: pytest.MonkeyPatch) -> None:
    env.setenv("ADSGEN_SEED", "forty-two")
    with pytest.raises(ValueError, match="seed"):
        Settings()


def test_get_settings_is_cached(env: pytest.MonkeyPatch) -> None:
    first = get_settings()
    env.setenv("ADSGEN_SEED", "9")
    assert get_settings() is first and first.seed == 42
    get_settings.cache_clear()
    assert get_settings().seed == 9
