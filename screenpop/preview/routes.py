"""POST /api/dialer/preview: the agent's *llamar* or *saltar* on a preview offer (CSRF; only the
agent the offer is for — it is looked up under the signed-in account, never taken from the body).
"""
from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError

from screenpop.preview.offers import ACTIONS, OfferGone
from screenpop.web import auth
from screenpop.web.state import PREVIEW

OFFER_GONE = ("Esta oferta ya no está vigente: la campaña la retiró o ya se respondió en otra "
              "pestaña.")


def add_preview_routes(app: web.Application) -> None:
    app.router.add_post("/api/dialer/preview", decide)


async def decide(request: web.Request) -> web.Response:
    _, user, body = await auth.require_json_post(request)
    attempt_id = body.get("attempt_id") if isinstance(body, dict) else None
    action = body.get("action") if isinstance(body, dict) else None
    if not isinstance(attempt_id, str) or not 0 < len(attempt_id) <= 64 or action not in ACTIONS:
        return web.json_response({"error": "bad_request", "message": "Indique la oferta y si "
                                  "llama o la salta."}, status=400)
    try:
        await request.app[PREVIEW].decide(user.username, attempt_id, action)
    except OfferGone:
        return web.json_response({"error": "offer_gone", "message": OFFER_GONE}, status=409)
    except (RedisError, OSError, TimeoutError):
        return web.json_response({"error": "unavailable", "message": "No se pudo avisar a la "
                                  "campaña; intente de nuevo en un momento."}, status=503)
    return web.json_response({"ok": True, "attempt_id": attempt_id, "action": action})
