"""The dialer's preview offers in Redis, as the agent's screen sees and answers them.

The engine writes the offer of an agent in `Keys.dialer_offer(username)` (hash: attempt_id,
campaign_id, campaign_name, preinstallation_id, phone, worker, offered_at) and announces it on
`Keys.dialer_offers_channel`. The agent's answer is one transaction: the command
`{"attempt_id", "action": "call"|"skip", "by"}` pushed on `Keys.dialer_commands(worker)` (RPUSH,
expiring), the offer deleted and `{"username", "offer": null}` published, so every tab of the
agent (on any node) clears it — and only if the offer is still the one answered.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from redis.exceptions import WatchError

from common.keys import Keys
from common.phones import display, to_e164
from screenpop.index import PreinstallationIndex
from screenpop.pops import record_payload
from screenpop.push import protocol

log = logging.getLogger(__name__)

ACTIONS = ("call", "skip")
COMMAND_TTL_SECONDS = 300  # an engine that is gone leaves no command list behind for long
OFFER_FIELDS = ("attempt_id", "campaign_id", "campaign_name", "preinstallation_id", "phone",
                "offered_at")


class OfferGone(Exception):
    """The offer answered is not the agent's offer any more."""


def public_offer(raw: Mapping[str, str]) -> dict[str, Any] | None:
    """What the browser is shown of a stored offer (pure; the worker stays on the server)."""
    if not raw or not raw.get("attempt_id"):
        return None
    offer: dict[str, Any] = {name: raw.get(name) or None for name in OFFER_FIELDS}
    number = to_e164(raw.get("phone"))
    offer["phone_display"] = display(number) if number else (raw.get("phone") or None)
    try:
        offer["offered_at"] = float(raw["offered_at"]) if raw.get("offered_at") else None
    except ValueError:
        offer["offered_at"] = None
    return offer


class PreviewOffers:
    def __init__(self, redis, keys: Keys, index: PreinstallationIndex) -> None:
        self._redis = redis
        self._keys = keys
        self._index = index

    async def message(self, offer: Mapping[str, str] | None) -> dict[str, Any]:
        """The `preview` frame of an offer (None: withdrawn), with the record as the pop shows
        it when the index has it."""
        public = public_offer(offer or {})
        if public is None:
            return protocol.preview(None)
        record = None
        if public["preinstallation_id"]:
            found = await self._index.get(str(public["preinstallation_id"]))
            if found is not None:
                installed = await self._index.installed(found.id)
                record = {"status": "one", "linked": False,
                          "preinstallations": [record_payload(found, installed=installed)]}
        return protocol.preview(public, record or {"status": "none", "preinstallations": []})

    async def current(self, username: str) -> dict[str, Any] | None:
        """The `preview` frame of the agent's pending offer, or None without one."""
        raw = await self._redis.hgetall(self._keys.dialer_offer(username))
        return await self.message(raw) if public_offer(raw) is not None else None

    async def announced(self, data: str | bytes) -> tuple[str, dict[str, Any]] | None:
        """(username, `preview` frame) of a message of the offers channel; None if malformed."""
        try:
            message = json.loads(data)
        except ValueError:
            return None
        if not isinstance(message, dict) or not isinstance(message.get("username"), str):
            return None
        offer = message.get("offer")
        if offer is not None and not isinstance(offer, dict):
            return None
        raw = {k: str(v) for k, v in offer.items() if v is not None} if offer else None
        return message["username"], await self.message(raw)

    async def decide(self, username: str, attempt_id: str, action: str) -> None:
        """The agent's answer to the offer `attempt_id`; OfferGone when that is not (or no
        longer) the agent's offer."""
        if action not in ACTIONS:
            raise ValueError(action)
        keys = self._keys
        key = keys.dialer_offer(username)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    offer = await pipe.hgetall(key)
                    if not offer or offer.get("attempt_id") != attempt_id \
                            or not offer.get("worker"):
                        await pipe.unwatch()
                        raise OfferGone(attempt_id)
                    commands = keys.dialer_commands(offer["worker"])
                    pipe.multi()
                    pipe.rpush(commands, json.dumps({"attempt_id": attempt_id, "action": action,
                                                     "by": username}))
                    pipe.expire(commands, COMMAND_TTL_SECONDS)
                    pipe.delete(key)
                    pipe.publish(keys.dialer_offers_channel,
                                 json.dumps({"username": username, "offer": None}))
                    await pipe.execute()
                    log.info("preview %s agent=%s attempt=%s worker=%s", action, username,
                             attempt_id, offer["worker"])
                    return
                except WatchError:
                    continue
