"""Helpers of the API tests: a generated database and a TestClient over it."""

from __future__ import annotations

import warnings
from typing import Any

from sqlalchemy import Engine

from adsgen.api import ServeConfig, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

API = "/api/v1"


def url_of(engine: Engine) -> str:
    """The engine's URL with its password, as a server is given it."""
    return engine.url.render_as_string(hide_password=False)


def generated(engine: Engine) -> str:
    """Fill the engine's database with the default dataset (run-all, seed 42); its URL."""
    from adsgen.runs.database import run_all

    url = url_of(engine)
    run_all(db=url, seed=42)
    return url


def client(url: str, **config: Any) -> TestClient:
    """A TestClient of an app serving `url` (ServeConfig options as keywords)."""
    return TestClient(create_app(ServeConfig(database_url=url, **config)))


def campaign_body(advertiser_id: int, *, name: str = "API Launch", budget: str = "20000",
                  line_items: int = 1) -> dict[str, Any]:
    """A small valid CampaignCreate: a week in September 2026, line items on CTV."""
    return {
        "advertiser_id": advertiser_id, "name": name, "objective": "awareness",
        "budget": {"amount": budget},
        "flight": {"start": "2026-09-01T00:00:00Z", "end": "2026-09-08T00:00:00Z"},
        "line_items": [
            {"name": f"CTV {i}", "cpm": "25.00", "budget": {"amount": "5000"},
             "flight": {"start": "2026-09-01T00:00:00Z", "end": "2026-09-08T00:00:00Z"},
             "targeting": {"device": ["ctv"], "geo": ["US"]},
             "creatives": [{"name": f"Spot {i}", "duration_s": 30,
                            "asset_url": "https://cdn.brand.example/spot.mp4"}]}
            for i in range(line_items)
        ],
    }
