#!/usr/bin/env bash
# Sets up and runs the whole system on its embedded defaults: Redis, the WispHub sandbox, the PBX
# simulator placing demo calls, telephony and screenpop. Prints the URL and the demo accounts;
# Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'say "stopping"; stop_children' EXIT
trap 'exit 130' INT TERM
cd "$ROOT"
ensure_venv
ensure_redis
mkdir -p "$RUN_DIR/logs"
LOGS="$RUN_DIR/logs"

port_is_free() { "$PY" -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null; }
pick_port() { if port_is_free "$1"; then echo "$1"; else free_port; fi; }
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

SANDBOX_PORT="$(pick_port "${SANDBOX_PORT:-8090}")"
AMI_PORT="$(pick_port "${AMI_PORT:-5038}")"
CONTROL_PORT="$(pick_port "${SIMULATOR_CONTROL_PORT:-5039}")"
TELEPHONY_STATUS_PORT="$(pick_port "${TELEPHONY_STATUS_PORT:-8081}")"
SCREENPOP_PORT="$(pick_port "${SCREENPOP_PORT:-8080}")"
export REDIS_PREFIX="${REDIS_PREFIX:-sp}"
export AMI_HOST=127.0.0.1 AMI_PORT AMI_USERNAME=screenpop AMI_SECRET=screenpop-demo
export AGENT_ENDPOINT_PATTERNS="${AGENT_ENDPOINT_PATTERNS:-PJSIP/*,SIP/*,!*/trunk*,!*/pstn*}"
export TELEPHONY_STATUS_PORT SCREENPOP_PORT SCREENPOP_HOST=127.0.0.1
export SCREENPOP_SECRET_KEY="${SCREENPOP_SECRET_KEY:-$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')}"
export WISPHUB_URL="http://127.0.0.1:$SANDBOX_PORT/api/" WISPHUB_PANEL_URL="http://127.0.0.1:$SANDBOX_PORT/"
export WISPHUB_SYNC_INTERVAL="${WISPHUB_SYNC_INTERVAL:-60}"
# the sandbox tenant's routers and APs per zone (write-back never guesses them)
export WISPHUB_ACTIONS_CONFIG="${WISPHUB_ACTIONS_CONFIG:-$ROOT/screenpop/sandbox/actions.json}"

say "starting the WispHub sandbox on port $SANDBOX_PORT"
start sandbox "$LOGS/sandbox.log" "$PY" -m screenpop.sandbox --port "$SANDBOX_PORT"
wait_for_tcp "the WispHub sandbox" "$SANDBOX_PORT" "$LOGS/sandbox.log"

say "creating the demo accounts"
"$PY" -m screenpop users add agente1 --password agente1 --role agent --endpoint PJSIP/6001 --name "Ana Torres" >/dev/null
"$PY" -m screenpop users add agente2 --password agente2 --role agent --endpoint PJSIP/6002 --name "Luis Ramírez" >/dev/null
"$PY" -m screenpop users add supervisor --password supervisor --role supervisor --name "Supervisora" >/dev/null

DEMO_NUMBERS="$("$PY" -c 'from screenpop.sandbox.seed import DEMO_NUMBERS, DEMO_UNKNOWN_NUMBER; print(",".join([*DEMO_NUMBERS, DEMO_UNKNOWN_NUMBER]))')"
say "starting the PBX simulator (AMI on $AMI_PORT, control on $CONTROL_PORT)"
start simulator "$LOGS/simulator.log" "$PY" -m telephony.simulator serve --port "$AMI_PORT" \
  --control-port "$CONTROL_PORT" --username "$AMI_USERNAME" --secret "$AMI_SECRET" \
  --demo --demo-agents PJSIP/6001,PJSIP/6002 --demo-numbers "$DEMO_NUMBERS" --demo-interval 12
wait_for_tcp "the PBX simulator" "$AMI_PORT" "$LOGS/simulator.log"

say "starting telephony (status on $TELEPHONY_STATUS_PORT)"
start telephony "$LOGS/telephony.log" "$PY" -m telephony
say "starting screenpop on port $SCREENPOP_PORT"
start screenpop "$LOGS/screenpop.log" "$PY" -m screenpop serve
wait_for_tcp "screenpop" "$SCREENPOP_PORT" "$LOGS/screenpop.log"

cat <<MSG

  Pantalla de asesor:  http://127.0.0.1:$SCREENPOP_PORT/
  Cuentas de prueba:   agente1 / agente1  (PJSIP/6001)
                       agente2 / agente2  (PJSIP/6002)
                       supervisor / supervisor
  El simulador coloca una llamada cada ~12 s. Para una llamada a mano:
    curl -s -X POST http://127.0.0.1:$CONTROL_PORT/say -H 'Content-Type: application/json' \\
      -d '{"text": "llamada entrante de +525512345678 a la cola ventas"}'
  Registros: $LOGS   ·   Ctrl-C detiene todo.

MSG
wait -n "${CHILD_PIDS[@]}" || true
die "a service stopped; see the logs in $LOGS"
