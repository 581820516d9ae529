"""Looking around: `list` (named things of the registry, or the entities in the database) and
`show` (one advertiser, campaign or line item with everything under it).

The reads live in `adsgen.registry` (examples, profiles, platforms, providers, sinks, plugins
included) and `adsgen.runs.inspect` (the database); this module only renders them: JSON as
returned (money as {"amount", "currency"}), tables with money as "50,000.00 USD" and times
as "2026-09-01 00:00".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Annotated, Any

import typer

from adsgen.cli.application import State, command
from adsgen.cli.commands import TemplatesDir

__all__ = ["LIST_KINDS", "NAMED_KINDS", "SHOW_KINDS"]

NAMED_KINDS = ("examples", "profiles", "platforms", "providers", "sinks")
"""What the registry knows by name (`adsgen.registry.KINDS`, plural)."""
ENTITY_KINDS = ("advertisers", "campaigns", "line-items")
"""What the database holds (`adsgen.runs.inspect.ENTITY_KINDS`; a test keeps them equal)."""
LIST_KINDS = (*NAMED_KINDS, *ENTITY_KINDS)
SHOW_KINDS = ("advertiser", "campaign", "line-item")

AdvertiserFilter = Annotated[
    int | None,
    typer.Option("--advertiser-id", metavar="ID",
                 help="Only this advertiser's campaigns or line items."),
]
CampaignFilter = Annotated[
    int | None,
    typer.Option("--campaign-id", metavar="ID", help="Only this campaign's line items."),
]


def _choose(kind: str, kinds: tuple[str, ...]) -> str:
    """`kind` as spelt in `kinds` (line_items and line-items alike); UnknownNameError else."""
    from adsgen.exceptions import UnknownNameError

    spelt = kind.strip().lower().replace("_", "-")
    if spelt not in kinds:
        raise UnknownNameError("kind", kind, kinds)
    return spelt


# --- human views ------------------------------------------------------------------------


def _human(value: Any) -> Any:
    """Money as '50,000.00 USD', times as '2026-09-01 06:00' (midnight as the date alone),
    parents as '#3 Name'."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d}" if value.time() == time() else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, Mapping):
        if set(value) == {"amount", "currency"}:
            return f"{value['amount']:,.2f} {value['currency']}"
        if set(value) == {"id", "name"}:
            return f"#{value['id']} {value['name']}"
        return {str(key): _human(item) for key, item in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(item, str) for item in value):
            return ", ".join(value)
        return [_human(item) for item in value]
    return value


def _show_view(entity: Mapping[str, Any]) -> dict[str, Any]:
    """`show`'s result for a table: the flight on one line, empty parts left out."""
    view = dict(_human(entity))
    flight = entity.get("flight")
    if flight:
        view["flight"] = (f"{flight['start']:%Y-%m-%d %H:%M} to {flight['end']:%Y-%m-%d %H:%M} "
                          f"UTC ({flight['days']} days)")
    budget = entity.get("budget")
    if budget:
        view["budget"] = {"amount": f"{budget['amount']:,.2f} {budget['currency']}",
                          **{k: v for k, v in view["budget"].items()
                             if k not in ("amount", "currency") and v is not None}}
    cap = entity.get("frequency_cap")
    if cap:
        view["frequency_cap"] = (f"{cap['max_impressions']} impressions per "
                                 f"{cap['per']} {cap['time_unit']}")
    delivery = entity["delivery"]
    if delivery["first_hour"] is not None:
        view["delivery"]["hours"] = (f"{delivery['first_hour']:%Y-%m-%d %H:00} to "
                                     f"{delivery['last_hour']:%Y-%m-%d %H:00} UTC")
    else:
        view["delivery"]["hours"] = "none"
    for key in ("first_hour", "last_hour"):
        view["delivery"].pop(key)
    return {key: value for key, value in view.items() if value not in (None, [], {})}


# --- commands ---------------------------------------------------------------------------


@command("list", rich_help_panel="Look around")
def list_command(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(
        metavar="KIND", help=f"What to list: {', '.join(LIST_KINDS)}.")],
    templates_dir: TemplatesDir = None,
    advertiser_id: AdvertiserFilter = None,
    campaign_id: CampaignFilter = None,
) -> None:
    """List what adsgen knows by name, or what the database holds.

    examples, profiles, platforms, providers and sinks: bundled, yours (--templates-dir) and
    plugins', with where each comes from. advertisers, campaigns and line-items: from the
    database (--db), with ids, names, flights and budgets.
    """
    state = State.of(ctx)
    chosen = _choose(kind, LIST_KINDS)
    if chosen in NAMED_KINDS:
        if advertiser_id is not None or campaign_id is not None:
            from adsgen.exceptions import AdsgenError

            raise AdsgenError(f"--advertiser-id and --campaign-id filter database lists, "
                              f"not {chosen}")
        from adsgen.registry import registry

        dirs = () if templates_dir is None else (templates_dir,)
        entries = registry.entries(chosen, extra_dirs=dirs)
        if chosen == "platforms":
            _list_platforms(state, entries, dirs)
            return
        state.emit(entries, title=chosen.capitalize())
        return
    if templates_dir is not None:
        from adsgen.exceptions import AdsgenError

        raise AdsgenError(f"--templates-dir lists templates, not {chosen} of the database")
    from adsgen.runs import inspect

    rows = inspect.list_entities(chosen, db=state.db, advertiser_id=advertiser_id,
                                 campaign_id=campaign_id)
    if state.json:
        state.emit(rows)
    elif not rows:
        state.note(f"no {chosen.replace('-', ' ')} in the database")
    else:
        wide = {"advertiser"} if chosen == "line-items" else set()  # the campaign says it
        state.emit([{k: v for k, v in _human(row).items() if k not in wide} for row in rows],
                   title=f"{chosen.replace('-', ' ').capitalize()} ({len(rows):,})")


def _list_platforms(state: State, entries: list[dict[str, str]], dirs: tuple[Any, ...]) -> None:
    """Each platform with its key facts (adsgen.templates.platform_facts): every fact under
    --json, a short table each otherwise."""
    from adsgen.registry import registry
    from adsgen.templates.platform_facts import key_facts, table_row

    facts = {e["name"]: key_facts(registry.platform(e["name"], extra_dirs=dirs))
             for e in entries}
    if state.json:
        state.emit([{**entry, **facts[entry["name"]]} for entry in entries])
        return
    # One small key/value table per platform: readable at any terminal width.
    state.emit({e["name"]: table_row(e["description"], e["source"], facts[e["name"]])
                for e in entries})


@command("show", rich_help_panel="Look around")
def show_command(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(
        metavar="KIND", help=f"What to show: {', '.join(SHOW_KINDS)}.")],
    entity_id: Annotated[int, typer.Argument(metavar="ID", help="Its id (`adsgen list`).")],
) -> None:
    """Show one advertiser, campaign or line item from the database, with what is under it.

    Its parents, flight, budget and currency, frequency cap, targeting, campaigns, line
    items or creatives, and delivery totals (hours, impressions, completes, clicks, spend).
    """
    state = State.of(ctx)
    chosen = _choose(kind, SHOW_KINDS)
    from adsgen.runs import inspect

    entity = inspect.show_entity(chosen, entity_id, db=state.db)
    if state.json:
        state.emit(entity)
        return
    label = chosen.replace("-", " ").capitalize()
    state.emit(_show_view(entity), title=f"{label} #{entity['id']} {entity['name']}")
