#!/usr/bin/env bash
# Sets up and runs the whole system on its embedded defaults: Redis, the WispHub sandbox, the PBX
# simulator placing demo calls, telephony and screenpop. Prints the URL and the demo accounts;
# Ctrl-C stops everything.
#
# It never disturbs what already runs on the machine: taken ports are replaced by free ones, and on
# a Redis it did not start itself it works in a namespace of its own (demo-<id>) that it removes
# when it stops, unless REDIS_PREFIX says otherwise. It writes var/demo/<id>.env so that the
# operator commands (python -m screenpop users …) find its Redis without being told.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
stop_demo() {
  [ -z "${DEMO_FILE:-}" ] || rm -f "$DEMO_FILE"
  if [ "${DATABASE_CREATED:-0}" = 1 ] && [ "${PG_IS_OURS:-}" != 1 ]; then
    DATABASE_URL="$SERVER_DATABASE_URL" pg_exec "DROP DATABASE IF EXISTS $DEMO_DATABASE WITH (FORCE)" || true
  fi
  stop_children
  [ -z "${DEMO_RECORDINGS:-}" ] || rm -rf "$DEMO_RECORDINGS"  # after the simulator wrote its last
  if [ -n "${REDIS_IS_OURS:-}" ] && [ "$REDIS_IS_OURS" != 1 ] && [ -z "${PREFIX_GIVEN:-}" ]; then
    drop_redis_namespace "$REDIS_URL" "$REDIS_PREFIX"
  fi
}
trap 'say "stopping"; stop_demo' EXIT
trap 'exit 130' INT TERM
cd "$ROOT"
ensure_venv
PREFIX_GIVEN="${REDIS_PREFIX:-}"
ensure_redis
ensure_postgres
SERVER_DATABASE_URL="$DATABASE_URL"
INSTANCE="$("$PY" -c 'import secrets; print(secrets.token_hex(3))')"
LOGS="$RUN_DIR/logs/demo-$INSTANCE"
DEMO_DIR="${SCREENPOP_DEMO_DIR:-$RUN_DIR/demo}"
DEMO_FILE="$DEMO_DIR/$INSTANCE.env"
mkdir -p "$LOGS" "$DEMO_DIR"
OTHER_DEMOS="$("$PY" -c 'from common.demo_env import demo_dir, running_demos; import os; print(len(running_demos(demo_dir(os.environ))))')"
if [ -n "$PREFIX_GIVEN" ]; then
  export REDIS_PREFIX="$PREFIX_GIVEN"
elif [ "$REDIS_IS_OURS" = 1 ]; then
  export REDIS_PREFIX=sp
else
  export REDIS_PREFIX="demo-$INSTANCE"
  say "this Redis is not the demo's own: its data stays untouched, the demo uses namespace $REDIS_PREFIX (removed when it stops)"
fi
if [ "$PG_IS_OURS" = 1 ]; then
  DEMO_DATABASE=screenpop
else
  DEMO_DATABASE="screenpop_demo_$INSTANCE"
  say "this PostgreSQL is not the demo's own: the demo uses a database of its own, $DEMO_DATABASE (dropped when it stops)"
fi
pg_exec "CREATE DATABASE $DEMO_DATABASE" || die "could not create the database $DEMO_DATABASE"
DATABASE_CREATED=1
export DATABASE_URL="$(database_url_for "$DEMO_DATABASE")"
"$PY" -m screenpop db migrate >/dev/null || die "the database schema could not be applied (above)"
[ "$OTHER_DEMOS" = 0 ] || say "another demo is running here ($OTHER_DEMOS): this one takes other ports and its own namespace"


port_is_free() { "$PY" -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null; }
PICKED_PORTS=" "
pick_port() {  # variable wanted-port what: a free port no other service of this demo took
  local port="$2"
  if [[ "$PICKED_PORTS" == *" $port "* ]] || ! port_is_free "$port"; then
    port="$(free_port)"
    while [[ "$PICKED_PORTS" == *" $port "* ]]; do port="$(free_port)"; done
    say "port $2 is taken (something else runs there): $3 uses $port"
  fi
  PICKED_PORTS+="$port "
  printf -v "$1" '%s' "$port"
}
wait_for_tcp() {  # name port log
  for _ in $(seq 150); do
    "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$2" 2>/dev/null && return 0
    sleep 0.1
  done
  die "$1 did not start; its log is $3"
}
start() {  # name log command...
  local name="$1" log="$2"; shift 2
  "$@" >"$log" 2>&1 &
  CHILD_PIDS+=("$!")
}

pick_port SANDBOX_PORT "${SANDBOX_PORT:-8090}" "the WispHub sandbox"
pick_port AMI_PORT "${AMI_PORT:-5038}" "the simulator's AMI"
pick_port CONTROL_PORT "${SIMULATOR_CONTROL_PORT:-5039}" "the simulator's control"
pick_port AGI_PORT "${AGI_PORT:-4573}" "telephony's FastAGI"
pick_port TELEPHONY_STATUS_PORT "${TELEPHONY_STATUS_PORT:-8081}" "telephony's status"
pick_port SCREENPOP_PORT "${SCREENPOP_PORT:-8080}" "screenpop"
export AMI_HOST=127.0.0.1 AMI_PORT AMI_USERNAME=screenpop AMI_SECRET=screenpop-demo
export AGI_HOST=127.0.0.1 AGI_PORT
export AGENT_ENDPOINT_PATTERNS="${AGENT_ENDPOINT_PATTERNS:-PJSIP/*,SIP/*,!*/trunk*,!*/pstn*}"
# the demo's IVR callers who ask to be called back are dialled back to the demo agents
export CALLBACK_QUEUES="${CALLBACK_QUEUES:-ventas=PJSIP/6001,PJSIP/6002,PJSIP/6003}"
export TELEPHONY_STATUS_PORT SCREENPOP_PORT SCREENPOP_HOST=127.0.0.1
export SCREENPOP_SECRET_KEY="${SCREENPOP_SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')}"
export WISPHUB_URL="http://127.0.0.1:$SANDBOX_PORT/api/" WISPHUB_PANEL_URL="http://127.0.0.1:$SANDBOX_PORT/"
export WISPHUB_SYNC_INTERVAL="${WISPHUB_SYNC_INTERVAL:-60}"
# the simulator records every answered call there as Asterisk's MixMonitor would, for the QA
# desk's player; a folder the demo picked itself goes when the demo stops
if [ -z "${RECORDINGS_DIR:-}" ]; then
  DEMO_RECORDINGS="$RUN_DIR/recordings/demo-$INSTANCE"
  RECORDINGS_DIR="$DEMO_RECORDINGS"
fi
export RECORDINGS_DIR
# the sandbox tenant's routers and APs per zone (write-back never guesses them)
export WISPHUB_ACTIONS_CONFIG="${WISPHUB_ACTIONS_CONFIG:-$ROOT/screenpop/sandbox/actions.json}"

say "starting the WispHub sandbox on port $SANDBOX_PORT"
start sandbox "$LOGS/sandbox.log" "$PY" -m screenpop.sandbox --port "$SANDBOX_PORT"
wait_for_tcp "the WispHub sandbox" "$SANDBOX_PORT" "$LOGS/sandbox.log"

say "creating the demo accounts"
"$PY" -m screenpop users add agente1 --password agente1 --role agent --endpoint PJSIP/6001 --name "Ana Torres" >/dev/null 2>>"$LOGS/accounts.log" ||
  die "could not create the demo accounts; see $LOGS/accounts.log"
"$PY" -m screenpop users add agente2 --password agente2 --role agent --endpoint PJSIP/6002 --name "Luis Ramírez" >/dev/null 2>>"$LOGS/accounts.log" ||
  die "could not create the demo accounts; see $LOGS/accounts.log"
"$PY" -m screenpop users add agente3 --password agente3 --role agent --endpoint PJSIP/6003 --name "Rita Mendoza" >/dev/null 2>>"$LOGS/accounts.log" ||
  die "could not create the demo accounts; see $LOGS/accounts.log"
"$PY" -m screenpop users add supervisor --password supervisor --role supervisor --name "Supervisora" >/dev/null 2>>"$LOGS/accounts.log" ||
  die "could not create the demo accounts; see $LOGS/accounts.log"

DEMO_NUMBERS="$("$PY" -c 'from screenpop.sandbox.seed import DEMO_NUMBERS, DEMO_UNKNOWN_NUMBER; print(",".join([*DEMO_NUMBERS, DEMO_UNKNOWN_NUMBER]))')"
say "starting the PBX simulator (AMI on $AMI_PORT, control on $CONTROL_PORT)"
start simulator "$LOGS/simulator.log" "$PY" -m telephony.simulator serve --port "$AMI_PORT" \
  --control-port "$CONTROL_PORT" --username "$AMI_USERNAME" --secret "$AMI_SECRET" \
  --demo --demo-agents PJSIP/6001,PJSIP/6002 --demo-numbers "$DEMO_NUMBERS" --demo-interval 12 \
  --agi-host "$AGI_HOST" --agi-port "$AGI_PORT" --dialer-talk-seconds 90 \
  --recordings "$RECORDINGS_DIR"
wait_for_tcp "the PBX simulator" "$AMI_PORT" "$LOGS/simulator.log"

say "starting telephony (status on $TELEPHONY_STATUS_PORT)"
start telephony "$LOGS/telephony.log" "$PY" -m telephony
say "starting screenpop on port $SCREENPOP_PORT"
start screenpop "$LOGS/screenpop.log" "$PY" -m screenpop serve
wait_for_tcp "screenpop" "$SCREENPOP_PORT" "$LOGS/screenpop.log"
say "waiting for the first WispHub sync and the AMI link"
"$PY" - "http://127.0.0.1:$SCREENPOP_PORT/status" <<'PY' || say "screenpop is not ready yet (its /status says why); the demo goes on"
import sys, time, urllib.error, urllib.request
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2):
            sys.exit(0)
    except (urllib.error.URLError, OSError):
        time.sleep(0.3)
sys.exit(1)
PY

# A small progressive campaign over the sandbox's pending preinstallations of one zone, taken by
# the three agents, open every hour so the demo dials whenever it runs. The simulator's inbound
# calls ring only agente1 and agente2, so agente3 (PJSIP/6003) is free for the dialer: its calls
# and the IVR's callbacks show within seconds of signing in as agente3. It is created with the
# CLI and started; without the dialer engine it simply stays running (nothing else changes).
say "creating and starting the demo campaign (progressive, agente1 to agente3)"
"$PY" -m screenpop campaigns create --name "Demo progresiva" --mode progressive \
  --agent agente1 --agent agente2 --agent agente3 --zone "ZONA CENTRO - CORTE 15" --max-attempts 3 \
  $(for day in mon tue wed thu fri sat sun; do printf -- '--hours %s=00:00-23:59 ' "$day"; done) \
  --no-holidays --start >"$LOGS/campaign.log" 2>&1 ||
  say "the demo campaign could not be created (see $LOGS/campaign.log); the demo goes on without it"

cat >"$DEMO_FILE" <<ENV
DEMO_PID=$$
REDIS_URL=$REDIS_URL
REDIS_PREFIX=$REDIS_PREFIX
DATABASE_URL=$DATABASE_URL
SCREENPOP_URL=http://127.0.0.1:$SCREENPOP_PORT/
SIMULATOR_CONTROL_URL=http://127.0.0.1:$CONTROL_PORT
AMI_PORT=$AMI_PORT
AGI_PORT=$AGI_PORT
WISPHUB_URL=$WISPHUB_URL
LOGS=$LOGS
ENV

cat <<MSG

  Pantalla de asesor:  http://127.0.0.1:$SCREENPOP_PORT/
  Cuentas de prueba:   agente1 / agente1  (PJSIP/6001)
                       agente2 / agente2  (PJSIP/6002)
                       agente3 / agente3  (PJSIP/6003: llamadas de la campaña y devoluciones)
                       supervisor / supervisor
  Campañas:            http://127.0.0.1:$SCREENPOP_PORT/campaigns  (como supervisor)
  El simulador coloca una llamada cada ~12 s. Para una llamada a mano:
    curl -s -X POST http://127.0.0.1:$CONTROL_PORT/say -H 'Content-Type: application/json' \\
      -d '{"text": "llamada entrante de +525512345678 a la cola ventas"}'
  Redis: $REDIS_URL (prefijo $REDIS_PREFIX) · PostgreSQL: base $DEMO_DATABASE
  .venv/bin/python -m screenpop users …  y  … db status  encuentran esta demo solos.
  Registros: $LOGS   ·   Ctrl-C detiene todo.

MSG
status=0
wait -n "${CHILD_PIDS[@]}" || status=$?
# Ctrl-C reaches every process of the terminal's group, the services too, and a service exits
# 0 only when told to stop: one that got there before this shell's trap is the demo stopping.
[ "$status" -eq 0 ] && exit 130
die "a service stopped (exit status $status); see the logs in $LOGS"
