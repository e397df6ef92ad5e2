# Shared set-up steps for scripts/demo.sh and scripts/test.sh (sourced, not run).
# Everything a fresh Debian/Ubuntu machine needs: a Python ≥ 3.11 virtualenv with the pinned
# packages, a Redis server (REDIS_URL when it answers, else a private one), Chromium for tests.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
RUN_DIR="$ROOT/var"
PY="$VENV/bin/python"
CHILD_PIDS=()
CLEANUPS=()  # commands run at exit after the children stopped (e.g. stopping a private PostgreSQL)

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

can_install_system_packages() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ "${NO_SYSTEM_INSTALL:-0}" != 1 ]
}

apt_install() {
  can_install_system_packages || return 1
  say "installing $* with apt-get"
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || return 1
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

ensure_venv() {
  local python stamp want
  python="$(find_python)" || die "Python 3.11 or newer is needed (apt-get install python3 python3-venv)"
  if [ ! -x "$PY" ]; then
    say "creating the virtualenv in .venv"
    "$python" -m venv "$VENV" 2>/dev/null || {
      apt_install python3-venv && "$python" -m venv "$VENV"; } ||
      die "could not create a virtualenv: install python3-venv (apt-get install python3-venv)"
  fi
  stamp="$VENV/.installed"
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing Python packages (pinned in pyproject.toml)"
    "$PY" -m pip install -q --disable-pip-version-check -e "$ROOT[test]" ||
      die "pip could not install the packages; see the messages above"
    echo "$want" > "$stamp"
  fi
}

redis_answers() {
  "$PY" - "$1" <<'PY' 2>/dev/null
import sys, redis
try:
    sys.exit(0 if redis.Redis.from_url(sys.argv[1], socket_timeout=1, socket_connect_timeout=1).ping() else 1)
except Exception:
    sys.exit(1)
PY
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Sets REDIS_URL to a Redis that answers: REDIS_URL when set, the machine's default, or a private
# redis-server started here (installed with apt-get when missing and permitted). REDIS_IS_OURS=1
# when it is the private one: only then is its default namespace free to use.
ensure_redis() {
  local url="${REDIS_URL:-redis://127.0.0.1:6379/0}"
  if redis_answers "$url"; then
    export REDIS_URL="$url" REDIS_IS_OURS=0; say "using the Redis at $REDIS_URL"; return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis-server ||
      die "no Redis answers at $url and redis-server is not installed; install it (apt-get install redis-server) or set REDIS_URL to a running Redis"
  fi
  local port dir
  port="$(free_port)"
  dir="$RUN_DIR/redis-$port"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" --daemonize no >/dev/null 2>&1 &
  CHILD_PIDS+=("$!")
  export REDIS_URL="redis://127.0.0.1:$port/0" REDIS_IS_OURS=1
  for _ in $(seq 50); do redis_answers "$REDIS_URL" && { say "started a private Redis at $REDIS_URL"; return 0; }; sleep 0.1; done
  die "redis-server did not start; see $dir/redis.log"
}

# Deletes every key under one namespace (never anything else): what a demo made on a shared Redis.
drop_redis_namespace() {  # url prefix
  "$PY" - "$1" "$2" <<'PY' 2>/dev/null || true
import sys, redis
client = redis.Redis.from_url(sys.argv[1], socket_timeout=2, socket_connect_timeout=2)
keys = list(client.scan_iter(match=sys.argv[2] + ":*", count=1000))
for start in range(0, len(keys), 500):
    client.delete(*keys[start:start + 500])
PY
}

pg_answers() {
  "$PY" - "$1" <<'PY' 2>/dev/null
import asyncio, sys, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1], timeout=2)
    await conn.close()
try:
    asyncio.run(main())
except Exception:
    sys.exit(1)
PY
}

find_pg_bin() {  # program
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -1)"
  [ -n "$found" ] && { echo "$found"; return 0; }
  command -v "$1"
}

# Sets DATABASE_URL to a PostgreSQL server that answers: DATABASE_URL when set, the machine's
# default, or a private server started here (installed with apt-get when missing and permitted;
# as root it runs as the postgres user). PG_IS_OURS=1 when it is the private one.
ensure_postgres() {
  local url="${DATABASE_URL:-postgresql://127.0.0.1:5432/test}"
  if pg_answers "$url"; then
    export DATABASE_URL="$url" PG_IS_OURS=0; say "using the PostgreSQL at $(redact_url "$url")"; return 0
  fi
  local initdb postgres
  initdb="$(find_pg_bin initdb)" && postgres="$(find_pg_bin postgres)" || {
    apt_install postgresql ||
      die "no PostgreSQL answers at $(redact_url "$url") and it is not installed; install it (apt-get install postgresql) or set DATABASE_URL"
    initdb="$(find_pg_bin initdb)"; postgres="$(find_pg_bin postgres)"; }
  local port dir as=()
  port="$(free_port)"
  dir="$RUN_DIR/pg-$port"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres "$dir"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 ||
    die "initdb failed; see $dir/initdb.log"
  "${as[@]}" "$postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1 \
    -c fsync=off >"$dir/postgres.log" 2>&1 &
  CHILD_PIDS+=("$!")
  CLEANUPS+=("${as[*]} '$(dirname "$postgres")/pg_ctl' stop -D '$dir/data' -m fast -s; rm -rf '$dir'")
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres" PG_IS_OURS=1
  for _ in $(seq 100); do pg_answers "$DATABASE_URL" && { say "started a private PostgreSQL at $DATABASE_URL"; return 0; }; sleep 0.1; done
  die "PostgreSQL did not start; see $dir/postgres.log"
}

# Runs one SQL statement on DATABASE_URL's server (its own database), e.g. CREATE DATABASE.
pg_exec() {  # statement
  "$PY" - "$DATABASE_URL" "$1" <<'PY'
import asyncio, sys, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1], timeout=5)
    try:
        await conn.execute(sys.argv[2])
    finally:
        await conn.close()
asyncio.run(main())
PY
}

# DATABASE_URL with its database part replaced.
database_url_for() { printf '%s/%s' "${DATABASE_URL%/*}" "$1"; }

# A database URL with the password hidden, for messages.
redact_url() { printf '%s' "$1" | sed -E 's#(//[^:/@]+):[^@]*@#\1:***@#'; }

ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  apt_install chromium ||
    die "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
}

stop_children() {
  local pid cleanup
  for cleanup in "${CLEANUPS[@]}"; do bash -c "$cleanup" 2>/dev/null || true; done
  CLEANUPS=()
  for pid in "${CHILD_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${CHILD_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  CHILD_PIDS=()
}
