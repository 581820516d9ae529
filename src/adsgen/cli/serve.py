"""`adsgen serve`: the REST API and the dashboard over a database, on uvicorn.

Binds to 127.0.0.1 unless told otherwise; any other address needs ADSGEN_API_TOKEN in the
environment (the token is never an option: options show in `ps`), which writes must then
send as `Authorization: Bearer <token>`. The database URL is printed masked. `--live` also
runs `adsgen stream` into the served database on a thread (`adsgen.stream.background`).
"""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING, Annotated

import typer

from adsgen.cli.application import State, command
from adsgen.cli.commands import PlatformOption, platform_name
from adsgen.exceptions import AdsgenError

if TYPE_CHECKING:
    from adsgen.stream.background import BackgroundStream

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
    live: Annotated[bool, typer.Option(
        "--live", help="Also run `adsgen stream` into the served database (live sync: it "
                       "must be empty, or hold that stream's plan), so the dashboard's live "
                       "feed moves.")] = False,
    live_speed: Annotated[str, typer.Option(
        "--live-speed", metavar="X", help="With --live: event time per wall time (as "
                                          "`adsgen stream --speed`; 60: an hour a minute).")
    ] = "60",
    live_line_items: Annotated[int, typer.Option(
        "--live-line-items", metavar="N", min=1, max=10_000,
        help="With --live: the stream's plan, N line items on a one-day flight from the "
             "current hour.")] = 3,
) -> None:
    """Serve the REST API (/api/v1, docs at /docs) and the dashboard (/) over the database;
    with --live, stream into it too.

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
    streaming = _live_stream(state, url, platform_name(platform), live_speed,
                             live_line_items) if live else None
    try:
        # open live feeds (/api/v1/live never ends) get a few seconds, then are closed
        uvicorn.run(app, host=host, port=port, log_level="warning" if state.quiet else "info",
                    server_header=False, timeout_graceful_shutdown=3)
    finally:
        if streaming is not None:
            streaming.stop()


def _live_stream(state: State, url: str, platform: str, speed: str,
                 line_items: int) -> BackgroundStream:
    """`adsgen stream --to URL` with the stream's defaults (start now, one day), started."""
    from adsgen.stream.background import BackgroundStream
    from adsgen.stream.clock import parse_speed

    try:
        pace = parse_speed(speed)
    except ValueError as exc:
        raise AdsgenError(str(exc).replace("--speed", "--live-speed")) from None

    def ended(message: str | None) -> None:
        state.note(f"live stream stopped: {message}" if message else "live stream ended")

    streaming = BackgroundStream(
        options={"to": url, "seed": state.seed_or_default(), "line_items": line_items,
                 "speed": pace, "platform": platform},
        on_end=ended)
    streaming.start()
    state.note(f"live: streaming {line_items} line items into the database at speed {speed}")
    return streaming
