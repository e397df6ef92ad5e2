"""GET /ws: the agent's push socket (session cookie + Origin check before upgrading)."""
from __future__ import annotations

import json
import logging
import time

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from screenpop.agents import AgentState
from screenpop.pops import PROTOCOL_VERSION, build_hello, build_synced
from screenpop.web import auth
from screenpop.web.hub import PING_INTERVAL, WATCHER_ROLES, AgentSocket
from screenpop.web.state import ACKS, AGENT_STATES, BUS, CONFIG, HUB, METRICS, ROUTER

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0
MAX_INBOUND_BYTES = 4096


def allowed_origins(request: web.Request) -> set[str]:
    origins = {f"{request.scheme}://{request.host}"}
    if request.app[CONFIG].public_origin:
        origins.add(request.app[CONFIG].public_origin.rstrip("/"))
    return origins


async def websocket(request: web.Request) -> web.StreamResponse:
    found = await auth.current(request)
    if found is None:
        raise web.HTTPForbidden(text="sesión requerida")
    if request.headers.get("Origin") not in allowed_origins(request):
        log.warning("websocket refused, foreign origin %r", request.headers.get("Origin"))
        raise web.HTTPForbidden(text="origen no permitido")
    session, user = found
    app = request.app
    hub, bus, router = app[HUB], app[BUS], app[ROUTER]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_INBOUND_BYTES)
    await ws.prepare(request)
    sock = AgentSocket(ws, request, user.username, session.id, app[METRICS], role=user.role)
    sock.offer(build_hello(user.public(), user.endpoints, server_time=time.time(),
                           ping_interval=PING_INTERVAL))
    hub.add(sock)
    log.info("socket open agent=%s", user.username)
    try:
        await bus.follow(user.username)
        states = app[AGENT_STATES]
        sock.offer(agent_state_message(await states.get(user.username)))
        if user.role in WATCHER_ROLES:
            sock.offer({"type": "agents", "version": PROTOCOL_VERSION,
                        "agents": [state.to_dict() for state in await states.all()]})
        pops = await router.live_pops(user)
        for pop in pops:
            if sock.offer(pop):
                app[ACKS].expect(user.username, pop)
        sock.offer(build_synced(p["call_id"] for p in pops))
        sock.start()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                reply = await _answer(app, user.username, message.data)
                if reply is not None:
                    sock.offer(reply)
            elif message.type == WSMsgType.BINARY:
                sock.offer({"type": "error", "version": 1, "code": "binary_not_supported"})
    finally:
        hub.remove(sock)
        await sock.finish()
        await bus.follow(user.username)
        log.info("socket closed agent=%s code=%s", user.username, ws.close_code)
    return ws


def agent_state_message(state: AgentState) -> dict:
    return {"type": "agent_state", "version": PROTOCOL_VERSION, "agent": state.to_dict()}


async def _answer(app: web.Application, username: str, data: str) -> dict | None:
    """The reply to one inbound frame (ping, pong, ack)."""
    try:
        frame = json.loads(data)
    except ValueError:
        return {"type": "error", "version": 1, "code": "not_json"}
    if isinstance(frame, dict) and frame.get("type") == "ack":
        call_id, seq = frame.get("call_id"), frame.get("seq")
        if not isinstance(call_id, str) or not call_id or type(seq) is not int:
            return {"type": "error", "version": 1, "code": "bad_ack"}
        try:
            await app[ACKS].ack(username, call_id, seq, frame.get("seen") is True)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("ack not recorded agent=%s call=%s: %s", username, call_id, exc)
        return None
    if isinstance(frame, dict) and frame.get("type") == "ping":
        t = frame.get("t")
        return {"type": "pong", "version": 1, "t": t if isinstance(t, (int, float)) else None}
    if isinstance(frame, dict) and frame.get("type") == "pong":
        return None
    return {"type": "error", "version": 1, "code": "unknown_type"}
