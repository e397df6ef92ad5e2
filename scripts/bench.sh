#!/usr/bin/env bash
# Benchmarks the pop path and the AMI read side (see scripts/bench_pipeline.py --help).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap stop_children EXIT
cd "$ROOT"
ensure_venv
ensure_redis
"$PY" scripts/bench_pipeline.py "$@"
