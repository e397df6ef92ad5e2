"""GET /ws: the agent's push socket (session cookie + Origin check before upgrading). The frames
themselves are screenpop.push.protocol's."""
from __future__ import annotations

import logging
import time

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from screenpop.campaigns.state import CAMPAIGN_LIVE
from screenpop.push import protocol
from screenpop.push.hub import PING_INTERVAL, WATCHER_ROLES, AgentSocket
from screenpop.users import User
from screenpop.web import auth
from screenpop.web.state import ACKS, AGENT_STATES, BUS, CONFIG, HUB, METRICS, PREVIEW, ROUTER

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 30.0


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
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS,
                               max_msg_size=protocol.MAX_INBOUND_BYTES)
    await ws.prepare(request)
    sock = AgentSocket(ws, request, user.username, session.id, app[METRICS], role=user.role)
    sock.offer(protocol.hello(user.public(), user.endpoints, server_time=time.time(),
                              ping_interval=PING_INTERVAL))
    hub.add(sock)
    log.info("socket open agent=%s", user.username)
    try:
        await bus.follow(user.username)
        states = app[AGENT_STATES]
        sock.offer(protocol.agent_state((await states.get(user.username)).to_dict()))
        if user.role in WATCHER_ROLES:
            sock.offer(protocol.agents(state.to_dict() for state in await states.all()))
            if CAMPAIGN_LIVE in app:
                app[CAMPAIGN_LIVE].welcome(sock)
        pops = await router.live_pops(user)
        for pop in pops:
            if sock.offer(pop):
                app[ACKS].expect(user.username, pop)
        sock.offer(protocol.synced(p["call_id"] for p in pops))
        offer = await app[PREVIEW].current(user.username)
        if offer is not None:
            sock.offer(offer)
        sock.start()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                reply = await _answer(app, user, message.data)
                if reply is not None:
                    sock.offer(reply)
            elif message.type == WSMsgType.BINARY:
                sock.offer(protocol.error("binary_not_supported"))
    finally:
        hub.remove(sock)
        await sock.finish()
        await bus.follow(user.username)
        log.info("socket closed agent=%s code=%s", user.username, ws.close_code)
    return ws


async def _answer(app: web.Application, user: User, data: str) -> dict | None:
    """The reply to one inbound frame, if any."""
    try:
        frame = protocol.parse_inbound(data)
    except protocol.ProtocolError as exc:
        log.info("refused inbound frame agent=%s: %s", user.username, exc.code)
        return exc.reply
    if isinstance(frame, protocol.Ping):
        return protocol.pong(frame.t)
    if isinstance(frame, protocol.Ack):
        try:
            if not await app[ACKS].ack(user, frame.call_id, frame.seq, frame.seen):
                return protocol.error("unknown_call")
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("ack not recorded agent=%s call=%s: %s", user.username, frame.call_id, exc)
    return None
