"""Scoring a model's estimates against a run's truth: `adsgen score`.

A data scientist fits a model on what a run observed (performance, reach …) and wants to
know how close it came to the parameters the simulation actually used. `METRICS` is the one
registry of what can be scored: each `Metric` names the truth table (a `FACT_TABLES` entry),
the columns that key one estimate, the truth columns and how they make the true value, and
fixed column values that select the rows (the reach table's flight rows over all devices).
Scoring a new truth (lift per line item, ROI per channel) is one entry here.

`score` reads the estimates (CSV or Parquet: the key columns, `estimate`, optional `lower`
and `upper`), reads the truth from a generated folder (PyArrow, through the manifest-checked
readers of `adsgen.runs.blocks`) or a database (SQLAlchemy, read only), matches them on the
key and returns a `Score`: matched and missing counts, bias, MAE, RMSE, MAPE, correlation,
and with intervals their coverage and mean width. Everything the user can get wrong raises
AdsgenError with one line; nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from adsgen.exceptions import AdsgenError, DatabaseError, UnknownNameError, shown

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

__all__ = [
    "ESTIMATE", "LOWER", "METRICS", "UPPER", "Figures", "Metric", "Score", "figures", "metric",
    "score",
]

ESTIMATE: Final = "estimate"
LOWER: Final = "lower"
UPPER: Final = "upper"
ESTIMATE_SUFFIXES: Final = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

Formula = Callable[[Mapping[str, "np.ndarray"]], "np.ndarray"]


def _ratio(numerator: str, denominator: str) -> Formula:
    """The truth as numerator ÷ denominator; NaN (no truth, the key is left out) where the
    denominator is 0."""

    def formula(columns: Mapping[str, np.ndarray]) -> np.ndarray:
        import numpy as np

        top, bottom = columns[numerator], columns[denominator]
        out = np.full(top.shape, np.nan)
        np.divide(top, bottom, out=out, where=bottom > 0)
        return out

    return formula


@dataclass(frozen=True, slots=True)
class Metric:
    """What one metric name scores: `truth` columns of the fact table `table`, one value per
    `key`, on the rows whose columns equal `where`. With one truth column and no `formula`
    the truth is that column; else `formula(columns)`."""

    name: str
    table: str
    key: tuple[str, ...]
    truth: tuple[str, ...]
    description: str
    where: Mapping[str, str] = field(default_factory=dict)
    formula: Formula | None = None
    reshape: Callable[[pa.Table], pa.Table] | None = None
    """Turns the rows read (`reads`) into one row per key with a `truth` column, for a truth
    summed over rows (ROI per advertiser × channel of the MMM table)."""
    reads: tuple[str, ...] = ()
    """The columns `reshape` reads (default: key and truth columns)."""
    key_types: Mapping[str, str] = field(default_factory=dict)
    """Arrow types of key columns the table does not hold (made by `reshape`)."""

    @property
    def columns(self) -> list[str]:
        """The columns read from the truth table (`<ch>` in `reads`: every MMM channel)."""
        if not self.reads:
            return list(dict.fromkeys((*self.key, *self.truth)))
        from adsgen.simulate.columns import MMM_CHANNELS

        return list(dict.fromkeys(
            name.replace("<ch>", channel) for name in self.reads
            for channel in (MMM_CHANNELS if "<ch>" in name else ("",))))

    @property
    def source(self) -> str:
        """Where the truth comes from, for people: `ground_truth.p_click`, `reach.reach
        (device = all, period = flight)`."""
        if self.reshape is not None:  # summed over rows: Σ t.a ÷ Σ b
            first, *rest = self.truth
            columns = " ÷ ".join([f"Σ {self.table}.{first}", *(f"Σ {c}" for c in rest)])
            return columns
        columns = " ÷ ".join(f"{self.table}.{c}" for c in self.truth)
        rows = ", ".join(f"{k} = {v}" for k, v in self.where.items())
        return f"{columns} ({rows})" if rows else columns

    def true_values(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """The true value of each row, as floats (NaN: no truth for that key)."""
        import numpy as np

        if self.formula is not None:
            return np.asarray(self.formula(columns), dtype=np.float64)
        return np.asarray(columns[self.truth[0]], dtype=np.float64)


def _per_channel(part: str) -> Callable[[pa.Table], pa.Table]:
    """MMM rows → one row per advertiser × channel: SUM(<channel>_<part>) ÷
    SUM(<channel>_spend_micros) over the run (no row for a channel without spend)."""

    def reshape(table: pa.Table) -> pa.Table:
        import numpy as np
        import pyarrow as pa

        from adsgen.simulate.columns import MMM_CHANNEL_COLUMNS

        sums = table.group_by(["advertiser_id"]).aggregate(
            [(c, "sum") for c in table.column_names if c != "advertiser_id"])
        advertisers, channels, truths = [], [], []
        for channel, names in MMM_CHANNEL_COLUMNS.items():
            spend = sums.column(f"{names['spend']}_sum").to_numpy().astype(np.float64)
            value = sums.column(f"{names[part]}_sum").to_numpy().astype(np.float64)
            spent = spend > 0
            advertisers.append(sums.column("advertiser_id").to_numpy()[spent])
            channels += [channel] * int(spent.sum())
            truths.append(value[spent] / spend[spent])
        return pa.table({
            "advertiser_id": pa.array(np.concatenate(advertisers), type=pa.int64()),
            "channel": pa.array(channels, type=pa.string()),
            "truth": pa.array(np.concatenate(truths), type=pa.float64()),
        })

    return reshape


_PAIR = ("line_item_id", "device")
_FLIGHT = {"device": "all", "period": "flight"}

METRICS: Final[dict[str, Metric]] = {
    m.name: m
    for m in (
        Metric("ctr", "ground_truth", _PAIR, ("p_click",),
               "clicks ÷ (impressions − invalid) of a first exposure (wear-out lowers later"
               " ones), per line item × device"),
        Metric("completion_rate", "ground_truth", _PAIR, ("p_complete",),
               "completes ÷ impressions of a first exposure, per line item × device"),
        Metric("viewability", "ground_truth", _PAIR, ("p_viewable", "p_measurable"),
               "viewable ÷ measurable per line item × device",
               formula=_ratio("p_viewable", "p_measurable")),
        Metric("conversion_rate", "ground_truth", _PAIR, ("p_conversion",),
               "conversions (click- and view-through, 168 h window) per valid impression,"
               " per line item × device"),
        Metric("invalid_rate", "ground_truth", _PAIR, ("p_invalid",),
               "invalid ÷ impressions per line item × device"),
        Metric("planned_frequency", "ground_truth", _PAIR, ("planned_frequency",),
               "impressions per reached household the line item was planned for, per line"
               " item × device"),
        Metric("reach", "reach", ("line_item_id",), ("reach",),
               "households reached over the flight, de-duplicated over devices, per line item",
               where=_FLIGHT),
        Metric("average_frequency", "reach", ("line_item_id",), ("average_frequency",),
               "impressions ÷ households reached over the flight, all devices, per line item",
               where=_FLIGHT),
        Metric("roi", "mmm", ("advertiser_id", "channel"),
               ("<ch>_incremental_value_micros", "<ch>_spend_micros"),
               "incremental value ÷ spend of a channel (ctv, desktop, mobile) over the run,"
               " per advertiser", reshape=_per_channel("incremental_value"),
               reads=("advertiser_id", "<ch>_spend_micros", "<ch>_incremental_value_micros"),
               key_types={"channel": "string"}),
        Metric("marginal_roi", "mmm", ("advertiser_id", "channel"),
               ("<ch>_marginal_value_micros", "<ch>_spend_micros"),
               "d incremental value ÷ d spend of a channel at the run's spend (the model's"
               " response to 1 % more), per advertiser", reshape=_per_channel("marginal_value"),
               reads=("advertiser_id", "<ch>_spend_micros", "<ch>_marginal_value_micros"),
               key_types={"channel": "string"}),
        Metric("lift", "experiment_truth", ("line_item_id",), ("true_lift",),
               "relative lift of a line item's experiment: incremental ÷ baseline conversions"
               " of its treatment arm (0.12 = +12 %)"),
        Metric("lift_per_household", "experiment_truth", ("line_item_id",),
               ("true_lift_per_household",),
               "absolute lift of a line item's experiment: treatment minus control conversions"
               " per household (what a difference in means estimates)"),
    )
}
"""Metric name → Metric, the names `adsgen score --metric` takes."""


def metric(name: str) -> Metric:
    """The metric called `name`; UnknownNameError listing the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownNameError("metric", name, METRICS) from None


# --- the result ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """How far matched estimates are from their truths.

    `bias` is the mean of estimate − truth; `mape_percent` is over the keys whose truth is
    not 0 (None when every truth is 0); `correlation` (Pearson) is None below 2 keys or
    without variation; `coverage` (share of truths inside [lower, upper], ends included)
    and `mean_width` are None without intervals.
    """

    mean_truth: float | None
    mean_estimate: float | None
    bias: float | None
    mae: float | None
    rmse: float | None
    mape_percent: float | None
    correlation: float | None
    coverage: float | None
    mean_width: float | None


@dataclass(frozen=True, slots=True)
class Score:
    """A scoring: what was scored against what, the keys both hold (`matched`), the keys
    with a truth but no estimate (`missing`, left out of every figure), and the figures."""

    metric: str
    truth: str
    key: list[str]
    estimates: str
    run: str
    matched: int
    missing: int
    figures: Figures

    def as_dict(self) -> dict[str, Any]:
        """One flat object: the fields above with the figures beside them."""
        return {
            "metric": self.metric, "truth": self.truth, "key": self.key,
            "estimates": self.estimates, "run": self.run, "matched": self.matched,
            "missing": self.missing, **asdict(self.figures),
        }


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def figures(
    estimate: np.ndarray, truth: np.ndarray, lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> Figures:
    """The error figures of matched estimates against their truths (pure)."""
    import numpy as np

    error = estimate - truth
    nonzero = truth != 0
    correlation = None
    if truth.size >= 2 and np.std(truth) > 0 and np.std(estimate) > 0:
        correlation = float(np.corrcoef(estimate, truth)[0, 1])
    coverage = width = None
    if lower is not None and upper is not None:
        coverage = _mean(((lower <= truth) & (truth <= upper)).astype(np.float64))
        width = _mean(upper - lower)
    return Figures(
        mean_truth=_mean(truth),
        mean_estimate=_mean(estimate),
        bias=_mean(error),
        mae=_mean(np.abs(error)),
        rmse=None if not error.size else float(np.sqrt(np.mean(error**2))),
        mape_percent=(None if not nonzero.any()
                      else float(100 * np.mean(np.abs(error[nonzero] / truth[nonzero])))),
        correlation=correlation,
        coverage=coverage,
        mean_width=width,
    )


# --- reading -----------------------------------------------------------------------------


def _first_key(table: pa.Table, key: tuple[str, ...]) -> str:
    """The smallest key of `table`'s rows, as `line_item_id=3, device='ctv'`."""
    row = table.select(list(key)).sort_by([(c, "ascending") for c in key]).slice(0, 1)
    return ", ".join(f"{c}={shown(row.column(c)[0].as_py())}" for c in key)


def _read_estimates(path: Path, chosen: Metric) -> pa.Table:
    """The estimates file as a table of the key columns (in the truth's types), `estimate`
    and, when given, `lower` and `upper` (float64); AdsgenError for anything amiss."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = ESTIMATE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise AdsgenError(f"{str(path)!r}: estimates must be a .csv or .parquet file")
    if not path.is_file():
        raise AdsgenError(f"no estimates file {str(path)!r}")
    try:
        if kind == "csv":
            import pyarrow.csv as pacsv

            table = pacsv.read_csv(path)
        else:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise AdsgenError(f"{str(path)!r} is not a readable {kind} file ({reason})") from exc
    where = f"{str(path)!r}"
    wanted = [*chosen.key, ESTIMATE]
    absent = [c for c in wanted if c not in table.column_names]
    if absent:
        raise AdsgenError(f"{where} has no column(s) {', '.join(absent)}; metric "
                          f"{chosen.name!r} needs {', '.join(wanted)} (and optionally "
                          f"{LOWER}, {UPPER})")
    bounds = [c for c in (LOWER, UPPER) if c in table.column_names]
    if len(bounds) == 1:
        raise AdsgenError(f"{where} has {bounds[0]!r} without "
                          f"{(UPPER if bounds[0] == LOWER else LOWER)!r}; give both or neither")
    if table.num_rows == 0:
        raise AdsgenError(f"{where} holds no estimates")
    from adsgen.simulate.columns import FACT_TABLES

    schema = FACT_TABLES[chosen.table].schema
    columns: dict[str, pa.Array] = {}
    for name in chosen.key:
        kind = (pa.type_for_alias(chosen.key_types[name]) if name in chosen.key_types
                else schema.field(name).type)
        try:
            columns[name] = table.column(name).cast(kind)
        except pa.ArrowException as exc:
            raise AdsgenError(f"{where}: column {name!r} is not {kind} "
                              "like the truth's") from exc
    for name in (ESTIMATE, *bounds):
        values = table.column(name)
        if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)
                or pa.types.is_null(values.type)):
            raise AdsgenError(f"{where}: column {name!r} is not numeric ({values.type})")
        values = values.cast(pa.float64())
        empty = pc.or_(pc.is_null(values), pc.is_nan(values)).fill_null(True)
        if pc.any(empty).as_py():
            bad = pa.table(columns).filter(empty)
            raise AdsgenError(f"{where}: column {name!r} is empty or NaN for "
                              f"{_first_key(bad, chosen.key)}")
        columns[name] = values
    out = pa.table(columns)
    if bounds:
        inverted = pc.greater(out.column(LOWER), out.column(UPPER))
        if pc.any(inverted).as_py():
            raise AdsgenError(f"{where}: {LOWER} > {UPPER} for "
                              f"{_first_key(out.filter(inverted), chosen.key)}")
    counts = out.group_by(list(chosen.key)).aggregate([([], "count_all")])
    twice = counts.filter(pc.greater(counts.column("count_all"), 1))
    if twice.num_rows:
        raise AdsgenError(f"{where} estimates {_first_key(twice, chosen.key)} more than once")
    return out


def _truth_from_files(directory: Path, chosen: Metric) -> pa.Table:
    """The metric's columns of its truth table in a generated folder (checked against its
    manifest first), on the rows `where` selects."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from adsgen.runs.blocks import table_dataset, tables_of, verify_dir
    from adsgen.storage.orm import Base

    manifest = verify_dir(directory)
    names = tables_of(manifest.files or {}).get(chosen.table)
    if not names:
        raise AdsgenError(f"{str(directory)!r} holds no {chosen.table} table (metric "
                          f"{chosen.name!r} is scored against it); generate the run again "
                          "with this adsgen")
    dataset, available = table_dataset([directory / n for n in names], manifest.format,
                                       Base.metadata.tables[chosen.table])
    wanted = chosen.columns
    absent = [c for c in (*wanted, *chosen.where) if c not in available]
    if absent:
        raise AdsgenError(f"{str(directory)!r}: its {chosen.table} table has no column(s) "
                          f"{', '.join(absent)}; generate the run again with this adsgen")
    condition = None
    for column, value in chosen.where.items():
        test = ds.field(column) == value
        condition = test if condition is None else condition & test
    try:
        table: pa.Table = dataset.to_table(columns=wanted, filter=condition)
    except (pa.ArrowException, OSError) as exc:
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise AdsgenError(f"{str(directory)!r}: its {chosen.table} files do not read "
                          f"({reason})") from exc
    return table


def _truth_from_database(db: str | None, chosen: Metric) -> tuple[pa.Table, str]:
    """The metric's columns of its truth table in the database (read only), on the rows
    `where` selects; with the database's URL, password masked."""
    import pyarrow as pa
    from sqlalchemy import inspect, select
    from sqlalchemy.exc import SQLAlchemyError

    from adsgen.runs.jobs import open_database
    from adsgen.simulate.columns import FACT_TABLES
    from adsgen.storage.database import masked_url, scrub
    from adsgen.storage.orm import Base

    engine = open_database(db, write=False)
    where = masked_url(engine.url)
    try:
        if not inspect(engine).has_table(chosen.table):
            raise DatabaseError(f"no {chosen.table} table in {where} (metric {chosen.name!r} "
                                "is scored against it); fill it with `adsgen run-all`")
        table = Base.metadata.tables[chosen.table]
        wanted = chosen.columns
        query = select(*(table.c[c] for c in wanted)).where(
            *(table.c[c] == v for c, v in chosen.where.items()))
        with engine.connect() as conn:
            rows = conn.execute(query).all()
    except SQLAlchemyError as exc:
        reason = scrub(" ".join(str(getattr(exc, "orig", None) or exc).split())[:300],
                       engine.url)
        raise DatabaseError(f"cannot read {chosen.table} from {where}: {reason}") from exc
    finally:
        engine.dispose()
    schema = FACT_TABLES[chosen.table].schema
    data = {c: pa.array([row[i] for row in rows], type=schema.field(c).type)
            for i, c in enumerate(wanted)}
    return pa.table(data), where


# --- scoring -------------------------------------------------------------------------------


def score(
    estimates: Path, *, metric_name: str, run: Path | None = None, db: str | None = None
) -> Score:
    """Score the estimates file against the truth of the generated folder `run`, else of
    the database `db` (None: the settings' database).

    Raises AdsgenError (one line) for an unknown metric (naming the known ones), an
    estimates file that is missing, not CSV/Parquet, without the key or `estimate` column,
    with non-numeric, empty or duplicate estimates or lower > upper, for an estimated key
    the truth does not hold (naming the first), and for a run without the truth table.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    chosen = metric(metric_name)
    estimates = Path(estimates)
    given = _read_estimates(estimates, chosen)
    if run is not None:
        truth_columns, source = _truth_from_files(Path(run), chosen), str(Path(run))
    else:
        truth_columns, source = _truth_from_database(db, chosen)
    key = list(chosen.key)
    if chosen.reshape is not None:
        truth = chosen.reshape(truth_columns)
    else:
        values = chosen.true_values({c: truth_columns.column(c).to_numpy(zero_copy_only=False)
                                     for c in chosen.truth})
        truth = truth_columns.select(key).append_column("truth", pa.array(values))
    truth = truth.filter(pc.invert(pc.is_nan(truth.column("truth"))))
    unknown = given.join(truth, keys=key, join_type="left anti")
    if unknown.num_rows:
        raise AdsgenError(f"{str(estimates)!r} estimates {_first_key(unknown, chosen.key)}, "
                          f"which the run's truth does not hold ({unknown.num_rows:,} such "
                          "key(s))")
    matched = given.join(truth, keys=key, join_type="inner").sort_by(
        [(c, "ascending") for c in key])

    def column(name: str) -> np.ndarray:
        return np.asarray(matched.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)

    intervals = LOWER in matched.column_names
    found = figures(column(ESTIMATE), column("truth"),
                    column(LOWER) if intervals else None, column(UPPER) if intervals else None)
    return Score(
        metric=chosen.name, truth=chosen.source, key=key, estimates=str(estimates), run=source,
        matched=matched.num_rows, missing=truth.num_rows - matched.num_rows, figures=found,
    )
