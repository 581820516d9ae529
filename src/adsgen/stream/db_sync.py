"""Live sync into a database: the plan's entities once, then each hour's rollup of the
events upserted into `performance` as the hour closes, so a query sees delivery grow.

`--to sqlite:///live.db` (or `postgresql+psycopg://…`, `mysql+pymysql://…`). At start, in
one transaction that also creates missing tables, the plan's entity tables (advertisers …
targeting, the ids `adsgen generate` gives them) are inserted into an empty database; a
database that already holds exactly this plan's line items (a resumed or repeated stream) is
used as it is; any other dataset is refused (exit 2), nothing changed. Entities go in as
they were before their change events (campaigns and line items `draft`, creatives the batch
holds approved `pending_servable`); each change event then updates its row as it arrives
(`adsgen.stream.changes`), so when the stream has run its course the entity tables are the
batch's. Then every time an hour of event time closes, the events of that hour are rolled up
(`adsgen.stream.rollup`) and upserted by primary key (line item, creative, hour, device) in
one transaction: writing an hour again writes the same row, so a resumed stream neither
loses nor doubles anything. `cumulative_reach` counts the distinct households the sync has
seen per line item × device. Late events (`--faults late=…`) re-write their hour when the
next hour closes; what the sync writes is what it received, duplicates included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from adsgen.exceptions import AdsgenError
from adsgen.stream.changes import ChangeBook, before_changes, change_statements
from adsgen.stream.events import FIRST_CHANGE, IMPRESSION, EventBatch, EventWorld
from adsgen.stream.rollup import rollup, with_platforms
from adsgen.stream.sinks import EventSink, SinkFailed

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = ["DatabaseSync"]

_HOUR_US = 3_600_000_000
_KEEP_HOURS = 3
"""Closed hours whose events stay in memory, so late events can re-write them."""


class DatabaseSync(EventSink):
    """Hourly rollups upserted into a database's performance table as hours close."""

    def __init__(self, url: str) -> None:
        from adsgen.storage.database import masked_url

        self.url = url
        self.label = masked_url(url)
        self._engine: Engine | None = None
        self._open: dict[int, list[EventBatch]] = {}
        self._closed: dict[int, list[EventBatch]] = {}
        self._dirty: set[int] = set()
        self._seen = np.zeros(0, dtype=np.int64)
        self._reach: dict[int, int] = {}
        self.rows_written = 0
        self.hours_written = 0
        self.changes_applied = 0
        self._acknowledged = 0

    def open(self, world: EventWorld, resume: dict[str, Any] | None) -> int:
        super().open(world, resume)
        from adsgen.runs.jobs import open_database

        self._engine = open_database(self.url)
        self._write_entities(world.entities)
        return 0

    def _write_entities(self, entities: dict[str, pa.Table]) -> None:
        from sqlalchemy import select

        from adsgen.storage import orm
        from adsgen.storage.database import bulk_insert, write_transaction

        assert self._engine is not None
        items = entities.get("line_items")
        wanted = sorted(items["id"].to_pylist()) if items is not None else []
        with write_transaction(self._engine, "cannot sync into") as conn:
            have = sorted(conn.execute(select(orm.LineItem.id)).scalars())
            if have == wanted:
                return  # this plan is there already (a resumed or repeated stream)
            if have:
                raise AdsgenError(
                    f"{self.label} holds another dataset ({len(have):,} line items); live "
                    "sync writes a stream's plan into an empty database: give a new one")
            for table in orm.Base.metadata.sorted_tables:
                data = entities.get(table.name)
                if data is not None and data.num_rows:
                    bulk_insert(conn, table.name, before_changes(table.name, data))

    def send(self, events: EventBatch) -> None:
        is_change = events.kind >= FIRST_CHANGE
        if is_change.any():
            self._apply(events.take(np.flatnonzero(is_change)))
            events = events.take(np.flatnonzero(~is_change))
        hour = events.time // _HOUR_US * 3600
        for h in np.unique(hour).tolist():
            part = events.take(np.flatnonzero(hour == h))
            if h in self._closed:
                self._closed[h].append(part)
                self._dirty.add(h)
            else:
                self._open.setdefault(h, []).append(part)

    def hour_closed(self, hour: int, emitted: int) -> None:
        for h in sorted(k for k in self._open if k <= hour):
            self._closed[h] = self._open.pop(h)
            self._dirty.add(h)
        self._flush()
        for h in sorted(self._closed)[:-_KEEP_HOURS]:
            del self._closed[h]
        self._acknowledged = emitted

    def _flush(self) -> None:
        if not self._dirty:
            return
        tables = [self._rows(h) for h in sorted(self._dirty)]
        self._dirty.clear()
        data = pa.concat_tables(tables)
        try:
            self._upsert(data)
        except AdsgenError:
            raise
        except Exception as exc:
            from adsgen.storage.database import scrub

            raise SinkFailed(f"cannot sync into {self.label}: "
                             f"{scrub(' '.join(str(exc).split()), self.url)[:300]}") from None
        self.rows_written += data.num_rows
        self.hours_written += len(tables)

    def _rows(self, hour: int) -> pa.Table:
        """The hour's rows from its events, cumulative reach from every household seen."""
        events = EventBatch.concat(self._closed[hour])
        rows = rollup(events)
        imp = events.kind == IMPRESSION
        pair = events.line_item[imp] * 4 + events.device[imp].astype(np.int64)
        keys = np.unique(pair * (1 << 30) + events.household[imp])
        new = keys[~np.isin(keys, self._seen, assume_unique=True)]
        if len(new):
            self._seen = np.union1d(self._seen, new)
            pairs, counts = np.unique(new >> 30, return_counts=True)
            for p, c in zip(pairs.tolist(), counts.tolist(), strict=True):
                self._reach[p] = self._reach.get(p, 0) + c
        dev = {"ctv": 0, "desktop": 1, "mobile": 2}
        row_pair = (np.asarray(rows["line_item_id"].to_numpy()) * 4
                    + np.array([dev[d] for d in rows["device"].to_pylist()], dtype=np.int64))
        reach = pa.array([self._reach.get(p, 0) for p in row_pair.tolist()], type=pa.int64())
        rows = rows.set_column(rows.schema.get_field_index("cumulative_reach"),
                               "cumulative_reach", reach)
        return with_platforms(rows, self.world.entities["line_items"])

    def _apply(self, changes: EventBatch) -> None:
        """Entity changes, in order, in one transaction (setting a value twice is harmless:
        a resumed stream may replay them)."""
        from adsgen.storage.database import write_transaction

        assert self._engine is not None
        try:
            with write_transaction(self._engine, "cannot sync into") as conn:
                book = self.world.book or ChangeBook.of(self.world.entities)
                for statement in change_statements(changes, book):
                    conn.execute(statement)
        except AdsgenError:
            raise
        except Exception as exc:
            from adsgen.storage.database import scrub

            raise SinkFailed(f"cannot sync into {self.label}: "
                             f"{scrub(' '.join(str(exc).split()), self.url)[:300]}") from None
        self.changes_applied += len(changes)

    def _upsert(self, data: pa.Table) -> None:
        from adsgen.storage import orm
        from adsgen.storage.database import write_transaction

        assert self._engine is not None
        table = orm.Base.metadata.tables["performance"]
        records = data.to_pylist()
        with write_transaction(self._engine, "cannot sync into") as conn:
            conn.execute(_upsert_statement(conn, table), records)

    def commit(self) -> dict[str, Any]:
        """Only closed hours are in the database: a resumed stream replays the open one."""
        return {"hours": self.hours_written, "acknowledged": self._acknowledged}

    def close(self) -> None:
        # what is still open (the stream stopped): write it, the hours are as far as it got
        for h in sorted(self._open):
            self._closed[h] = self._open.pop(h)
            self._dirty.add(h)
        if self._engine is not None:
            try:
                self._flush()
            finally:
                self._engine.dispose()
                self._engine = None


def _upsert_statement(conn: Connection, table: Any) -> Any:
    """INSERT … ON CONFLICT (primary key) DO UPDATE for the connection's dialect."""
    keys = [c.name for c in table.primary_key.columns]
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pstmt = pg_insert(table)
        return pstmt.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: pstmt.excluded[c.name] for c in table.columns if c.name not in keys})
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        sstmt = sqlite_insert(table)
        return sstmt.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: sstmt.excluded[c.name] for c in table.columns if c.name not in keys})
    from sqlalchemy.dialects.mysql import insert as mysql_insert

    mstmt = mysql_insert(table)
    return mstmt.on_duplicate_key_update(
        {c.name: mstmt.inserted[c.name] for c in table.columns if c.name not in keys})
