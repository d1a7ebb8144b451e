#!/usr/bin/env bash
# Install datacody-dagster into .venv at the repo root. Usage: scripts/install.sh [EXTRAS]
# e.g. scripts/install.sh dev,spark
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if [ -n "$extras" ]; then
  .venv/bin/python -m pip install --quiet -e ".[$extras]"
else
  .venv/bin/python -m pip install --quiet -e .
fi
# dvc pulls hydra-core, which pins antlr4 4.9; dagster's asset-selection parser needs 4.13.
# Only `dvc exp` uses hydra, so 4.13 wins (tests/test_environment.py checks both still work).
.venv/bin/python -m pip install --quiet "antlr4-python3-runtime==4.13.2"
