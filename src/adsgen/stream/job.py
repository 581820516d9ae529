"""`adsgen stream` as one call: options → plan → sink, faults, clock → `run_stream`.

The CLI parses text and calls `stream`; Python callers may too. What the emitted sequence
depends on (plan options, seed, platform, window, faults, sink) is hashed into the
checkpoint, so `--resume` refuses a checkpoint written by another stream; the flight start
that `--start now` resolved to is kept in it, so a resumed stream replays the same world.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adsgen.exceptions import AdsgenError
from adsgen.stream.clock import Progress
from adsgen.stream.faults import Faults, parse_faults
from adsgen.stream.run import StreamResult, checkpoint_key, run_stream
from adsgen.stream.sinks import open_sink
from adsgen.stream.source import plan_source

__all__ = ["parse_duration", "stream"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """`90`, `90s`, `30m`, `6h`, `2d` → a positive timedelta; AdsgenError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if match is None or float(match.group(1)) <= 0:
        raise AdsgenError(f"--duration must be a positive number of seconds or N s/m/h/d "
                          f"(e.g. 6h), got {text[:80]!r}")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds > 366 * 86400:
        raise AdsgenError(f"--duration must be at most 366 days, got {text[:80]!r}")
    return timedelta(seconds=seconds)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def stream(
    *,
    to: str = "-",
    seed: int = 42,
    line_items: int | None = None,
    advertisers: int | None = None,
    days: int = 1,
    start: datetime | None = None,
    speed: float | None = 1.0,
    rate: float | None = None,
    duration: timedelta | None = None,
    until: datetime | None = None,
    faults: str | None = None,
    ledger: Path | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    quiet: bool = False,
    progress: Progress | None = None,
) -> StreamResult:
    """Stream the plan `adsgen generate` would draw for these options into the sink `to`.

    `start` None means now: the flight starts at the current UTC hour and the clock at the
    current time (events of the hour before now go at once). `duration` runs from the
    clock's origin; `until` is an event time; the earlier wins. Raises AdsgenError for bad
    options, an unreachable sink, or a checkpoint of another stream. `progress` replaces the
    line on stderr (`quiet` hides it).
    """
    if rate is not None and not rate > 0:
        raise AdsgenError(f"--rate must be a positive number of events per second, got {rate}")
    if resume and checkpoint is None:
        raise AdsgenError("--resume needs --checkpoint FILE (the one the stream wrote)")
    rates = parse_faults(faults) if faults else {}
    if rates and ledger is None:
        raise AdsgenError("--faults needs --ledger FILE: the ledger is what scores a consumer")
    if line_items is None and advertisers is None:
        line_items = 3
    sink = open_sink(to)
    now = _now()
    live = start is None
    saved = _saved_start(checkpoint) if resume and live and checkpoint is not None else None
    origin = (saved or now) if live else start
    assert origin is not None
    first = origin.replace(minute=0, second=0, microsecond=0) if live else origin
    if first.minute or first.second or first.microsecond:
        raise AdsgenError(f"--start must be a date or a whole UTC hour, got {first.isoformat()}")
    ends = [t for t in (origin + duration if duration else None, until) if t is not None]
    stop = min(ends) if ends else None
    if stop is not None and stop <= first:
        raise AdsgenError("--until/--duration end the stream before it starts")
    source = plan_source(seed=seed, line_items=line_items, advertisers=advertisers, days=days,
                         start=first, platform=platform, templates_dir=templates_dir)
    options = {"seed": seed, "line_items": line_items, "advertisers": advertisers,
               "days": days, "start": first.isoformat(),
               "platform": ",".join(source.platform.names),
               "stop": stop.isoformat() if stop else None, "faults": rates, "to": to}
    return run_stream(
        source, sink, speed=speed, rate=rate, origin_us=_us(origin),
        until_us=_us(stop) if stop else None,
        faults=Faults(rates, seed=seed, ledger=ledger) if rates else None,
        checkpoint=checkpoint, resume=resume, key=checkpoint_key(options) + "|" +
        origin.isoformat(), progress=progress or Progress(quiet=quiet),
    )


def _us(moment: datetime) -> int:
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return int(aware.timestamp()) * 1_000_000 + aware.microsecond


def _saved_start(checkpoint: Path) -> datetime | None:
    """The clock origin a `--start now` stream resolved to, kept in its checkpoint key."""
    try:
        key = str(json.loads(checkpoint.read_text()).get("key", ""))
    except (OSError, ValueError, AttributeError):
        return None
    _, _, when = key.partition("|")
    try:
        return datetime.fromisoformat(when) if when else None
    except ValueError:
        return None


def describe(result: StreamResult) -> dict[str, Any]:
    """The result as plain data for the CLI."""
    return result.as_dict()
