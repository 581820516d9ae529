"""The dashboard of `adsgen serve`: a static page (HTML, CSS, one script) shipped in the
package, with Apache ECharts vendored under static/vendor (Apache-2.0, its LICENSE beside
it), so nothing is fetched from a CDN at run time. The page reads the API of the same
server; this module only mounts the files.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

__all__ = ["STATIC", "mount"]

STATIC = Path(str(files("adsgen.web") / "static"))
"""The dashboard's files."""


def mount(app: Any) -> None:
    """Serve the dashboard at / and its files at /static on a FastAPI app."""
    from fastapi.responses import FileResponse
    from fastapi.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.add_api_route("/", dashboard, methods=["GET"], include_in_schema=False)
