"""One running campaign of the dialer engine (telephony.dialer.engine): each step reads the
assigned agents' live states, decides with `pacing.decide`, reserves agents, claims leads and
places calls or preview offers; it follows the calls to their end and publishes the campaign's
live figures."""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from common.backoff import backoff_delay
from common.dialer.outcomes import AttemptResult, Order, Outcome
from common.dialer.store import Campaign, Claim, Mode
from telephony.dialer.floor import AgentView, Command, agent_view, live_figures, measured
from telephony.dialer.originate import OriginateRequest, PlacedCall
from telephony.dialer.pacing import Floor, Measured, PacingSettings, decide

if TYPE_CHECKING:
    from telephony.dialer.engine import DialerEngine

log = logging.getLogger(__name__)

STEP_EVERY = 1.0          # a runner's step at least this often
SETTLE_TRIES = 4          # writes of an attempt's end before leaving it to the lease
STOP_TIMEOUT = 3.0        # the longest stop() waits for what it cancelled
REDIS_RETRY_CAP = 5.0


@dataclass
class _Call:
    claim: Claim
    agent: str | None          # the reserved agent, when the call holds one
    task: asyncio.Task | None = None
    started_at: float = dataclasses.field(default_factory=time.time)


@dataclass
class _Offer:
    claim: Claim
    agent: str
    expires_at: float


class CampaignRunner:
    def __init__(self, engine: DialerEngine, campaign: Campaign) -> None:
        self.engine = engine
        self.campaign = campaign
        self.state = "running"
        self.calls: dict[str, _Call] = {}
        self.offers: dict[str, _Offer] = {}
        self.last_error: str | None = None
        self.dial_ratio = 0.0
        self.measured = Measured()
        self._measured_at = float("-inf")
        self._views: list[AgentView] = []
        self._wake = asyncio.Event()
        self._agent_woken_at: float | None = None
        self._task: asyncio.Task | None = None
        self._fast_tasks: set[asyncio.Task] = set()
        self._stopping = False
        self._live_sent: dict[str, object] | None = None
        self._live_sent_at = float("-inf")
        self._live_stored_at = float("-inf")

    @property
    def campaign_id(self) -> str:
        return self.campaign.campaign_id

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"dialer-{self.campaign_id}")

    async def stop(self) -> None:
        if self._task is not None:
            # the loop ends after its current step (a Redis pipeline cancelled mid-way would
            # leave its connection behind); cancelled only if that step hangs
            self._stopping = True
            self._wake.set()
            await asyncio.wait([self._task], timeout=STOP_TIMEOUT)
            self._task.cancel()
        tasks = [*self._fast_tasks, *(c.task for c in self.calls.values() if c.task)]
        for task in tasks:
            task.cancel()
        if tasks:  # nothing of this runner may still be using Redis or the pool afterwards
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        for attempt_id in list(self.offers):
            with contextlib.suppress(Exception):
                await self._withdraw(attempt_id, "el dialer se detuvo")

    def agent_event(self, state: dict) -> None:
        """An assigned agent's new state (the AgentState JSON screenpop published). An agent
        who became available is given a call (or an offer) at once, from the message itself:
        one reservation and one claim away from the Originate. Customer-first calls wait for
        the step, which paces them (it runs once this is done: nothing competes with it)."""
        endpoint = state.get("endpoint")
        if state.get("state") != "available" or not isinstance(endpoint, str) or not endpoint \
                or self.state != "running" or not self.engine.executor.ami_connected \
                or (self.campaign.call_order is not Order.AGENT_FIRST
                    and self.campaign.mode is not Mode.PREVIEW):
            self.wake(agent_event=True)
            return
        view = AgentView(str(state["username"]), "available", endpoint, None)
        task = asyncio.create_task(self._fast(view, time.monotonic()))
        self._fast_tasks.add(task)
        task.add_done_callback(self._fast_tasks.discard)

    async def _fast(self, view: AgentView, woken_at: float) -> None:
        try:
            now = self.engine.clock()
            zones = await self.engine.store.open_zones(self.campaign_id, now)
            if zones:
                await self._take(view, now, zones, woken_at,
                                 preview=self.campaign.mode is Mode.PREVIEW)
        except Exception as exc:  # noqa: BLE001 - the step that follows retries it
            log.warning("campaign %s: %s", self.campaign_id,
                        describe("no se pudo marcar para el asesor disponible", exc))
        finally:
            self.wake()

    def wake(self, *, agent_event: bool = False) -> None:
        if agent_event and self._agent_woken_at is None:
            self._agent_woken_at = time.monotonic()
        self._wake.set()

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), STEP_EVERY)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.step()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis/PostgreSQL away: shown, retried
                failures += 1
                self.last_error = describe("el dialer no pudo avanzar", exc)
                log.warning("campaign %s: %s", self.campaign_id, self.last_error)
                with contextlib.suppress(Exception):
                    await self._publish_live()
                await asyncio.sleep(backoff_delay(failures, base=0.2, cap=REDIS_RETRY_CAP))
            if self._stopping:
                return
            if self.state != "running" and not self.calls and not self.offers:
                with contextlib.suppress(Exception):
                    await self._publish_live(force=True)
                self.engine._forget_runner(self.campaign_id)
                return

    # --- one step ------------------------------------------------------------------------------
    async def step(self) -> None:
        engine = self.engine
        woken_at, self._agent_woken_at = self._agent_woken_at, None
        self._views = await self._read_agents()
        await self._expire_offers()
        if self.state != "running":
            for attempt_id in list(self.offers):
                await self._withdraw(attempt_id, f"la campaña está {self.state}")
            await self._publish_live()
            return
        if not engine.executor.ami_connected:
            self.last_error = "AMI no está conectado: no se marca hasta que vuelva"
            await self._publish_live()
            return
        now = engine.clock()
        if self.campaign.mode is Mode.PREDICTIVE:
            await self._refresh_measured()
        zones = await engine.store.open_zones(self.campaign_id, now)
        self.last_error = None
        idle = [view for view in self._views if view.idle and view.endpoint]
        if zones:
            await self._place(idle, zones, now, woken_at)
        await self._refresh_measured()  # the live figures' rates; off the path to the Originate
        await self._publish_live()

    async def _place(self, idle: list[AgentView], zones: Sequence[str], now: datetime,
                     woken_at: float | None) -> None:
        campaign = self.campaign
        mode = campaign.mode
        agent_first = campaign.call_order is Order.AGENT_FIRST or mode is Mode.PREVIEW
        if agent_first:
            floor = Floor(idle_agents=len(idle), previews_shown=0)
            wanted = decide(Mode.PREVIEW if mode is Mode.PREVIEW else Mode.PROGRESSIVE, floor,
                            self.measured, self._pacing())
            count = wanted.previews if mode is Mode.PREVIEW else wanted.calls
            self.dial_ratio = wanted.dial_ratio
            for view in idle[:count]:
                if not await self._take(view, now, zones, woken_at, preview=mode is Mode.PREVIEW):
                    break
            return
        talking = sum(1 for view in self._views if view.on_call)
        # a call that holds an agent's reservation is that agent's; the others (predictive's
        # extra calls) compete for the idle agents
        ringing = sum(1 for call in self.calls.values() if call.agent is None)
        decision = decide(mode, Floor(idle_agents=len(idle), talking_agents=talking,
                                      calls_ringing=ringing), self.measured, self._pacing())
        self.dial_ratio = decision.dial_ratio
        calls = decision.calls
        if calls > len(idle) and not await self._hold_pacer():
            calls = len(idle)  # another engine paces this campaign's extra calls
        for index in range(calls):
            view = idle[index] if index < len(idle) else None
            if not await self._take(view, now, zones, woken_at, preview=False,
                                    agent_first=False):
                break

    async def _hold_pacer(self) -> bool:
        """Whether this engine places the campaign's calls beyond one per free agent: one engine
        at a time does (each counts only its own ringing calls), the others one per agent."""
        engine = self.engine
        key = engine.keys.dialer_campaign_pacer(self.campaign_id)
        worker, ttl = engine.settings.worker, max(1, int(engine.settings.lease_seconds))
        if await engine.redis.set(key, worker, nx=True, ex=ttl):
            return True
        holder = await engine.redis.get(key)
        holder = holder.decode() if isinstance(holder, bytes) else holder
        if holder != worker:
            return False
        await engine.redis.expire(key, ttl)
        return True

    async def _take(self, view: AgentView | None, now: datetime, zones: Sequence[str],
                    woken_at: float | None, *, preview: bool, agent_first: bool = True) -> bool:
        """Reserve the agent, claim a lead, and call or offer it; False when no lead is due."""
        engine = self.engine
        token = None
        if view is not None:
            token = await engine.reservations.take(view.username)
            if token is None:
                return True  # another engine took this agent just now: try the next one
        try:
            claims = await engine.store.claim(
                self.campaign_id, worker=engine.settings.worker, now=now,
                lease=timedelta(seconds=engine.settings.lease_seconds), open_zones=zones,
                agent=view.username if view is not None else None, limit=1)
        except BaseException:
            if view is not None and token is not None:
                await engine.reservations.give_back(view.username, token)
            raise
        if not claims:
            if view is not None and token is not None:
                await engine.reservations.give_back(view.username, token)
            return False
        claim = claims[0]
        attempt_id = str(claim.attempt_id)
        if preview and view is not None:
            if not await engine.reservations.hand_over(view.username, token, attempt_id):
                await engine.store.release(claim, engine.clock(),
                                           "la reserva del asesor se perdió")
                return True
            await self._offer(claim, view)
            return True
        engine.note_woken(attempt_id, woken_at)
        self._start_call(claim, view, agent_first=agent_first)
        if view is not None and token is not None:
            # the reservation names the attempt from now on; done once the Originate is on its
            # way (the token was taken milliseconds ago and lives a whole lease)
            await asyncio.sleep(0)
            if not await engine.reservations.hand_over(view.username, token, attempt_id):
                log.warning("campaign %s: %s's reservation expired before the call %s",
                            self.campaign_id, view.username, attempt_id)
        return True

    def _start_call(self, claim: Claim, view: AgentView | None, *, agent_first: bool) -> None:
        settings = self.campaign.settings
        request = OriginateRequest(
            attempt_id=str(claim.attempt_id), channel_id=claim.channel_id,
            order=Order.AGENT_FIRST if agent_first else Order.CUSTOMER_FIRST,
            number=claim.phone, endpoint=view.endpoint if agent_first and view else None,
            caller_id=self.campaign.caller_id, campaign_id=self.campaign_id,
            preinstallation_id=claim.preinstallation_id, amd=bool(settings.get("amd", False)),
            ring_seconds=float(settings.get("ring_seconds", self.engine.settings.ring_seconds)))
        call = _Call(claim, view.username if view else None)
        self.calls[request.attempt_id] = call
        call.task = asyncio.create_task(self._run_call(call, request),
                                        name=f"dialer-call-{request.attempt_id}")

    async def _run_call(self, call: _Call, request: OriginateRequest) -> None:
        try:
            try:
                placed = await self.engine.executor.place_call(request)
            except ValueError as exc:  # a request Asterisk could never take (bad endpoint…)
                placed = PlacedCall(AttemptResult(Outcome.INTERRUPTED, False, None, None, None,
                                                  f"no se pudo marcar: {exc}"), None, False)
            await self._settle(call, placed)
        finally:
            self.calls.pop(request.attempt_id, None)
            self.engine.forget_woken(request.attempt_id)
            if not call.agent:  # an agent's release wakes every engine (dialer_agents_freed)
                self.wake()

    async def _settle(self, call: _Call, placed: PlacedCall) -> None:
        engine = self.engine
        claim = call.claim
        for attempt in range(SETTLE_TRIES):
            try:
                now = engine.clock()
                if placed.result.outcome is Outcome.INTERRUPTED:
                    await engine.store.release(claim, now, placed.result.detail)
                else:
                    await engine.store.finish(claim, placed.result, now)
                if placed.call_id is not None:
                    await engine.store.set_call_id(claim.attempt_id, placed.call_id)
                break
            except Exception as exc:  # noqa: BLE001 - retried; then the lease decides
                self.last_error = describe("no se pudo guardar el resultado", exc)
                log.warning("campaign %s attempt %s: %s", self.campaign_id, claim.attempt_id,
                            self.last_error)
                await asyncio.sleep(backoff_delay(attempt, base=0.2, cap=2.0))
        engine.record_attempt(claim, placed, call.agent, call.started_at)
        if not call.agent:
            return
        attempt_id = str(claim.attempt_id)
        pause = engine.settings.rejected_pause_seconds
        with contextlib.suppress(Exception):
            if placed.result.outcome is Outcome.AGENT_REJECTED and pause > 0:
                # the agent's phone did not take the call: not the next record at once (an
                # unregistered softphone would take a record a second off the list)
                self.last_error = (f"el teléfono de {call.agent} no tomó la llamada; se le "
                                   f"vuelve a marcar en {pause:g} s")
                await engine.reservations.hold(call.agent, attempt_id, pause)
            else:
                await engine.reservations.release(call.agent, attempt_id)

    # --- preview -------------------------------------------------------------------------------
    async def _offer(self, claim: Claim, view: AgentView) -> None:
        engine = self.engine
        keys = engine.keys
        offer = {"attempt_id": str(claim.attempt_id), "campaign_id": self.campaign_id,
                 "campaign_name": self.campaign.name,
                 "preinstallation_id": claim.preinstallation_id, "phone": claim.phone,
                 "worker": engine.settings.worker, "offered_at": f"{time.time():.3f}"}
        self.offers[offer["attempt_id"]] = _Offer(
            claim, view.username, time.monotonic() + engine.settings.offer_seconds)
        async with engine.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.dialer_offer(view.username))
            pipe.hset(keys.dialer_offer(view.username), mapping=offer)
            pipe.expire(keys.dialer_offer(view.username), int(engine.settings.offer_seconds) + 5)
            pipe.publish(keys.dialer_offers_channel,
                         json.dumps({"username": view.username, "offer": offer}))
            await pipe.execute()

    async def _clear_offer(self, username: str, attempt_id: str) -> None:
        keys = self.engine.keys
        redis = self.engine.redis
        if await redis.hget(keys.dialer_offer(username), "attempt_id") in (attempt_id, None):
            await redis.delete(keys.dialer_offer(username))
        await redis.publish(keys.dialer_offers_channel,
                            json.dumps({"username": username, "offer": None}))

    async def _withdraw(self, attempt_id: str, why: str) -> None:
        """The offer goes off the agent's screen; its lead is due again, not counted."""
        offer = self.offers.pop(attempt_id, None)
        if offer is None:
            return
        engine = self.engine
        try:
            await engine.store.release(offer.claim, engine.clock(), why)
        finally:
            await self._clear_offer(offer.agent, attempt_id)
            await engine.reservations.release(offer.agent, attempt_id)
        engine.outcomes["offer_withdrawn"] += 1

    async def _expire_offers(self) -> None:
        states = {view.username: view for view in self._views}
        now = time.monotonic()
        for attempt_id, offer in list(self.offers.items()):
            view = states.get(offer.agent)
            if offer.expires_at <= now:
                await self._withdraw(attempt_id, "el asesor no respondió a la oferta a tiempo")
            elif view is None or view.state != "available":
                await self._withdraw(attempt_id, "el asesor dejó de estar disponible")

    async def on_command(self, command: Command) -> None:
        offer = self.offers.get(command.attempt_id)
        if offer is None:
            return
        if command.by != offer.agent:
            log.warning("dialer command by %s for %s's offer ignored", command.by, offer.agent)
            return
        engine = self.engine
        del self.offers[command.attempt_id]
        if command.action == "skip":
            try:
                await engine.store.finish(offer.claim, Outcome.SKIPPED, engine.clock())
            finally:
                await self._clear_offer(offer.agent, command.attempt_id)
                await engine.reservations.release(offer.agent, command.attempt_id)
            engine.outcomes[str(Outcome.SKIPPED)] += 1
            return
        await self._clear_offer(offer.agent, command.attempt_id)
        view = next((v for v in self._views if v.username == offer.agent), None)
        if view is None or not view.endpoint:
            view = AgentView(offer.agent, "available", None, command.attempt_id)
        self._start_call(offer.claim, view, agent_first=True)

    # --- reading and publishing ----------------------------------------------------------------
    async def _read_agents(self) -> list[AgentView]:
        keys = self.engine.keys
        names = list(self.campaign.agents)
        if not names:
            return []
        async with self.engine.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(keys.agent_state(name))
                pipe.get(keys.dialer_agent_reservation(name))
                pipe.hget(keys.user(name), "endpoints")
            found = await pipe.execute()
        return [agent_view(name, found[3 * i] or {}, found[3 * i + 1], found[3 * i + 2])
                for i, name in enumerate(names)]

    def _pacing(self) -> PacingSettings:
        cap = self.campaign.settings.get("abandon_cap")
        base = self.engine.settings.pacing
        if isinstance(cap, int | float) and not isinstance(cap, bool) and 0 <= cap < 1:
            return dataclasses.replace(base, abandon_cap=float(cap))
        return base

    async def _refresh_measured(self) -> None:
        if time.monotonic() - self._measured_at < self.engine.settings.measure_seconds:
            return
        store = self.engine.store
        figures = await store.measured(self.campaign_id)
        stats = await store.abandon_stats(self.campaign_id, self.engine.clock())
        self.measured = measured(figures, stats.answered, stats.abandoned)
        self._measured_at = time.monotonic()

    async def _publish_live(self, *, force: bool = False) -> None:
        engine = self.engine
        reserved = sum(1 for view in self._views if view.reserved_by is not None)
        figures = live_figures(self.campaign_id, name=self.campaign.name, state=self.state,
                               in_flight=len(self.calls),
                               dial_ratio=self.dial_ratio, agents=self._views, reserved=reserved,
                               measured_now=self.measured,
                               last_error=self.last_error or engine.last_error)
        now = time.monotonic()
        changed = figures != self._live_sent
        due = now - self._live_sent_at >= engine.settings.live_every
        stale = now - self._live_stored_at >= engine.settings.live_ttl / 3
        if not (force or (changed and due) or stale):
            return
        body = {**figures, "updated_at": round(time.time(), 3)}
        key = engine.keys.dialer_live(self.campaign_id)
        async with engine.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={name: str(value) for name, value in body.items()})
            pipe.expire(key, int(engine.settings.live_ttl))
            if force or changed:
                pipe.publish(engine.keys.dialer_live_channel, json.dumps(body))
            await pipe.execute()
        self._live_stored_at = now
        if force or changed:
            self._live_sent, self._live_sent_at = figures, now


def describe(what: str, exc: BaseException) -> str:
    return f"{what}: {type(exc).__name__}: {exc}"[:300]

