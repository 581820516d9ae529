"""`adsgen stream` end to end: the same world as `adsgen generate`, the clock, bad input.

The JSON lines a stream writes for a plan, read back by a consumer (pyarrow.json) and
rolled up to the hour, equal the performance files `adsgen generate` writes for the same
options and seed. The clock: `--speed` maps event time to wall time and `--rate` caps
events per second (lower bounds only: a busy machine may only be slower).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.json as pj

from adsgen.stream.encode import from_arrow
from adsgen.stream.rollup import active_rows, rollup
from cliutil import invoke

PLAN = ["--line-items", "2", "--days", "1", "--start", "2026-09-01"]


def _rolled(path: Path) -> pa.Table:
    return rollup(from_arrow(pj.read_json(path)))


def _stream_and_batch(tmp_path: Path, plan: list[str], hours: int) -> tuple[pa.Table, pa.Table]:
    """The first `hours` of `plan` streamed to a file and rolled up to the hour, beside the
    performance rows `generate` writes for the same options over those hours (sorted)."""
    events = tmp_path / "events.jsonl"
    result = invoke("-q", "stream", *plan, "--duration", f"{hours}h", "--speed", "max",
                    "--to", f"file:{events}")
    assert result.exit_code == 0, result.output
    made = invoke("-q", "generate", *plan, "--out", str(tmp_path / "batch"))
    assert made.exit_code == 0, made.output
    batch = ds.dataset(tmp_path / "batch" / "performance", partitioning="hive").to_table()
    batch = batch.drop_columns([c for c in batch.column_names if c == "date"])
    batch = batch.filter(pc.less(batch["hour"], pa.scalar(
        datetime(2026, 9, 1, hours), type=batch.schema.field("hour").type)))
    batch = batch.sort_by([("line_item_id", "ascending"), ("creative_id", "ascending"),
                           ("hour", "ascending"), ("device", "ascending")])
    return _rolled(events), batch


def test_stream_equals_generate_for_the_same_options(tmp_path: Path) -> None:
    got, batch = _stream_and_batch(tmp_path, PLAN, 3)
    want = active_rows(batch).cast(got.schema)
    assert got.num_rows > 0
    assert got.equals(want)


def test_a_stream_on_several_platforms_equals_generate_on_them(tmp_path: Path) -> None:
    plan = [*PLAN, "--line-items", "6", "--platform", "netflix_like,hulu_like,roku_like"]
    got, batch = _stream_and_batch(tmp_path, plan, 2)
    events = tmp_path / "events.jsonl"
    assert got.equals(active_rows(batch).cast(got.schema))
    read = pj.read_json(events)
    delivered = read.filter(pc.is_valid(read["platform"]))
    assert set(delivered["platform"].to_pylist()) == {"netflix_like", "hulu_like", "roku_like"}
    on = dict(zip(*(ds.dataset(tmp_path / "batch" / "line_items.parquet").to_table()[c]
                    .to_pylist() for c in ("id", "platform")), strict=True))
    assert all(on[li] == name for li, name in zip(delivered["line_item_id"].to_pylist(),
                                                  delivered["platform"].to_pylist(),
                                                  strict=True))


def test_stdout_sink_and_summary_on_stderr(tmp_path: Path) -> None:
    result = invoke("stream", *PLAN, "--duration", "1h", "--speed", "max", "--to", "-")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith('{"event_id":"') for line in lines)
    assert f"streamed {len(lines):,} events" in result.stderr


def test_speed_maps_event_time_to_wall_time(tmp_path: Path) -> None:
    began = time.monotonic()
    result = invoke("stream", *PLAN, "--duration", "2h", "--speed", "3600",
                    "--to", f"file:{tmp_path / 'e.jsonl'}")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - began >= 1.5  # two hours of events at an hour a second
    progress = [line for line in result.stderr.splitlines() if line.startswith("stream: ")]
    assert progress, result.stderr  # about one a second: event time, wall, events/s, lag
    assert all("event time 2026-09-01T0" in line and "/s" in line and " lag " in line
               for line in progress[:-1]), progress


def test_json_summary_reports_the_lag(tmp_path: Path) -> None:
    result = invoke("-q", "--json", "stream", *PLAN, "--duration", "1h", "--speed", "3600",
                    "--to", f"file:{tmp_path / 'e.jsonl'}")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["events"] > 0 and summary["last_event_id"]
    assert 0 <= summary["max_lag_seconds"] < 30  # far from the hour a slow loop would lag
    assert sum(summary["by_type"].values()) == summary["events"]


def test_rate_caps_events_per_second(tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    began = time.monotonic()
    result = invoke("-q", "stream", *PLAN, "--duration", "20m", "--speed", "max",
                    "--rate", "20000", "--to", f"file:{out}")
    assert result.exit_code == 0, result.output
    lines = sum(1 for _ in out.open())
    assert lines > 20000
    assert time.monotonic() - began >= (lines - 20000) / 20000


def test_bad_options_exit_2_with_one_line(tmp_path: Path) -> None:
    cases = [
        (["--speed", "fast"], "--speed"),
        (["--to", "ftp://example/x"], "not a sink"),
        (["--to", "redis://user:hunter2@127.0.0.1:1/0?stream=s"], "redis"),
        (["--faults", "dupe=0.1", "--ledger", str(tmp_path / "l")], "did you mean 'duplicate'"),
        (["--faults", "drop=0.1"], "--ledger"),
        (["--duration", "soon"], "--duration"),
        (["--resume"], "--checkpoint"),
        (["--platform", "netflix_like,hulu_lik"], "did you mean 'hulu_like'"),
    ]
    for extra, words in cases:
        result = invoke("stream", *PLAN, "--speed", "max", "--to", f"file:{tmp_path / 'x'}",
                        *extra) if extra[0] != "--to" else invoke("stream", *PLAN, "--speed",
                                                                  "max", *extra)
        assert result.exit_code == 2, (extra, result.output)
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith("error: ") and words in line, (extra, line)
        assert "hunter2" not in result.stderr
