"""GET /status (200 when Redis, AMI and WispHub are all fine, else 503) and GET /metrics."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from screenpop.web.state import BUS, GATEWAY, INDEX, KEYS, METRICS, REDIS

CHECK_TIMEOUT = 3.0
HEARTBEAT_FRESH_SECONDS = 30.0


async def _redis(app: web.Application) -> dict[str, Any]:
    try:
        await asyncio.wait_for(app[REDIS].ping(), CHECK_TIMEOUT)
    except (RedisError, OSError, TimeoutError) as exc:
        return {"ok": False, "detail": str(exc) or type(exc).__name__}
    return {"ok": True, "bus": app[BUS].connected}


async def _ami(app: web.Application) -> dict[str, Any]:
    redis, pattern = app[REDIS], app[KEYS].telephony_heartbeat("*")
    nodes: dict[str, Any] = {}

    async def read() -> tuple[list, list]:
        keys = [k async for k in redis.scan_iter(match=pattern, count=100)]
        return keys, (await redis.mget(keys) if keys else [])

    try:
        keys, values = await asyncio.wait_for(read(), CHECK_TIMEOUT)
    except (RedisError, OSError, TimeoutError) as exc:
        return {"ok": False, "detail": str(exc) or type(exc).__name__, "nodes": {}}
    prefix, suffix = pattern.split("*")
    now = time.time()
    for key, raw in zip(keys, values):
        key = key.decode() if isinstance(key, bytes) else key
        try:
            beat = json.loads(raw) if raw else {}
        except ValueError:
            beat = {}
        fresh = now - float(beat.get("at") or 0) <= HEARTBEAT_FRESH_SECONDS
        nodes[key[len(prefix):len(key) - len(suffix)]] = {"ami": beat.get("ami"), "at": beat.get("at"),
                                                          "fresh": fresh}
    ok = any(n["fresh"] and n["ami"] == "connected" for n in nodes.values())
    return {"ok": ok, "nodes": nodes, **({} if nodes else {"detail": "ningún listener activo"})}


async def _wisphub(app: web.Application) -> dict[str, Any]:
    try:
        index = await asyncio.wait_for(app[INDEX].status(), CHECK_TIMEOUT)
    except (RedisError, OSError, TimeoutError) as exc:
        return {"ok": False, "detail": str(exc) or type(exc).__name__}
    result: dict[str, Any] = {"ok": index["last_sync"] is not None, "index": index}
    gateway = app.get(GATEWAY)
    if gateway is not None:
        try:
            health = await asyncio.wait_for(gateway.health(), CHECK_TIMEOUT * 3)
        except TimeoutError:
            health = {"ok": False, "detail": "WispHub no respondió a tiempo"}
        result["gateway"] = health
        result["ok"] = result["ok"] and bool(health.get("ok"))
    return result


async def status(request: web.Request) -> web.Response:
    redis, ami, wisphub = await asyncio.gather(_redis(request.app), _ami(request.app),
                                               _wisphub(request.app))
    ok = redis["ok"] and ami["ok"] and wisphub["ok"]
    return web.json_response({"ok": ok, "redis": redis, "ami": ami, "wisphub": wisphub},
                             status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS]
    return web.Response(body=registry.render(), headers={"Content-Type": registry.content_type})
