"""From call envelopes to the pops of the agents connected to this node, and to the agents'
states (in_call when answered at their endpoint, wrap_up when that call ends).

The endpoint → agents mapping is cached briefly (and dropped, with the accounts directory of
screenpop.users, on account changes); what a call is
about (screenpop.calls.record) is looked up once per call and kept for the call's life, unless an
agent links the call to a record, which overrides it. Who holds each call is recorded for
screenpop.calls.access.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from typing import Any

from redis.exceptions import RedisError

from common.callstate import read_call_state
from common.envelope import CallUpdate
from common.keys import Keys
from common.tasks import cancel_requested
from screenpop import agents
from screenpop.calls.access import CallAccess
from screenpop.calls.record import CallRecords
from screenpop.pops import agent_leg, customer, linked_payload
from screenpop.push import protocol
from screenpop.push.acks import AckTracker
from screenpop.push.hub import Hub
from screenpop.records import CallLog
from screenpop.users import User, UserStore
from screenpop.wisphub.models import Preinstallation

log = logging.getLogger(__name__)

AGENTS_CACHE_SECONDS = 30.0
CAMPAIGN_NAME_SECONDS = 60.0
CAMPAIGNS_KEPT = 256
MATCHES_KEPT = 5000
STATE_BACKLOG = 10_000


class PopRouter:
    def __init__(self, redis, keys: Keys, records: CallRecords, access: CallAccess,
                 users: UserStore, hub: Hub, *, states: agents.AgentStateStore,
                 settings: agents.AgentSettings, acks: AckTracker,
                 call_log: CallLog | None = None) -> None:
        self._call_log = call_log or CallLog(None)
        self._redis = redis
        self._records = records
        self._access = access
        self._states = states
        self._settings = settings
        self._acks = acks
        self._keys = keys
        self._users = users
        self._hub = hub
        self._agents: dict[str, tuple[float, frozenset[str]]] = {}
        self._campaign_names: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        # call id → ((linked record, customer number), match): an agent-first Originate rings
        # the agent before the customer's number is known, so a new number is a new match
        self._matches: OrderedDict[str, tuple[tuple[str | None, str | None], dict[str, Any]]] = \
            OrderedDict()
        # Agent-state bookkeeping takes several Redis round trips: it runs behind the pops,
        # in order, on its own task (run_states), so it never delays the next pop.
        self._state_work: asyncio.Queue[tuple[str, CallUpdate, str]] = asyncio.Queue(STATE_BACKLOG)

    def forget_accounts(self) -> None:
        self._agents.clear()
        self._users.forget()

    async def on_update(self, update: CallUpdate) -> None:
        by_agent: dict[str, list[str]] = {}
        for endpoint in update.agents:
            for username in await self._agents_of(endpoint):
                by_agent.setdefault(username, []).append(endpoint)
        here = {name: endpoints for name, endpoints in by_agent.items() if self._hub.has(name)}
        try:
            if here:
                match = await self._match_for(update)
                campaign = await self._campaign_name(update.campaign_id)
                for username, endpoints in here.items():
                    leg = agent_leg(update, endpoints)
                    if leg is not None:
                        self.send_pop(username, protocol.pop(update, *leg, match,
                                                             campaign_name=campaign))
        finally:
            self._call_log.answered_by(update, by_agent)  # after the pops: the record can wait
        if update.state == "ended":
            self._matches.pop(update.call_id, None)
        for username, endpoints in by_agent.items():
            leg = agent_leg(update, endpoints)
            if leg is not None:
                try:
                    self._state_work.put_nowait((username, update, leg[1]))
                except asyncio.QueueFull:
                    log.error("agent state backlog full, update dropped agent=%s call=%s",
                              username, update.call_id)

    async def run_states(self) -> None:
        """Applies the agents' state transitions queued by on_update, in arrival order."""
        while not cancel_requested():
            username, update, leg = await self._state_work.get()
            try:
                await self._follow(username, update, leg)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("agent state not updated agent=%s call=%s: %s", username,
                            update.call_id, exc)

    def send_pop(self, username: str, pop: dict[str, Any]) -> None:
        """Queue a pop on the agent's sockets here; their browsers must acknowledge it."""
        if self._hub.deliver(username, pop):
            self._acks.expect(username, pop)

    async def _follow(self, username: str, update: CallUpdate, leg: str) -> None:
        """Every node applies the same transition; the store's transaction makes it happen once."""
        if leg in ("ringing", "answered") and update.state != "ended":
            await self._acks.watch(username, update.call_id, update.seq)
        now = time.time()
        await self._states.update(username, lambda state: agents.on_call(
            state, update.call_id, leg, update.state, customer(update)[1], now, self._settings))
        if leg == "answered":
            await self._access.record_answer(update, username, now)

    async def live_pops(self, user: User) -> list[dict[str, Any]]:
        """The pops of the calls still alerting or connected at the user's endpoints."""
        keys = self._keys
        if not user.endpoints:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for endpoint in user.endpoints:
                pipe.smembers(keys.endpoint_calls(endpoint))
            call_ids = sorted({_text(c) for members in await pipe.execute() for c in members})
        if not call_ids:
            return []
        pops = []
        for raw in await self._redis.mget([keys.call(c) for c in call_ids]):
            update = read_call_state(raw)
            leg = agent_leg(update, user.endpoints) if update else None
            if update is None or leg is None or update.state == "ended":
                continue
            pop = protocol.pop(update, *leg, await self._match_for(update),
                               campaign_name=await self._campaign_name(update.campaign_id))
            if pop["state"] != "ended":
                pops.append(pop)
        pops.sort(key=lambda pop: pop["started_at"])
        return pops

    async def follow_live_calls(self, user: User) -> None:
        """Put the agent's state in step with the calls live at their endpoints now (at sign-in:
        a call answered while they were signed out, or while this service was down, makes them
        *en llamada*, not *disponible*)."""
        for pop in await self.live_pops(user):
            if pop["state"] == "answered":
                await self._states.update(user.username, lambda state, pop=pop: agents.on_call(
                    state, pop["call_id"], "answered", "answered", pop["customer_display"],
                    time.time(), self._settings))

    async def resend_live(self, username: str) -> None:
        """Send an agent's live pops again to all their sockets here (after a bus outage)."""
        user = await self._users.get(username)
        if user is None:
            return
        pops = await self.live_pops(user)
        for pop in pops:
            self.send_pop(username, pop)
        self._hub.deliver(username, protocol.synced(p["call_id"] for p in pops))

    async def announce_link(self, user: User, update: CallUpdate, leg: tuple[str, str],
                            record: Preinstallation) -> dict[str, Any]:
        """The call was just linked to `record`: tell all the user's tabs (through their agent
        channel, whichever node holds them). Returns the new pop."""
        match = linked_payload(record, await self._records.installed(record.id))
        self._remember(update.call_id, (record.id, update.customer_number), match)
        self._call_log.matched(update.call_id, match, by=user.username)
        pop = protocol.pop(update, *leg, match,
                           campaign_name=await self._campaign_name(update.campaign_id))
        await self._redis.publish(self._keys.agent_channel(user.username), json.dumps(pop))
        log.info("call linked to preinstallation %s agent=%s call=%s", record.id,
                 user.username, update.call_id)
        return pop

    async def _campaign_name(self, campaign_id: str | None) -> str | None:
        """The name of a dialer call's campaign, from the engine's live figures
        (Keys.dialer_live), kept a minute; None when no engine runs it now."""
        if not campaign_id:
            return None
        now = time.monotonic()
        cached = self._campaign_names.get(campaign_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        raw = await self._redis.hget(self._keys.dialer_live(campaign_id), "name")
        name = _text(raw) if raw is not None else None
        self._campaign_names[campaign_id] = (now + CAMPAIGN_NAME_SECONDS, name or None)
        self._campaign_names.move_to_end(campaign_id)
        while len(self._campaign_names) > CAMPAIGNS_KEPT:
            self._campaign_names.popitem(last=False)
        return self._campaign_names[campaign_id][1]

    async def _agents_of(self, endpoint: str) -> frozenset[str]:
        now = time.monotonic()
        cached = self._agents.get(endpoint)
        if cached and cached[0] > now:
            return cached[1]
        agents = await self._users.agents_of(endpoint)
        self._agents[endpoint] = (now + AGENTS_CACHE_SECONDS, agents)
        return agents

    async def _match_for(self, update: CallUpdate) -> dict[str, Any]:
        link = await self._records.linked_id(update.call_id)
        cached = self._matches.get(update.call_id)
        if cached is not None and cached[0] == (link, update.customer_number):
            self._matches.move_to_end(update.call_id)
            return cached[1]
        subject = await self._records.subject_of(update)
        match = subject.pop_match()
        self._call_log.matched(update.call_id, match)
        self._remember(update.call_id, (link, update.customer_number), match)
        return match

    def _remember(self, call_id: str, key: tuple[str | None, str | None],
                  match: dict[str, Any]) -> None:
        self._matches[call_id] = (key, match)
        self._matches.move_to_end(call_id)
        while len(self._matches) > MATCHES_KEPT:
            self._matches.popitem(last=False)




def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
