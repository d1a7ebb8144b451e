#!/usr/bin/env bash
# Install datacody-dagster into .venv at the repo root. Usage: scripts/install.sh [EXTRAS]
# e.g. scripts/install.sh dev,spark
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

# pip's output is kept for failures only: a successful install prints nothing alarming (pip
# reports the intended antlr4 override below as an "ERROR" line, and setuptools a banner for
# editable installs, although both installs succeed).
quiet_pip() {
  local log
  log="$(mktemp)"
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "error: pip install $* failed (output above)" >&2
    exit 1
  fi
  rm -f "$log"
}

python3 -m venv .venv
quiet_pip --upgrade pip
if [ -n "$extras" ]; then
  quiet_pip -e ".[$extras]"
else
  quiet_pip -e .
fi
# dvc pulls hydra-core, which pins antlr4 4.9; dagster's asset-selection parser needs 4.13.
# Only `dvc exp` uses hydra, so 4.13 wins (tests/versioning/test_environment.py checks both still work).
quiet_pip "antlr4-python3-runtime==4.13.2"
echo "installed datacody-dagster${extras:+ with extras [$extras]} into .venv"
