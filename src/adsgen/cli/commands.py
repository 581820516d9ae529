"""Dataset commands: init-db, version, run-all, simulate, status, validate, create-example
and create-profile; plus the options and the summary the create-* share.

Each command parses its options, calls one `adsgen.runs.database` function and renders what it
returns (`show_summary` for anything that creates entities or performance).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from adsgen import __version__
from adsgen.cli.application import State, command, int64_from
from adsgen.cli.output import human_bytes
from adsgen.domain.dates import DATE_FORMS

if TYPE_CHECKING:
    from decimal import Decimal

    from adsgen.runs.jobs import FactTotals, RunSummary

__all__ = ["PlatformOption", "SimulateOption", "TemplatesDir", "date_option", "show_summary"]

TemplatesDir = Annotated[
    Path | None,
    typer.Option("--templates-dir", metavar="DIR", file_okay=False,
                 help="A folder of your own templates (examples/, profiles/, platforms/ or flat "
                      "YAML files); they shadow bundled ones of the same name."),
]
PlatformOption = Annotated[
    str | None,
    typer.Option("--platform", metavar="NAME", envvar="ADSGEN_PLATFORM",
                 help="The platform whose audience the simulation draws from "
                      "(`adsgen list platforms`; default netflix_like). Several, comma-"
                      "separated (netflix_like,hulu_like,roku_like): each line item buys on "
                      "one of them, a campaign on several."),
]
SimulateOption = Annotated[
    bool,
    typer.Option("--simulate/--no-simulate",
                 help="Simulate the hourly performance of the new line items."),
]


def parse_date_option(value: str | datetime) -> datetime:
    """--start/--end as `adsgen.domain.dates` reads dates (ValueError: Click's one-line usage
    error naming the option and the accepted forms)."""
    if isinstance(value, datetime):
        return value
    from adsgen.domain.dates import parse_date

    try:
        return parse_date(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def date_option(name: str, help: str) -> Any:
    """A date option (`--start`, `--end`): every form `adsgen.domain.dates` accepts."""
    return typer.Option(name, metavar="DATE", parser=parse_date_option,
                        help=f"{help} Forms: {DATE_FORMS}; UTC.")


def platform_name(platform: str | None) -> str:
    """--platform, else ADSGEN_PLATFORM / the settings' default: one name or several,
    comma-separated ('netflix_like,hulu_like'), blanks dropped. The first is the platform of
    line items naming none; each is resolved (and templates checked against it) by the run.
    """
    if not platform:
        from adsgen.settings import get_settings

        platform = get_settings().platform
    names = [name.strip() for name in platform.split(",") if name.strip()]
    return ",".join(names) if names else platform


def show_summary(state: State, summary: RunSummary, *, title: str) -> None:
    """The summary of a run: entities created (with their ids and names when few),
    performance rows, impressions, spend and time. JSON: `RunSummary.as_dict()` (ids and
    names per table) plus `facts.spend` (per currency code, like `facts.spend_micros`)."""
    facts = summary.facts
    spend = _spend(facts)
    if state.json:
        data = summary.as_dict()
        data["facts"]["spend"] = spend
        state.emit(data)
        return
    view: dict[str, Any] = {"seed": summary.seed}
    for table, count in summary.created.items():
        ids = summary.ids.get(table, [])
        names = summary.names.get(table, [])
        listed = ""
        if 0 < len(ids) <= 5:
            listed = f" ({', '.join(f'#{i} {n}' for i, n in zip(ids, names, strict=True))})"
        view[table.replace("_", " ")] = f"{count:,}{listed}"
    view.update(_facts_view(facts))
    view["time"] = f"{summary.seconds:.1f} s"
    state.emit(view, title=title)


def run_and_show(
    state: State, run: Callable[..., RunSummary], *args: Any, title: str,
    platform: str | None, **options: Any,
) -> None:
    """Run a create command with the shared options (database, seed, platform, progress
    bars) and show its summary."""
    with state.bars() as progress:
        summary = run(
            *args, db=state.db, seed=state.seed_or_default(), platform=platform_name(platform),
            progress=progress, **options,
        )
    show_summary(state, summary, title=title)


def _spend(facts: FactTotals) -> dict[str, Decimal]:
    """Spend per currency code, in units of the currency."""
    from adsgen.domain.fields import from_micros

    return {code: from_micros(micros) for code, micros in sorted(facts.spend_micros.items())}


def _facts_view(facts: FactTotals) -> dict[str, Any]:
    from adsgen.simulate.columns import FACT_TABLES

    return {
        "line items simulated": facts.line_items,
        **{f"{name.replace('_', ' ')} rows": facts.rows.get(name, 0) for name in FACT_TABLES},
        "impressions": facts.impressions,
        "spend": "; ".join(f"{amount:,.2f} {code}" for code, amount in _spend(facts).items())
        or "0",
    }


# --- database -----------------------------------------------------------------------------


@command("init-db", rich_help_panel="Database")
def init_db_command(ctx: typer.Context) -> None:
    """Create every adsgen table in the database (idempotent: never drops data)."""
    state = State.of(ctx)
    from adsgen.storage import database as store

    engine = store.make_engine(state.db)
    try:
        store.init_db(engine)
        counts = store.table_counts(engine)
    finally:
        engine.dispose()
    state.emit(
        {"database": store.masked_url(engine.url), "dialect": engine.dialect.name,
         "tables": counts},
        title="Database ready",
    )


@command("version", rich_help_panel="Database")
def version_command(ctx: typer.Context) -> None:
    """Print the versions of adsgen, Python and the main libraries."""
    state = State.of(ctx)
    import platform
    from importlib import metadata

    versions: dict[str, str] = {"adsgen": __version__, "python": platform.python_version()}
    for dist in ("sqlalchemy", "pydantic", "numpy", "pyarrow", "faker", "typer"):
        try:
            versions[dist] = metadata.version(dist)  # no import of the library itself
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    state.emit(versions, title="Versions")


@command("status", rich_help_panel="Database")
def status_command(ctx: typer.Context) -> None:
    """Rows per table, database size, delivery date range and totals (reads only)."""
    state = State.of(ctx)
    from adsgen.domain.enums import Currency
    from adsgen.domain.fields import from_micros
    from adsgen.domain.money import minor_unit
    from adsgen.runs import database

    report = database.status(db=state.db)
    spend = {code: from_micros(micros) for code, micros in report["spend_micros"].items()}
    if state.json:
        state.emit({**report, "spend": spend})
        return
    first, last = report["first_hour"], report["last_hour"]
    view = {
        "database": report["database"],
        "size": human_bytes(report["size_bytes"]),
        "delivery": f"{first:%Y-%m-%d %H:00} to {last:%Y-%m-%d %H:00} UTC" if first else "none",
        "impressions": report["impressions"],
        "completes": report["completes"],
        "clicks": report["clicks"],
        "spend": "; ".join(
            f"{amount.quantize(minor_unit(Currency(code))):,} {code}"
            for code, amount in spend.items()
        ) or "0",
        "rows per table": report["tables"],
    }
    state.emit(view, title="Database status")


# --- generating -------------------------------------------------------------------------------


@command("run-all", rich_help_panel="Generate")
def run_all_command(
    ctx: typer.Context,
    scale: Annotated[
        int, typer.Option("--scale", min=0, metavar="N",
                          help="Also draw N advertisers from the profiles.")
    ] = 0,
    templates_dir: TemplatesDir = None,
    platform: PlatformOption = None,
    deterministic_timestamps: Annotated[
        bool, typer.Option("--deterministic-timestamps",
                           help="Set every created_at/updated_at from the plan (midnight UTC, "
                                "30 days before the first flight) instead of the clock, so two "
                                "runs of one seed give identical databases.")
    ] = False,
) -> None:
    """Replace the dataset with the default one (examples, profiles, --scale N more).

    Every bundled (and --templates-dir) example, one advertiser per profile, then N
    advertisers drawn from the profiles, all with their hourly performance, in one
    transaction. The same seed gives the same database content.
    """
    state = State.of(ctx)
    from adsgen.runs import database

    with state.bars(at_once=True) as progress:
        summary = database.generate(  # the Python API's entry point: one code path
            db=state.db, seed=state.seed_or_default(), scale=scale,
            platform=platform_name(platform), templates_dir=templates_dir, progress=progress,
            deterministic_timestamps=deterministic_timestamps,
        )
    show_summary(state, summary, title="Dataset generated")


@command("simulate", rich_help_panel="Generate")
def simulate_command(
    ctx: typer.Context,
    line_item_ids: Annotated[
        list[int] | None,
        typer.Option("--line-item-id", metavar="ID", callback=int64_from(1),
                     help="Only this line item (repeat the option for more); default: all."),
    ] = None,
    templates_dir: TemplatesDir = None,
    platform: PlatformOption = None,
) -> None:
    """(Re)generate hourly performance and ground truth for line items in the database."""
    state = State.of(ctx)
    from adsgen.runs import database

    began = time.perf_counter()
    with state.bars() as progress:
        facts = database.simulate_database(
            db=state.db, seed=state.seed_or_default(), line_item_ids=line_item_ids or None,
            platform=platform_name(platform), templates_dir=templates_dir, progress=progress,
        )
    seconds = time.perf_counter() - began
    if state.json:
        state.emit({**facts.as_dict(), "spend": _spend(facts),
                    "seconds": seconds})
        return
    state.emit({**_facts_view(facts), "time": f"{seconds:.1f} s"}, title="Performance simulated")


@command("create-example", rich_help_panel="Generate")
def create_example_command(
    ctx: typer.Context,
    example: Annotated[
        str, typer.Option("--example", "-e", metavar="NAME",
                          help="The example's name (`adsgen list examples`).")
    ],
    template: Annotated[
        str | None,
        typer.Option("--template", "-t", metavar="FILE",
                     help="A YAML file of examples, or a bundled one by its file name "
                          "(netflix-ads-examples.yml); default: every bundled example."),
    ] = None,
    templates_dir: TemplatesDir = None,
    platform: PlatformOption = None,
    simulate: SimulateOption = True,
) -> None:
    """Create a fully specified example advertiser, its campaign, line items and creatives."""
    state = State.of(ctx)
    from adsgen.runs import grow

    run_and_show(
        state, grow.create_example, example, template=template, templates_dir=templates_dir,
        simulate=simulate, title=f"Example {example} created", platform=platform,
    )


@command("create-profile", rich_help_panel="Generate")
def create_profile_command(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Option("--name", "-n", metavar="PROFILE",
                          help="The profile (`adsgen list profiles`).")
    ],
    count: Annotated[
        int, typer.Option("--count", "-c", min=1, help="How many advertisers to draw.")
    ] = 1,
    templates_dir: TemplatesDir = None,
    platform: PlatformOption = None,
    simulate: SimulateOption = True,
) -> None:
    """Create advertisers from a profile: what it fixes is kept, the providers draw the rest."""
    state = State.of(ctx)
    from adsgen.runs import grow

    run_and_show(
        state, grow.create_profile, name, count=count, templates_dir=templates_dir,
        simulate=simulate, title=f"Profile {name} created", platform=platform,
    )


# --- templates ----------------------------------------------------------------------------


@command("validate", rich_help_panel="Templates")
def validate_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(metavar="FILE...",
                                                help="Template files to check.")],
) -> None:
    """Check template files: examples, profiles, platforms.

    The first problem exits 2 with the file, the key path and the allowed values.
    """
    state = State.of(ctx)
    from adsgen.templates import catalog

    rows = [catalog.validate_file(path) for path in files]
    state.emit(rows, title="Valid templates")
