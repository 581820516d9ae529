"""The REST API of `adsgen serve` (a door: parse, call `adsgen.runs`, render).

- `app`: the FastAPI app factory, its security (bearer token for writes, body cap) and
  shared state;
- `entities`: advertisers, campaigns, line items, creatives (list, get, create, change);
- `reports`: delivery, pacing, reach and truth reports, and asynchronous report jobs;
- `problems`: RFC 9457 problem details for every error;
- `models`: the API's own request and response bodies.
"""

from __future__ import annotations

__all__ = ["ServeConfig", "create_app"]

from adsgen.api.app import ServeConfig, create_app
