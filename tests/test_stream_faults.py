"""Faults and their ledger: every injected fault is in the ledger, by event id, and a
consumer that de-duplicates by event id and counts late events in their own hour gets the
batch back once the ledger's dropped events are added (the ledger is a complete oracle)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from adsgen.stream.encode import from_arrow
from adsgen.stream.faults import parse_faults
from adsgen.stream.rollup import rollup
from cliutil import invoke

PLAN = ["--line-items", "2", "--days", "1", "--start", "2026-09-01", "--duration", "3h",
        "--speed", "max"]
FAULTS = "drop=0.01,duplicate=0.02,late=0.01,out_of_order=0.03"


def test_the_ledger_names_every_fault_and_scores_a_consumer(tmp_path: Path) -> None:
    clean, faulty, ledger = tmp_path / "clean.jsonl", tmp_path / "faulty.jsonl", tmp_path / "l"
    assert invoke("-q", "stream", *PLAN, "--to", f"file:{clean}").exit_code == 0
    result = invoke("-q", "stream", *PLAN, "--faults", FAULTS, "--ledger", str(ledger),
                    "--to", f"file:{faulty}")
    assert result.exit_code == 0, result.output
    truth = pj.read_json(clean)
    got = pj.read_json(faulty)
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    by_fault: dict[str, set[str]] = {}
    for entry in entries:
        by_fault.setdefault(entry["fault"], set()).add(entry["event_id"])
    ids = got["event_id"].to_pylist()
    clean_ids = set(truth["event_id"].to_pylist())
    unique_rows = _first_occurrences(ids)
    twice = set(ids[k] for k in sorted(set(range(len(ids))) - set(unique_rows)))
    assert twice == by_fault["duplicate"]
    assert clean_ids - set(ids) == by_fault["drop"]
    assert set(ids) <= clean_ids
    n = len(clean_ids)
    for name, rate in parse_faults(FAULTS).items():  # about the asked share of events
        assert 0.5 * rate * n < len(by_fault[name]) < 1.5 * rate * n, name
    # late and reordered events come after a later event
    times = pc.cast(got["time"], pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    later_before = {ids[k] for k in range(1, len(ids)) if times[:k].max() > times[k]}
    assert by_fault["late"] <= later_before and by_fault["out_of_order"] <= later_before
    # the consumer: de-duplicate, roll up, add back what the ledger says was dropped
    deduped = got.take(pa.array(unique_rows))
    dropped = truth.filter(pc.is_in(truth["event_id"], pa.array(sorted(by_fault["drop"]))))
    consumer = pa.concat_tables([deduped.select(truth.column_names),
                                 dropped.select(truth.column_names)])
    assert rollup(from_arrow(consumer)).equals(rollup(from_arrow(truth)))
    assert not rollup(from_arrow(got)).equals(rollup(from_arrow(truth)))


def _first_occurrences(ids: list[str]) -> list[int]:
    seen: set[str] = set()
    rows = []
    for k, i in enumerate(ids):
        if i not in seen:
            seen.add(i)
            rows.append(k)
    return rows
