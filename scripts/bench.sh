#!/usr/bin/env bash
# Benchmarks the pop path, the AMI read side and record ingest (see scripts/bench_pipeline.py --help).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap stop_children EXIT
cd "$ROOT"
ensure_venv
ensure_redis
ensure_postgres
"$PY" scripts/bench_pipeline.py "$@"
