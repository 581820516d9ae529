"""The `adsgen` command line (Typer), thin over `adsgen.runs.database`.

- `application`: the Typer `app`, its global options, error handler and `command` decorator;
- `output`: JSON values and Rich tables;
- `commands`: init-db, version, run-all, simulate, status, validate, create-example,
  create-profile;
- `browse`: list (named things, or the database's entities) and show (one entity);
- `create`: create-advertiser, create-campaign, create-line-item, create-creative;
- `scale`: generate, plan, load (files at scale, see `adsgen.runs.files`);
- `schema`: the data dictionary and DDL (`adsgen.storage.dictionary`);
- `score`: a model's estimates against a run's truth (`adsgen.runs.score`);
- `stream`: the world as live events (`adsgen.stream`);
- `serve`: the REST API and the dashboard (`adsgen.api`, `adsgen.web`).

Importing this package registers every command; `main` is the console script's entry point.
"""

from __future__ import annotations

from adsgen.cli import browse, commands, create, scale, schema, score, serve, stream
from adsgen.cli.application import State, app, command, main
from adsgen.cli.output import to_jsonable

__all__ = [
    "State", "app", "browse", "command", "commands", "create", "main", "scale", "schema",
    "score", "serve", "stream", "to_jsonable",
]
