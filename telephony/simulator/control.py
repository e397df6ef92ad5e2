"""The simulator's small HTTP control endpoint (aiohttp app factory)."""
from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from telephony.simulator import dialer_outcomes as oc
from telephony.simulator.say import SayError, parse_order
from telephony.simulator.server import PbxSimulator

SIM_KEY = web.AppKey("simulator", PbxSimulator)
AGENTS_KEY = web.AppKey("default_agents", list)
CALL_PARAMS = frozenset({"customer", "name", "agents", "queue", "strategy", "answered_by",
                         "ring_no_answer", "did", "hold_at", "hold_for", "speed"})
DIALER_SETTINGS = frozenset({"members", "unreachable", "trunk", "ring_seconds",
                             "agent_ring_seconds", "talk_seconds", "queue_wait_seconds",
                             "dial_timeout_seconds", "weights", "seed"})


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _start(request: web.Request, params: dict[str, object]) -> web.Response:
    sim = request.app[SIM_KEY]
    scenario = params.pop("scenario", None)
    if not isinstance(scenario, str):
        return _bad_request("Falta «scenario» (p. ej. inbound_queue).")
    unknown = set(params) - CALL_PARAMS
    if unknown:
        return _bad_request(f"Parámetros desconocidos: {', '.join(sorted(unknown))}.")
    params.setdefault("agents", list(request.app[AGENTS_KEY]))
    try:
        call = await sim.start_call(scenario, **params)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        return _bad_request(f"No se pudo iniciar la llamada: {exc}")
    return web.json_response(call.to_dict(), status=202)


async def _json_object(request: web.Request) -> dict[str, object] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def post_call(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _bad_request("El cuerpo debe ser un objeto JSON.")
    return await _start(request, body)


async def list_calls(request: web.Request) -> web.Response:
    return web.json_response({"calls": [c.to_dict() for c in request.app[SIM_KEY].live_calls()]})


async def delete_call(request: web.Request) -> web.Response:
    if await request.app[SIM_KEY].hangup(request.match_info["call_id"]):
        return web.json_response({"hungup": request.match_info["call_id"]})
    return web.json_response({"error": "No existe esa llamada."}, status=404)


async def post_faults(request: web.Request) -> web.Response:
    sim = request.app[SIM_KEY]
    body = await _json_object(request)
    if body is None or not body or not set(body) <= {"drop", "answer_pings", "shutting_down"}:
        return _bad_request("Use {\"drop\": true}, {\"answer_pings\": false} o "
                            "{\"shutting_down\": true}.")
    dropped = 0
    if "answer_pings" in body:
        sim.answer_pings = bool(body["answer_pings"])
    if "shutting_down" in body:
        sim.shutting_down = bool(body["shutting_down"])
    if body.get("drop"):
        dropped = sim.sessions_count
        await sim.drop_connections()
    return web.json_response({"answer_pings": sim.answer_pings, "dropped": dropped,
                              "shutting_down": sim.shutting_down})


async def post_say(request: web.Request) -> web.Response:
    body = await _json_object(request)
    text = body.get("text") if body else None
    if not isinstance(text, str) or not text.strip():
        return _bad_request("Falta «text» con la orden en español.")
    try:
        params = parse_order(text)
    except SayError as exc:
        return _bad_request(str(exc))
    return await _start(request, params)


async def get_dialer(request: web.Request) -> web.Response:
    return web.json_response(request.app[SIM_KEY].dialer.state())


async def post_dialer_settings(request: web.Request) -> web.Response:
    """Agents, trunk, delays, outcome weights and seed for the Originates to come."""
    floor = request.app[SIM_KEY].dialer
    body = await _json_object(request)
    if body is None:
        return _bad_request("El cuerpo debe ser un objeto JSON, p. ej. "
                            "{\"weights\": {\"connected\": 60, \"busy\": 40}, \"seed\": 1}.")
    unknown = set(body) - DIALER_SETTINGS
    if unknown:
        return _bad_request(f"Ajustes desconocidos: {', '.join(sorted(unknown))}. "
                            f"Válidos: {', '.join(sorted(DIALER_SETTINGS))}.")
    try:
        floor.configure(body)
    except ValueError as exc:
        return _bad_request(f"No se aplicó ningún cambio: {exc}")
    return web.json_response(floor.state())


async def post_dialer_outcomes(request: web.Request) -> web.Response:
    """`{"5215512345678": "busy"}`: the next Originate to that number gets that outcome (once);
    `{"rules": {"5215512345678": "busy"}}`: every one does (null removes the rule)."""
    floor = request.app[SIM_KEY].dialer
    body = await _json_object(request)
    if body is None or not body:
        return _bad_request("Use {\"5215512345678\": \"busy\"} (la próxima llamada a ese "
                            "número) o {\"rules\": {\"5215512345678\": \"busy\"}} (todas).")
    rules = body.pop("rules", {})
    if not isinstance(rules, dict):
        return _bad_request("«rules» debe ser un objeto número → resultado.")
    checks = [*body.values(), *(v for v in rules.values() if v is not None)]
    bad = [v for v in checks if not isinstance(v, str) or v not in oc.OUTCOMES]
    if bad:
        return _bad_request(f"Resultado desconocido {bad[0]!r}; use uno de: "
                            f"{', '.join(oc.OUTCOMES)}.")
    for number, outcome in body.items():
        floor.picker.force_next(number, outcome)
    for number, outcome in rules.items():
        floor.picker.set_rule(number, outcome)
    return web.json_response(floor.state())


def create_control_app(sim: PbxSimulator, *, default_agents: Sequence[str] = ("PJSIP/6001",)
                       ) -> web.Application:
    app = web.Application()
    app[SIM_KEY] = sim
    app[AGENTS_KEY] = list(default_agents)
    app.router.add_post("/calls", post_call)
    app.router.add_get("/calls", list_calls)
    app.router.add_delete("/calls/{call_id}", delete_call)
    app.router.add_post("/faults", post_faults)
    app.router.add_post("/say", post_say)
    app.router.add_get("/dialer", get_dialer)
    app.router.add_post("/dialer/settings", post_dialer_settings)
    app.router.add_post("/dialer/outcomes", post_dialer_outcomes)
    return app
