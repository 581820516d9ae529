#!/usr/bin/env bash
# Generate the default dataset: make sure the virtualenv and its dependencies exist, then run
# `adsgen run-all` with this script's arguments (e.g. ./run_all.sh --seed 7 --scale 20 --json).
# Works on a fresh clone, from any folder: the run stays in the caller's folder, so ads.db (the
# default) and a relative --db sqlite:///mine.db land there, not in the checkout. stdout
# carries only adsgen's result, so `--json` output can be piped.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
make --silent --no-print-directory -C "$here" deps >&2
exec "$here/.venv/bin/adsgen" run-all "$@"
