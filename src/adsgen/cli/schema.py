"""`adsgen schema`: the data dictionary (every table, view and column) or the DDL, no database.

`adsgen.storage.dictionary` builds the dictionary from the descriptions kept next to the
column definitions; this module only renders it: Rich tables (text), markdown (what
`docs/data-dictionary.md` holds, `make docs`), JSON, or with `--ddl` the CREATE statements
of one dialect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from adsgen.cli.application import State, command

if TYPE_CHECKING:
    from rich.console import Console

    from adsgen.storage.dictionary import TableDoc

__all__ = ["FORMATS", "schema_command"]

FORMATS: tuple[str, ...] = ("text", "markdown", "json")


@command("schema", rich_help_panel="Database")
def schema_command(
    ctx: typer.Context,
    fmt: Annotated[
        str,
        typer.Option("--format", metavar="text|markdown|json",
                     help="text: Rich tables; markdown: docs/data-dictionary.md; json."),
    ] = "text",
    ddl: Annotated[
        str | None,
        typer.Option("--ddl", metavar="postgresql|mysql|mariadb|sqlite",
                     help="Print the CREATE statements for this database instead."),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option("--table", metavar="NAME", help="Only this table or view."),
    ] = None,
) -> None:
    """Every table and column: type, unit, grain, keys and joins, meaning (no database needed).

    Money is in micros, times in UTC; `--ddl` prints what `init-db` creates on that database.
    """
    state = State.of(ctx)
    from adsgen.exceptions import UnknownNameError
    from adsgen.storage import dictionary

    if fmt not in FORMATS:
        raise UnknownNameError("format", fmt, FORMATS)
    if ddl is not None:
        if ddl not in dictionary.DDL_DIALECTS:
            raise UnknownNameError("dialect", ddl, dictionary.DDL_DIALECTS)
        typer.echo(dictionary.ddl(ddl, table), nl=False)
        return
    tables = [dictionary.find_table(table)] if table else dictionary.data_dictionary()
    if state.json or fmt == "json":
        import json

        typer.echo(json.dumps(dictionary.to_json(tables), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        typer.echo(dictionary.to_markdown(tables), nl=False)
    elif not state.quiet:
        from adsgen.cli.output import console

        _render(console(), tables, conventions=table is None)


def _render(out: Console, tables: list[TableDoc], *, conventions: bool) -> None:
    """A heading, the table's facts and a Rich table of its columns, for each table (the
    file types are in the markdown and JSON forms, to keep the terminal table readable)."""
    from rich.markup import escape
    from rich.table import Table

    from adsgen.storage.dictionary import CONVENTIONS

    if conventions:
        out.print("[bold]Conventions[/bold]")
        for line in CONVENTIONS:
            out.print(f"- {escape(line.replace('**', ''))}", highlight=False)
    for doc in tables:
        out.print()
        out.print(f"[bold]{doc.name}[/bold] ({doc.kind})  {escape(doc.description)}",
                  highlight=False)
        facts = [("grain", doc.grain)]
        if doc.primary_key:
            facts.append(("primary key", ", ".join(doc.primary_key)))
        facts += [("join", join) for join in doc.joins]
        facts.append(("files", doc.files))
        for label, value in facts:
            out.print(f"  [dim]{label}:[/dim] {escape(value)}", highlight=False)
        grid = Table(expand=True)
        grid.add_column("column", no_wrap=True, style="bold")
        grid.add_column("type", no_wrap=True)
        grid.add_column("[cyan]key[/cyan] [magenta]unit[/magenta] meaning", ratio=1)
        for c in doc.columns:
            tags = [f"[cyan]{escape(c.key)}[/cyan]"] if c.key else []
            tags += [f"[magenta]({escape(c.unit)})[/magenta]"] if c.unit else []
            lead = " ".join(tags) + " — " if tags else ""
            grid.add_row(c.name, c.sql_type, lead + escape(c.meaning))
        out.print(grid)
