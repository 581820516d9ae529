"""`adsgen stream`: the simulated world as live events (`adsgen.stream.job.stream`).

Parses the options and renders the result; the plan, events, clock, sinks, faults and
checkpoints live in `adsgen.stream`. stdout belongs to the events when the sink is `-`:
the summary then goes to stderr (and `--json` is refused), else it is printed as usual.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from adsgen.cli.application import State, command
from adsgen.cli.commands import date_option, parse_date_option, platform_name
from adsgen.domain.dates import DATE_FORMS

__all__ = ["stream_command"]


NOW = datetime(1, 1, 1)
"""What `--start now` parses to (the stream resolves it to the current time)."""


def _start(value: str | datetime) -> datetime:
    if isinstance(value, str) and value.strip().lower() == "now":
        return NOW
    return parse_date_option(value)


def _speed(value: str) -> float | None:
    from adsgen.stream.clock import parse_speed

    try:
        return parse_speed(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


@command("stream", rich_help_panel="Scale")
def stream_command(
    ctx: typer.Context,
    to: Annotated[str, typer.Option(
        "--to", metavar="URL",
        help="Where events go: - (stdout, JSON lines), file:PATH, nats://HOST:PORT/SUBJECT, "
             "redis://HOST:PORT/DB?stream=KEY&maxlen=N, or a database URL (live sync of the "
             "hourly rows).")] = "-",
    line_items: Annotated[int | None, typer.Option(
        "--line-items", help="The plan: N line items, as `adsgen generate` draws them "
                             "(default 3).")] = None,
    advertisers: Annotated[int | None, typer.Option(
        "--advertisers", help="The plan: N advertisers instead.")] = None,
    days: Annotated[int, typer.Option("--days", metavar="D",
                                      help="Every flight lasts D days (1 to 366).")] = 1,
    start: Annotated[datetime, typer.Option(
        "--start", metavar="now|DATE", parser=_start,
        help=f"First hour of the flights and of the stream: now (default; the current hour, "
             f"on the wall clock) or {DATE_FORMS}; UTC.")] = "now",  # type: ignore[assignment]
    speed: Annotated[str, typer.Option(
        "--speed", metavar="X",
        help="Event time per wall time: 1 (real time, default), 60 (an hour a minute), "
             "max (as fast as the sink takes).")] = "1",
    rate: Annotated[float | None, typer.Option(
        "--rate", metavar="N", help="At most N events per second.")] = None,
    duration: Annotated[str | None, typer.Option(
        "--duration", metavar="SPAN",
        help="Stop after this much event time: 90s, 30m, 6h, 2d.")] = None,
    until: Annotated[datetime | None, date_option(
        "--until", "Stop at this event time.")] = None,
    faults: Annotated[str | None, typer.Option(
        "--faults", metavar="SPEC",
        help="Inject faults: drop=R,duplicate=R,late=R,out_of_order=R (shares 0-1).")] = None,
    ledger: Annotated[Path | None, typer.Option(
        "--ledger", metavar="FILE",
        help="With --faults: JSON lines naming every injected fault by event id.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", metavar="FILE",
        help="Keep how far the sink acknowledged here (about every second).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Go on from --checkpoint: nothing lost, nothing twice.")] = False,
    platform: Annotated[str | None, typer.Option(
        "--platform", help="Platform the plan runs on (default netflix_like).")] = None,
    templates_dir: Annotated[Path | None, typer.Option(
        "--templates-dir", metavar="DIR", help="Your own profiles and platforms.")] = None,
) -> None:
    """Stream the simulated plan as events in time order: impression, start, quartiles,
    complete, click, qrScan, conversion; aggregated to the hour they are the batch rows."""
    state = State.of(ctx)
    from adsgen.exceptions import AdsgenError
    from adsgen.stream.job import parse_duration, stream

    if to.strip() == "-" and state.json:
        raise AdsgenError("--json prints the summary on stdout, where --to - sends the "
                          "events; give --to file:PATH or another sink")
    result = stream(
        to=to, seed=state.seed_or_default(), line_items=line_items, advertisers=advertisers,
        days=days, start=None if start == NOW else start, speed=_speed(speed), rate=rate,
        duration=parse_duration(duration) if duration is not None else None,
        until=until,
        faults=faults, ledger=ledger, checkpoint=checkpoint, resume=resume,
        platform=platform_name(platform), templates_dir=templates_dir, quiet=state.quiet,
    )
    summary = result.as_dict()
    if to.strip() == "-":
        state.note(f"streamed {result.events:,} events in {result.seconds:.1f} s "
                   f"({result.events_per_second:,.0f}/s); last event {result.last_event_id}")
    elif state.json:
        state.emit(summary, title="Stream")
    else:  # the tables: what did not happen (no faults, no lag at max speed) left out
        state.emit({k: v for k, v in summary.items() if v not in ({}, None)}, title="Stream")
