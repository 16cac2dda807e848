#!/usr/bin/env bash
# Install everything the tests need, then run them all: lint, types, unit,
# forms, HTTP, CLI and the real-browser tests. Safe to run again.
#
# --fast: lint, types, and the unit and contract tests (tests/unit, tests/contract),
# which need neither a browser nor a server: the everyday loop, about 30 s on two
# cores. CI runs the full set: system (tests/system) and browser (tests/e2e) too.
set -euo pipefail
cd "$(dirname "$0")/.."

fast=0
if [ "${1:-}" = "--fast" ]; then fast=1; shift; fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# System packages: Debian's chromium for the browser tests, poppler-utils to
# read the printed PDFs, DejaVu fonts so pages render the same everywhere, and
# Noto CJK for the Chinese pages and printouts (no web fonts: installed fonts only).
if [ "$fast" -eq 0 ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
  [ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
  [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || missing+=(fonts-noto-cjk)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing ${missing[*]} with apt-get"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

# Python packages in a project virtual environment. Debian's own python3 needs
# its python3-venv package for this; install it if venv cannot be made.
if ! python3 -m venv .venv >/dev/null 2>&1; then
  echo "Installing python3-venv with apt-get"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv >/dev/null
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

if [ "$fast" -eq 1 ]; then
  exec .venv/bin/python -m pytest -q -m "unit or contract" "$@"
fi

.venv/bin/python -m pytest --cov --cov-report=term:skip-covered "$@"
.venv/bin/bandit -q -r calc --severity-level medium

# Load: the production server on 127.0.0.1 only, a constant 200 req/s for 30 s
# at the result page and at the API; fails on any non-2xx or p99 >= 100 ms.
# About 70 s; run on a full run only (no arguments).
if [ $# -eq 0 ]; then .venv/bin/python loadtest/loadtest.py; fi
