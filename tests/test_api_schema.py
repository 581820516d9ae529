"""Schemathesis against the API's own /openapi.json: every operation, generated valid and
invalid inputs; no 5xx, every answer matches its documented status, content type, headers
and schema. A bounded number of examples per operation keeps CI fast
(ADSGEN_SCHEMATHESIS_EXAMPLES raises it for a longer hunt).

Its database is small on purpose (one advertiser, one campaign of two line items over a week):
generated creates and changes simulate what they touch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from adsgen.api import ServeConfig, create_app  # noqa: E402
from apiutil import API, campaign_body, client  # noqa: E402

EXAMPLES = int(os.environ.get("ADSGEN_SCHEMATHESIS_EXAMPLES", "6"))
TOKEN = "schemathesis-token-0123456789"


def _small_database(path: Path) -> str:
    url = f"sqlite:///{path}"
    api = client(url)
    advertiser = api.post(f"{API}/advertisers", json={
        "name": "Schema Brand", "industry": "retail", "domain": "schema.example"}).json()
    assert api.post(f"{API}/campaigns",
                    json=campaign_body(advertiser["id"], line_items=2)).status_code == 201
    return url




def _app() -> Any:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="adsgen-schemathesis-"))
    return create_app(ServeConfig(database_url=_small_database(folder / "ads.db"),
                                  token=TOKEN))


APP = _app()
# GET /live is a stream that never ends (tests/test_api_live.py reads it from a server).
schema = schemathesis.openapi.from_asgi("/openapi.json", APP).exclude(path="/api/v1/live")


@pytest.fixture(scope="module", autouse=True)
def _runs_stopped() -> Iterator[None]:
    """Runs the examples started (POST /runs) are cancelled at the end, not left running."""
    yield
    from adsgen.api.runs import shutdown

    shutdown(APP)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
def test_api_keeps_its_openapi_contract(case: schemathesis.Case) -> None:
    # A schema-valid request may still name an id or a cursor that does not exist: 404 and
    # 400 are right answers there, so `positive_data_acceptance` does not apply.
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                           excluded_checks=[schemathesis.checks.positive_data_acceptance])
