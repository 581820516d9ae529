#!/usr/bin/env bash
# Generate the default dataset: make sure the virtualenv and its dependencies exist, then run
# `adsgen run-all` with this script's arguments (e.g. ./run_all.sh --seed 7 --scale 20 --json).
# Works on a fresh clone; writes ads.db in this folder unless --db or ADSGEN_DATABASE_URL says
# otherwise. stdout carries only adsgen's result, so `--json` output can be piped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
make --silent deps >&2
exec .venv/bin/adsgen run-all "$@"
