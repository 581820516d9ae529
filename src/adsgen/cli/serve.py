"""`adsgen serve`: the REST API and the dashboard over a database, on uvicorn.

Binds to 127.0.0.1 unless told otherwise; any other address needs ADSGEN_API_TOKEN in the
environment (the token is never an option: options show in `ps`), which writes must then
send as `Authorization: Bearer <token>`. The database URL is printed masked.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

from adsgen.cli.application import State, command
from adsgen.cli.commands import PlatformOption, platform_name
from adsgen.exceptions import AdsgenError

__all__ = ["TOKEN_ENV", "is_loopback"]

TOKEN_ENV = "ADSGEN_API_TOKEN"
MIN_TOKEN = 16
"""Shortest token accepted: a guessable token is no protection."""


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@command("serve", rich_help_panel="Serve")
def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; beyond "
                                      f"127.0.0.1 it needs {TOKEN_ENV}.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    platform: PlatformOption = None,
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the dashboard (/) over the database.

    Writes (creating and changing entities, report jobs) need the bearer token in
    ADSGEN_API_TOKEN when one is set, and always when --host is not a loopback address.
    """
    state = State.of(ctx)
    token = os.environ.get(TOKEN_ENV) or None
    if not is_loopback(host) and token is None:
        raise AdsgenError(f"--host {host} listens beyond this machine: set {TOKEN_ENV} (at "
                          f"least {MIN_TOKEN} characters) so that writes need it, or use "
                          "--host 127.0.0.1")
    if token is not None and len(token) < MIN_TOKEN:
        raise AdsgenError(f"{TOKEN_ENV} is {len(token)} characters; use at least {MIN_TOKEN} "
                          "(e.g. `openssl rand -hex 16`)")
    import uvicorn

    from adsgen.api import ServeConfig, create_app
    from adsgen.settings import get_settings
    from adsgen.storage.database import masked_url

    url = state.db or get_settings().database_url
    loopback = ("127.0.0.1", "localhost", "[::1]", "::1", host) if is_loopback(host) else ()
    app = create_app(ServeConfig(database_url=url, token=token, seed=state.seed_or_default(),
                                 platform=platform_name(platform), allowed_hosts=loopback))
    shown = f"[{host}]" if ":" in host else host
    state.note(f"serving {masked_url(url)} at http://{shown}:{port}/ (API docs at /docs"
               f"{'; writes need the bearer token' if token else ''}); Ctrl-C stops")
    uvicorn.run(app, host=host, port=port, log_level="warning" if state.quiet else "info",
                server_header=False)
