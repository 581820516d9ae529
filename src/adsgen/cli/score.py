"""`adsgen score`: a model's estimates against a run's truth (`adsgen.runs.score`).

The reading, matching and figures live in `adsgen.runs.score`; this module parses the
options and renders the result: one JSON object under --json, else a key/value table with
the figures to 4 significant digits (the JSON keeps full precision).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from adsgen.cli.application import State, command
from adsgen.runs.score import METRICS

__all__ = ["score_command"]


def _view(result: dict[str, Any]) -> dict[str, Any]:
    """The table's rows: figures that do not apply (None) left out."""
    return {key.replace("_", " "): value for key, value in result.items() if value is not None}


@command("score", rich_help_panel="Measure")
def score_command(
    ctx: typer.Context,
    estimates: Annotated[Path, typer.Argument(
        metavar="ESTIMATES",
        help="CSV or Parquet: the metric's key columns, `estimate`, optionally `lower` and "
             "`upper`.")],
    metric: Annotated[str, typer.Option(
        "--metric", metavar="NAME",
        help=f"What the estimates estimate: {', '.join(METRICS)}.")],
    run: Annotated[Path | None, typer.Option(
        "--run", metavar="DIR",
        help="A folder written by `adsgen generate`; without it the truth is read from the "
             "database (--db).")] = None,
) -> None:
    """Score a model's estimates against the run's truth: bias, MAE, RMSE, MAPE, correlation.

    With `lower` and `upper` columns, also the share of truths inside the intervals
    (coverage) and their mean width. Keys the truth holds but the file does not estimate
    are counted as missing; a key the truth does not hold is an error.
    """
    state = State.of(ctx)
    from adsgen.runs.score import score

    result = score(estimates, metric_name=metric, run=run, db=state.db).as_dict()
    state.emit(result if state.json else _view(result), title=f"Score: {metric}")
