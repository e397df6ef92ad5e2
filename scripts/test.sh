#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: virtualenv, packages, Redis, PostgreSQL, Chromium,
# ruff, then pytest
# (extra arguments go to pytest, e.g. scripts/test.sh -k tracker).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap stop_children EXIT
cd "$ROOT"
ensure_venv
ensure_redis
ensure_postgres
ensure_chromium
say "ruff check"
"$VENV/bin/ruff" check --quiet "$ROOT" || die "ruff found problems (above); fix them before the tests run"
set +e
"$PY" -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  die "pytest collected no tests: the suite is missing"
fi
exit "$status"
