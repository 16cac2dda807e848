#!/usr/bin/env bash
# Install everything the tests need, then run them all: lint, types, unit,
# forms, HTTP, CLI and the real-browser tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: Debian's chromium for the browser tests, poppler-utils to
# read the printed PDFs, DejaVu fonts so pages render the same everywhere.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
  echo "Installing ${missing[*]} with apt-get"
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "${missing[@]}" >/dev/null
fi

# Python packages in a project virtual environment. Debian's own python3 needs
# its python3-venv package for this; install it if venv cannot be made.
if ! python3 -m venv .venv >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
  echo "Installing python3-venv with apt-get"
  "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq python3-venv >/dev/null
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest --cov --cov-report=term:skip-covered "$@"
.venv/bin/bandit -q -r calc --severity-level medium

# Load: the production server on 127.0.0.1 only, a constant 200 req/s for 30 s
# at the result page and at the API; fails on any non-2xx or p99 >= 100 ms.
# About 70 s; run on a full run only (no arguments).
if [ $# -eq 0 ]; then .venv/bin/python loadtest/loadtest.py; fi
