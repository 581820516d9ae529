"""Opt-in delivery faults and their ledger: the oracle a pipeline under test is scored by.

`--faults drop=0.001,duplicate=0.005,late=0.01,out_of_order=0.02` gives each event at most
one fault, drawn keyed by the event (same seed, same faults):

| fault | what happens | ledger `delay_ms` |
| --- | --- | --- |
| `drop` | the event is never sent (a lost beacon) | 0 |
| `duplicate` | sent twice: again 0.1–30 s after its time, same event id | the copy's delay |
| `late` | sent 1–60 min after its time (after its hour has closed) | the delay |
| `out_of_order` | sent 0.5–10 s after its time, behind later events | the delay |

Events keep their true `time`; only when they are sent changes (their place in the
sequence). The ledger (JSON lines: `event_id, fault, type, time, delay_ms`) names every
injected fault, so a consumer's de-duplication and late handling can be checked against
it; the stream without the ledger's faults is exactly the batch.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from adsgen.exceptions import AdsgenError
from adsgen.seeding import entity_keys, hash_counters, rehash, uniform
from adsgen.stream.encode import event_ids
from adsgen.stream.events import EVENT_TYPES, FIRST_CHANGE, EventBatch

__all__ = ["FAULTS", "Faults", "parse_faults"]

FAULTS: dict[str, tuple[float, float]] = {
    "drop": (0.0, 0.0),
    "duplicate": (0.1, 30.0),
    "late": (60.0, 3600.0),
    "out_of_order": (0.5, 10.0),
}
"""Each fault and the range of its delay in seconds."""
_US = 1_000_000


def parse_faults(text: str) -> dict[str, float]:
    """`name=rate,…` → rates; AdsgenError naming the part that is wrong."""
    rates: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        match = re.fullmatch(r"([a-z_]+)\s*=\s*([0-9.eE+-]+)", part)
        if match is None:
            raise AdsgenError(f"--faults: {part[:80]!r} is not NAME=RATE; known faults: "
                              f"{', '.join(FAULTS)}")
        name, value = match.groups()
        if name not in FAULTS:
            from difflib import get_close_matches

            close = get_close_matches(name, list(FAULTS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise AdsgenError(f"--faults: unknown fault {name[:40]!r}{hint} Known faults: "
                              f"{', '.join(FAULTS)}")
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate <= 1.0:
            raise AdsgenError(f"--faults: {name} must be a share from 0 to 1, got {value[:40]}")
        rates[name] = rate
    if sum(rates.values()) > 1.0:
        raise AdsgenError("--faults: the rates add up to more than 1")
    return rates


class Faults:
    """Applies the faults hour by hour, holds delayed events, writes the ledger."""

    def __init__(self, rates: dict[str, float], *, seed: int, ledger: Path | None) -> None:
        self.rates = {k: v for k, v in rates.items() if v > 0}
        self.seed = seed
        self.ledger_path = ledger
        self._ledger: BinaryIO | None = None
        self._bytes = 0
        self._hours = 0
        self._quiet_hours = 0
        self._pending = EventBatch.empty()
        self._counts: Counter[str] = Counter()

    @classmethod
    def none(cls) -> Faults:
        """No fault: events go out as made."""
        return cls({}, seed=0, ledger=None)

    @property
    def active(self) -> bool:
        return bool(self.rates)

    def open(self, resume: dict[str, Any] | None) -> None:
        """Open the ledger (cut back to the checkpoint when resuming)."""
        if self.ledger_path is None or not self.active:
            return
        try:
            if resume:
                size = int(resume.get("bytes", 0))
                handle = self.ledger_path.open("r+b")
                handle.truncate(size)
                handle.seek(size)
                self._ledger, self._bytes = handle, size
                self._quiet_hours = int(resume.get("hours", 0))
            else:
                self._ledger = self.ledger_path.open("wb")
        except OSError as exc:
            raise AdsgenError(f"--ledger {self.ledger_path}: {exc.strerror or exc}") from None

    def apply(self, events: EventBatch, *, now_us: int) -> EventBatch:
        """The events to send before event time `now_us`, in sending order: these (with
        their faults) and held ones now due. Called once per hour, in order."""
        self._hours += 1
        if not self.active:
            return events
        n = len(events)
        keys = entity_keys(self.seed, "stream.faults", events.line_item)
        where = np.bitwise_xor(np.left_shift(events.hour.astype(np.uint64), np.uint64(24)),
                               np.left_shift(events.ordinal.astype(np.uint64), np.uint64(4)))
        where = np.bitwise_xor(where, events.kind.astype(np.uint64))
        h = hash_counters(hash_counters(keys, events.creative.astype(np.uint64) * np.uint64(4)
                                        + events.device.astype(np.uint64)), where)
        u = uniform(h).astype(np.float64)
        wait = uniform(rehash(h, 1)).astype(np.float64)
        which = np.full(n, -1, dtype=np.int64)
        edge = 0.0
        names = list(self.rates)
        for code, name in enumerate(names):
            rate = self.rates[name]
            which[(u >= edge) & (u < edge + rate)] = code
            edge += rate
        which[events.kind >= FIRST_CHANGE] = -1  # entity changes: no beacon to lose
        delay = np.zeros(n, dtype=np.int64)
        for code, name in enumerate(names):
            low, high = FAULTS[name]
            mask = which == code
            delay[mask] = ((low + wait[mask] * (high - low)) * _US).astype(np.int64)
        code_of = {name: code for code, name in enumerate(names)}
        keep = which != code_of.get("drop", -2)
        moved = (which >= 0) & (which != code_of.get("duplicate", -2)) & keep
        emit = events.emit.copy()
        emit[moved] += delay[moved]
        shifted = events.take(np.arange(n))
        shifted.emit = emit
        dup = np.flatnonzero(which == code_of.get("duplicate", -2))
        copies = events.take(dup)
        copies.emit = copies.time + delay[dup]
        self._record(events, which, delay, names)
        pool = EventBatch.concat([self._pending, shifted.take(np.flatnonzero(keep)), copies])
        order = np.argsort(pool.emit, kind="stable")
        pool = pool.take(order)
        due = int(np.searchsorted(pool.emit, now_us, side="left"))
        self._pending = pool.take(np.arange(due, len(pool)))
        return pool.take(np.arange(due))

    def flush(self) -> EventBatch:
        """Every event still held, in sending order (the end of the stream)."""
        held, self._pending = self._pending, EventBatch.empty()
        return held

    def _record(self, events: EventBatch, which: np.ndarray, delay: np.ndarray,
                names: list[str]) -> None:
        hit = np.flatnonzero(which >= 0)
        for code, name in enumerate(names):
            self._counts[name] += int((which == code).sum())
        if self._ledger is None or not len(hit) or self._hours <= self._quiet_hours:
            return
        faulty = events.take(hit)
        ids = event_ids(faulty).to_pylist()
        kinds = faulty.kind.tolist()
        times = (faulty.time // 1000).tolist()
        lines = [json.dumps({"event_id": i, "fault": names[w], "type": EVENT_TYPES[k],
                             "time_ms": t, "delay_ms": int(d // 1000)})
                 for i, w, k, t, d in zip(ids, which[hit].tolist(), kinds, times,
                                          delay[hit].tolist(), strict=True)]
        data = ("\n".join(lines) + "\n").encode()
        self._ledger.write(data)
        self._bytes += len(data)

    def commit(self) -> dict[str, Any]:
        """Flush the ledger; what a checkpoint keeps."""
        if self._ledger is not None:
            self._ledger.flush()
        return {"bytes": self._bytes, "hours": self._hours}

    def counts(self) -> dict[str, int]:
        """Faults injected per kind (so far)."""
        return dict(self._counts)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
