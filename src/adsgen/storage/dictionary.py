"""The data dictionary: every table, view and column adsgen writes, read from the metadata.

Descriptions live once, next to the column definitions: `comment=`/`info=` on the ORM
columns of the entity tables (`adsgen.storage.orm`), Arrow field metadata on the fact tables
(`adsgen.simulate.columns`, which the ORM copies into its comments). This module adds only
what the metadata already knows — SQL type, file type, keys, allowed values — so nothing is
written twice. `adsgen schema` renders it; `docs/data-dictionary.md` is its markdown
(`make docs`), and a test fails when that file is stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column as SAColumn
from sqlalchemy import Enum as SAEnum
from sqlalchemy import Table as SATable
from sqlalchemy import UniqueConstraint
from sqlalchemy.dialects import postgresql

from adsgen.exceptions import AdsgenError
from adsgen.storage.orm import VIEWS, Base, UtcDateTime, View

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CONVENTIONS",
    "DDL_DIALECTS",
    "ColumnDoc",
    "TableDoc",
    "arrow_schema",
    "data_dictionary",
    "ddl",
    "find_table",
    "to_json",
    "to_markdown",
]

DDL_DIALECTS: tuple[str, ...] = ("postgresql", "mysql", "mariadb", "sqlite")
"""Dialects `ddl` compiles for (mysql: MySQL proper, which drops two CHECKs MariaDB keeps)."""

CONVENTIONS: tuple[str, ...] = (
    "Money is integer **micros** of the advertiser's currency (`advertisers.currency`):"
    " 1 unit = 1,000,000 micros, so 12.50 USD is 12500000; divide by 1e6 to read it, sum it"
    " as integers (exact).",
    "Every timestamp is a **UTC** instant in microseconds: `timestamp[us, tz=UTC]` in Parquet"
    " (DuckDB: TIMESTAMP WITH TIME ZONE), `2026-09-01T00:00:00Z` in CSV and JSON lines,"
    " `timestamptz` on PostgreSQL, a UTC `DATETIME` on MariaDB/MySQL and SQLite. Flights and"
    " hours are whole UTC hours; a flight is the half-open interval [start_at, end_at).",
    "Ids are integers assigned in plan order from 1; every foreign key names the `id` of its"
    " table, and every child row is deleted with its parent (ON DELETE CASCADE).",
    "`flights`, `budgets` and `frequency_caps` hold rows of two owners: exactly one of"
    " `campaign_id` / `line_item_id` is set (a CHECK enforces it). Filter on the owner you"
    " mean, or use the views `campaign_*` / `line_item_*` that do it for you.",
    "Enumerations are stored as their text value (the allowed values are listed per"
    " column).",
    "A generated folder holds one file per entity table (`advertisers.parquet` …), each fact"
    " table as parts in its folder (`performance/date=YYYY-MM-DD/part-*.parquet`, partitioned"
    " by the UTC date of `hour`; unpartitioned ones as `ground_truth/part-*.parquet`; see each"
    " table's **Files**) and `manifest.json`. File columns are the"
    " database columns; `adsgen load` reads them as they are. Views exist in databases only"
    " (on PostgreSQL, dropping flights, budgets or frequency_caps by hand needs CASCADE).",
)
"""What holds for every table: units, time, ids, owners, files."""

_POSTGRESQL = postgresql.dialect()  # type: ignore[no-untyped-call]  # names the SQL types


@dataclass(frozen=True)
class ColumnDoc:
    """One column: its types, unit, key role, allowed values and meaning."""

    name: str
    sql_type: str
    file_type: str
    nullable: bool
    unit: str
    key: str
    values: tuple[str, ...]
    description: str

    @property
    def meaning(self) -> str:
        """The description, then the allowed values and whether it may be null."""
        text = self.description
        if self.values:
            text += f" One of: {', '.join(self.values)}."
        if self.nullable and "PK" not in self.key:
            text += " May be null."
        return text.strip()


@dataclass(frozen=True)
class TableDoc:
    """One table or view: meaning, grain, keys, joins, where it lives and its columns."""

    name: str
    kind: str
    description: str
    grain: str
    primary_key: tuple[str, ...]
    joins: tuple[str, ...]
    files: str
    columns: tuple[ColumnDoc, ...]


# --- building the dictionary from the metadata ------------------------------------------------


def _arrow_type(column: SAColumn[Any]) -> pa.DataType:
    """The Arrow type an entity column has in generated files (from its Python type)."""
    import datetime as dt
    from decimal import Decimal

    import pyarrow as pa

    from adsgen.simulate.columns import TIMESTAMP

    if isinstance(column.type, UtcDateTime):
        return TIMESTAMP
    python = column.type.python_type
    kinds: list[tuple[type, pa.DataType]] = [
        (bool, pa.bool_()), (int, pa.int64()), (float, pa.float64()),
        (dt.datetime, TIMESTAMP), (dt.date, pa.date32()), (Decimal, pa.string()),
        (str, pa.string()),
    ]
    return next((arrow for kind, arrow in kinds if issubclass(python, kind)), pa.string())


def arrow_schema(table: str, names: Sequence[str] | None = None) -> pa.Schema:
    """The Arrow schema of `table` as generated files hold it (`names`: those columns only).

    The fact tables' are the simulation's own schemas; an entity table's follows its ORM
    columns. The loader reads CSV and JSON lines with it. KeyError for an unknown table.
    """
    import pyarrow as pa

    from adsgen.simulate.columns import FACT_TABLES

    sa_table = Base.metadata.tables[table]
    wanted = list(sa_table.c.keys()) if names is None else list(names)
    if table in FACT_TABLES:
        schema = FACT_TABLES[table].schema
        return pa.schema([schema.field(name) for name in wanted])
    return pa.schema([pa.field(name, _arrow_type(sa_table.c[name])) for name in wanted])


def _keys(table: SATable, column: SAColumn[Any]) -> str:
    """'PK', 'unique', 'FK → t.c' or 'FK (a, b) → t (x, y)' for a column, joined by ', '."""
    parts = ["PK"] if column.primary_key else []
    if column.unique or any(
        [c.name for c in u.columns] == [column.name]
        for u in table.constraints
        if isinstance(u, UniqueConstraint)
    ):
        parts.append("unique")
    for fk in sorted(table.foreign_key_constraints, key=lambda f: list(f.column_keys)):
        names = [c.name for c in fk.columns]
        if column.name not in names:
            continue
        target = fk.referred_table.name
        referred = [e.column.name for e in fk.elements]
        if len(names) == 1:
            parts.append(f"FK → {target}.{referred[0]}")
        else:
            parts.append(f"FK ({', '.join(names)}) → {target} ({', '.join(referred)})")
    return ", ".join(parts)


def _column_doc(table: SATable, column: SAColumn[Any], file_type: str) -> ColumnDoc:
    values: tuple[str, ...] = tuple(column.info.get("values", ()))
    if not values and isinstance(column.type, SAEnum):
        values = tuple(column.type.enums)
    return ColumnDoc(
        name=column.name,
        sql_type=str(column.type.compile(dialect=_POSTGRESQL)),
        file_type=file_type,
        nullable=bool(column.nullable),
        unit=str(column.info.get("unit", "")),
        key=_keys(table, column),
        values=values,
        description=str(column.comment or ""),
    )


def _table_doc(table: SATable) -> TableDoc:
    from adsgen.simulate.columns import FACT_TABLES

    schema = arrow_schema(table.name)
    return TableDoc(
        name=table.name,
        kind="fact" if table.name in FACT_TABLES else "entity",
        description=str(table.comment or ""),
        grain=str(table.info.get("grain", "")),
        primary_key=tuple(c.name for c in table.primary_key.columns),
        joins=tuple(table.info.get("joins", ())),
        files=str(table.info.get("files", f"{table.name}.parquet")),
        columns=tuple(
            _column_doc(table, c, str(schema.field(c.name).type) if c.info.get("files", True)
                        else "(not in files)")
            for c in table.columns
        ),
    )


def _view_doc(view: View) -> TableDoc:
    base = _table_doc(view.table)
    kept = {c.name for c in view.columns}
    return TableDoc(
        name=view.name,
        kind="view",
        description=view.description,
        grain=view.grain,
        primary_key=(),
        joins=view.joins,
        files="(databases only)",
        columns=tuple(c for c in base.columns if c.name in kept),
    )


def data_dictionary() -> list[TableDoc]:
    """Every table — the entities from advertisers down, then the facts — then the views."""
    from adsgen.build.numbering import ENTITY_TABLES
    from adsgen.simulate.columns import FACT_TABLES

    order = [*ENTITY_TABLES, *FACT_TABLES]
    tables = sorted(Base.metadata.sorted_tables,
                    key=lambda t: order.index(t.name) if t.name in order else len(order))
    return [*(_table_doc(t) for t in tables), *(_view_doc(v) for v in VIEWS)]


def find_table(name: str) -> TableDoc:
    """The table or view called `name`; UnknownNameError (exit 2) listing them all."""
    from adsgen.exceptions import UnknownNameError

    docs = data_dictionary()
    for doc in docs:
        if doc.name == name:
            return doc
    raise UnknownNameError("table", name, [d.name for d in docs])


# --- DDL ---------------------------------------------------------------------------------------


def ddl(dialect: str, table: str | None = None) -> str:
    """The CREATE statements of every table (or of `table` alone) for `dialect`, as text.

    What `adsgen init-db` runs, compiled without a database: CREATE TABLE with its keys and
    CHECKs, indexes, column comments (PostgreSQL's COMMENT ON; inline on MySQL) and the
    owner views. AdsgenError for an unknown dialect or table.
    """
    from sqlalchemy import create_mock_engine

    from adsgen.storage.orm import CreateView

    if dialect not in DDL_DIALECTS:
        raise AdsgenError(f"unknown dialect {dialect!r}; choose one of {', '.join(DDL_DIALECTS)}")
    statements: list[str] = []

    def executor(sql: Any, *multiparams: Any, **params: Any) -> None:
        statements.append(str(sql.compile(dialect=engine.dialect)).strip())

    engine = create_mock_engine(f"{dialect}://", executor)
    views = {v.name: v for v in VIEWS}
    if table in views:
        executor(CreateView(views[table]))
    elif table is not None:
        find_table(table)  # the error lists the names
        Base.metadata.create_all(engine, tables=[Base.metadata.tables[table]], checkfirst=False)
    else:
        Base.metadata.create_all(engine, checkfirst=False)
    text = "".join(f"{statement};\n\n" for statement in statements).rstrip("\n") + "\n"
    return "\n".join(line.rstrip() for line in text.split("\n"))


# --- renderings ------------------------------------------------------------------------------


def to_json(tables: Iterable[TableDoc]) -> dict[str, Any]:
    """The dictionary as plain JSON values: conventions, then tables with their columns."""
    return {"conventions": list(CONVENTIONS), "tables": [asdict(t) for t in tables]}


def _md(text: str) -> str:
    """Text for a markdown table cell."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _code(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def to_markdown(tables: Sequence[TableDoc]) -> str:
    """The dictionary as a markdown document (docs/data-dictionary.md)."""
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by `adsgen schema --format markdown` (run `make docs`); do not edit."
        " -->",
        "",
        "Every table and column adsgen writes, to files (`adsgen generate`) and to databases"
        " (`adsgen init-db`, `run-all`, `load`). `adsgen schema` prints the same;"
        " `adsgen schema --ddl postgresql|mysql|mariadb|sqlite` prints the DDL.",
        "",
        "## Conventions",
        "",
        *(f"- {c}" for c in CONVENTIONS),
        "",
        "## Tables",
        "",
        "| table | kind | grain |",
        "| --- | --- | --- |",
        *(f"| [`{t.name}`](#{t.name}) | {t.kind} | {_md(t.grain)} |" for t in tables),
    ]
    for table in tables:
        lines += ["", f"## {table.name}", "", table.description, ""]
        lines.append(f"- **Grain:** {table.grain}")
        if table.primary_key:
            lines.append(f"- **Primary key:** {_code(table.primary_key)}")
        for join in table.joins:
            lines.append(f"- **Join:** {join}")
        lines.append(f"- **Files:** `{table.files}`" if table.kind != "view"
                     else "- **Files:** none (a view, in databases only)")
        lines += [
            "",
            "| column | type | file type | unit | key | description |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in table.columns:
            lines.append(
                f"| `{c.name}` | {c.sql_type} | {c.file_type} | {_md(c.unit)} | {_md(c.key)}"
                f" | {_md(c.meaning)} |"
            )
    return "\n".join(lines) + "\n"
