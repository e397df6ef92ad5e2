"""The node's one Redis pub/sub connection: the call bus, account changes, and the agent channels
of the agents with a socket here. Reconnects with capped backoff; after a reconnect the live
pops are sent again, since updates may have been missed meanwhile."""
from __future__ import annotations

import asyncio
import json
import logging
import time

from redis.exceptions import RedisError

from common.backoff import backoff_delay
from common.envelope import CallUpdate, EnvelopeError
from common.keys import Keys
from common.redisconn import close_pubsub
from common.tasks import cancel_requested
from screenpop.preview.offers import PreviewOffers
from screenpop.push import protocol
from screenpop.push.hub import Hub
from screenpop.push.router import PopRouter
from screenpop.web.metrics import Metrics

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 5.0
PING_INTERVAL = 10.0


class CallBus:
    def __init__(self, redis, keys: Keys, router: PopRouter, hub: Hub, metrics: Metrics,
                 offers: PreviewOffers | None = None) -> None:
        self._offers = offers
        self._redis = redis
        self._keys = keys
        self._router = router
        self._hub = hub
        self._metrics = metrics
        self._agent_prefix = keys.agent_channel("")
        self._pubsub = None
        self._following: set[str] = set()
        self._lock = asyncio.Lock()
        self.ready = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self.ready.is_set()

    async def run(self) -> None:
        attempt = 0
        was_connected = False
        while not cancel_requested():
            pubsub = self._redis.pubsub()
            try:
                async with self._lock:
                    users = self._hub.usernames()
                    channels = [self._keys.calls_channel, self._keys.accounts_channel,
                                self._keys.agent_states_channel,
                                self._keys.dialer_offers_channel, self._keys.callbacks_channel,
                                *(self._keys.agent_channel(u) for u in users)]
                    await asyncio.wait_for(pubsub.subscribe(*channels), COMMAND_TIMEOUT)
                    self._pubsub, self._following = pubsub, set(users)
                self.ready.set()
                attempt = 0
                log.info("call bus subscribed agents=%d", len(users))
                if was_connected:
                    self._router.forget_accounts()
                    for username in users:
                        await self._router.resend_live(username)
                was_connected = True
                await self._read(pubsub)
            except (RedisError, OSError, TimeoutError) as exc:
                self._metrics.errors.labels("bus").inc()
                log.warning("call bus lost, reconnecting: %s", exc)
            finally:
                self.ready.clear()
                self._pubsub = None
                await close_pubsub(pubsub, COMMAND_TIMEOUT)
            await asyncio.sleep(backoff_delay(attempt))
            attempt += 1

    async def _read(self, pubsub) -> None:
        last_heard = last_ping = time.monotonic()
        while not cancel_requested():
            # Subscribe confirmations and PING replies (which redis-py 8 returns garbled for
            # decoded connections) come through here too: any reply proves the link is alive.
            message = await pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is None:
                if now - last_heard > 3 * PING_INTERVAL:
                    raise TimeoutError("no answer from Redis on the pub/sub connection")
                if now - last_ping > PING_INTERVAL:
                    last_ping = now
                    await asyncio.wait_for(pubsub.ping(), COMMAND_TIMEOUT)
                continue
            last_heard = now
            if message["type"] == "message":
                await self._handle(_text(message["channel"]), message["data"])

    async def _handle(self, channel: str, data: str | bytes) -> None:
        kind = ("calls" if channel == self._keys.calls_channel else
                "accounts" if channel == self._keys.accounts_channel else
                "states" if channel == self._keys.agent_states_channel else
                "offers" if channel == self._keys.dialer_offers_channel else
                "callbacks" if channel == self._keys.callbacks_channel else "agent")
        self._metrics.bus_messages.labels(kind).inc()
        try:
            if kind == "calls":
                await self._router.on_update(CallUpdate.from_json(data))
            elif kind == "accounts":
                self._router.forget_accounts()
            elif kind == "states":
                self._hub.deliver_agent_state(protocol.agent_state(json.loads(data)))
            elif kind == "offers":
                await self._offer(data)
            elif kind == "callbacks":
                self._hub.deliver_watchers(protocol.callbacks_changed(_text(data)))
            else:
                text = _text(data)
                message = json.loads(text)
                username = channel[len(self._agent_prefix):]
                if message.get("type") == protocol.SESSION_ENDED:
                    self._hub.end_session(username, str(message.get("session")))
                else:
                    self._hub.deliver(username, message, text)
        except (EnvelopeError, ValueError) as exc:
            self._metrics.errors.labels("envelope").inc()
            log.warning("ignoring bad %s message: %s", kind, exc)
        except (RedisError, OSError, TimeoutError) as exc:
            self._metrics.errors.labels("bus").inc()
            log.warning("could not route %s message: %s", kind, exc)

    async def _offer(self, data: str | bytes) -> None:
        """A preview offer appeared or went away: to the offered agent's sockets here only."""
        if self._offers is None:
            return
        announced = await self._offers.announced(data)
        if announced is None:
            raise ValueError("malformed preview offer announcement")
        username, message = announced
        if self._hub.has(username):
            self._hub.deliver(username, message)

    async def follow(self, username: str) -> None:
        """Make the agent-channel subscription match whether this node holds sockets of the
        agent (call after adding or removing a socket)."""
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None:
                return  # the next (re)connect subscribes for every agent held then
            want, have = self._hub.has(username), username in self._following
            channel = self._keys.agent_channel(username)
            try:
                if want and not have:
                    await asyncio.wait_for(pubsub.subscribe(channel), COMMAND_TIMEOUT)
                    self._following.add(username)
                elif have and not want:
                    await asyncio.wait_for(pubsub.unsubscribe(channel), COMMAND_TIMEOUT)
                    self._following.discard(username)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("agent channel (un)subscribe failed agent=%s: %s", username, exc)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
