#!/usr/bin/env bash
# Install with the test and Spark extras (and Chromium for the UI suite), then run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev,spark
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "warning: chromium not installed"
fi
.venv/bin/datacody example-data >/dev/null
.venv/bin/python -m pytest -q "$@"
