#!/usr/bin/env bash
# Install with the test and Spark extras (and Chromium for the UI suite), lint (ruff, mypy), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev,spark
if ! [ -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  # The browser suite (tests/ui, marker `browser`) fails without it; say so before it runs.
  [ -x /usr/bin/chromium ] || { echo "error: /usr/bin/chromium is missing (apt-get install chromium)" >&2; exit 1; }
fi
.venv/bin/datacody example-data >/dev/null
# Lint and types before the tests: a style or typing regression fails CI on its own line.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy datacody_dagster
.venv/bin/python -m pytest -q "$@"
