"""The dialer engine: runs every campaign in state `running`, placing calls for its assigned
agents through the Originate executor.

Per campaign (a CampaignRunner), each step reads the assigned agents' live states from Redis
(screenpop.agents hashes), decides with `pacing.decide`, reserves an idle agent
(telephony.dialer.reservations), claims a due lead in PostgreSQL (DialerStore.claim, callbacks
first) and either originates the call or, in preview, puts the record on the agent's screen and
waits for «llamar» / «saltar». A step runs at once when an assigned agent's state changes
(Keys.agent_states_channel), when a call of the campaign ends, when the campaign pages publish
the campaign id on Keys.dialer_control_channel, and otherwise every second.

- Agent first (any mode; predictive is progressive there: every call needs its agent) rings the
  reserved agent, who then hears the customer being dialled. Customer first rings the customer
  and hands an answered call to the queue; progressive places one call per idle agent, each
  holding that agent's reservation; predictive places as many as `pacing.decide` allows from the
  measured answer rate, talk time and 30-day abandonment (the extra calls hold no agent).
- The leases of live attempts are renewed every third of the lease; leads whose claimer stopped
  renewing (a crashed engine) are reclaimed at start and every `reclaim_seconds`.
- An attempt ends with DialerStore.finish (its outcome), or DialerStore.release when it never
  reached the customer through no fault of theirs (AMI down, an offer nobody answered); its
  call record gets `dialer_attempts.call_id` and a `dialer_attempt` event with the outcome.
- Live figures per campaign go to Keys.dialer_live(campaign_id) (expiring hash) and, on change,
  at most once a second, to Keys.dialer_live_channel.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from common.backoff import backoff_delay
from common.dialer.outcomes import AttemptResult, Order, Outcome
from common.dialer.store import Campaign, Claim, DialerStore, Mode
from common.keys import Keys
from common.records.facts import Fact, event_fact
from telephony.dialer.floor import (
    AgentView,
    Command,
    agent_view,
    live_figures,
    measured,
    parse_command,
)
from telephony.dialer.originate import OriginateExecutor, OriginateRequest, PlacedCall
from telephony.dialer.pacing import Floor, Measured, PacingSettings, decide
from telephony.dialer.reservations import Reservations

log = logging.getLogger(__name__)

STEP_EVERY = 1.0          # a runner's step at least this often
SETTLE_TRIES = 4          # writes of an attempt's end before leaving it to the lease
STOP_TIMEOUT = 3.0        # the longest stop() waits for each of its loops
READ_WAIT = 0.5           # a blocking Redis read returns after this, so stop() need not cut it
REDIS_RETRY_CAP = 5.0


@dataclass(frozen=True)
class EngineSettings:
    worker: str                          # this engine's name (claims, commands list)
    lease_seconds: float = 60.0          # a claim's lease and an agent reservation's expiry
    refresh_seconds: float = 5.0         # campaign states re-read this often
    reclaim_seconds: float = 30.0        # expired leases looked for this often
    reclaim_retry_seconds: float = 600.0  # a reclaimed lead is due again after this
    offer_seconds: float = 120.0         # a preview offer nobody answers is withdrawn after this
    live_every: float = 1.0              # at most one live publication per campaign per this
    live_ttl: float = 30.0               # the live hash expires when nobody refreshes it
    measure_seconds: float = 10.0        # answer rate, talk time and abandonment re-read
    ring_seconds: float = 30.0           # Originate Timeout unless the campaign sets ring_seconds
    rejected_pause_seconds: float = 30.0  # an agent whose phone refused a call waits this long
    pacing: PacingSettings = field(default_factory=PacingSettings)


@dataclass
class _Call:
    claim: Claim
    agent: str | None          # the reserved agent, when the call holds one
    task: asyncio.Task | None = None


@dataclass
class _Offer:
    claim: Claim
    agent: str
    expires_at: float


class DialerEngine:
    def __init__(self, *, store: DialerStore, redis, keys: Keys, executor: OriginateExecutor,
                 settings: EngineSettings, records: Callable[[Fact], None] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 on_latency: Callable[[float], None] | None = None) -> None:
        self.store = store
        self.redis = redis
        self.keys = keys
        self.executor = executor
        self.settings = settings
        self.records = records
        self.clock = clock
        self.on_latency = on_latency
        self.reservations = Reservations(redis, keys, ttl_seconds=settings.lease_seconds)
        self.runners: dict[str, CampaignRunner] = {}
        self.outcomes: Counter[str] = Counter()  # what never reached the executor: skips, withdrawals
        self.last_error: str | None = None
        self.started = False
        self._tasks: list[asyncio.Task] = []
        self._woken: dict[str, float] = {}  # attempt id → when its agent's availability was read
        self._refreshing = asyncio.Lock()
        self._stopping = asyncio.Event()
        executor.on_written = self._written

    # --- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self.started = True
        self._stopping.clear()
        for name, loop in (("supervise", self._supervise), ("listen", self._listen),
                           ("commands", self._commands), ("renew", self._renew)):
            self._tasks.append(asyncio.create_task(loop(), name=f"dialer-{name}"))
        log.info("dialer engine started worker=%s", self.settings.worker)

    async def stop(self) -> None:
        """Stops placing calls. Live calls are left to Asterisk: their leads stay claimed until
        the lease runs out, and are reclaimed then (by any engine)."""
        # the Redis readers finish their blocking read by themselves (a command cancelled
        # mid-read would leave its connection behind); the rest only sleep between turns
        self._stopping.set()
        readers = [t for t in self._tasks if t.get_name() in ("dialer-listen", "dialer-commands")]
        if readers:
            await asyncio.wait(readers, timeout=STOP_TIMEOUT)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT)
        self._tasks.clear()
        for runner in list(self.runners.values()):
            await runner.stop()
        self.runners.clear()
        self.started = False
        log.info("dialer engine stopped worker=%s", self.settings.worker)

    @property
    def in_flight(self) -> int:
        return sum(len(r.calls) for r in self.runners.values())

    @property
    def offers(self) -> int:
        return sum(len(r.offers) for r in self.runners.values())

    # --- background loops --------------------------------------------------------------------
    async def _supervise(self) -> None:
        """Campaign states every refresh_seconds; expired leases every reclaim_seconds."""
        last_reclaim = float("-inf")
        failures = 0
        while True:
            try:
                if time.monotonic() - last_reclaim >= self.settings.reclaim_seconds:
                    reclaimed = await self.store.reclaim_expired(
                        self.clock(), retry_after=timedelta(
                            seconds=self.settings.reclaim_retry_seconds))
                    last_reclaim = time.monotonic()
                    if reclaimed:
                        log.warning("dialer reclaimed leads of a dialer that stopped: %s",
                                    reclaimed)
                await self.refresh_campaigns()
                failures = 0
                self.last_error = None
                await asyncio.sleep(self.settings.refresh_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database or Redis is away: retry
                self.last_error = _describe("no se pudo leer el estado de las campañas", exc)
                log.warning("%s", self.last_error)
                failures += 1
                await asyncio.sleep(backoff_delay(failures, base=0.5, cap=REDIS_RETRY_CAP))

    async def refresh_campaigns(self, only: str | None = None) -> None:
        """Runners for the running campaigns, states for the others. One refresh at a time: the
        periodic one and a control message must not both start a runner for one campaign."""
        async with self._refreshing:
            await self._refresh_campaigns(only)

    async def _refresh_campaigns(self, only: str | None) -> None:
        running = set(await self.store.running_campaigns())
        names = {only} if only is not None else running | set(self.runners)
        for campaign_id in names:
            runner = self.runners.get(campaign_id)
            state = "running" if campaign_id in running else \
                await self.store.campaign_state(campaign_id)
            if runner is None:
                if state != "running":
                    continue
                campaign = await self.store.campaign(campaign_id)
                if campaign is None:
                    continue
                runner = CampaignRunner(self, campaign)
                self.runners[campaign_id] = runner
                runner.start()
            elif only is not None:
                campaign = await self.store.campaign(campaign_id)
                if campaign is not None:
                    runner.campaign = campaign
            runner.state = state or "stopped"
            runner.wake()

    def _forget_runner(self, campaign_id: str) -> None:
        self.runners.pop(campaign_id, None)

    async def _listen(self) -> None:
        """Agent state changes and campaign control messages wake the runners concerned."""
        failures = 0
        while not self._stopping.is_set():
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.keys.agent_states_channel,
                                       self.keys.dialer_control_channel)
                failures = 0
                while not self._stopping.is_set():
                    message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=READ_WAIT)
                    if message is not None:
                        await self._on_message(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis went away: resubscribe with backoff
                failures += 1
                self.last_error = _describe("se perdió la suscripción de Redis", exc)
                log.warning("%s", self.last_error)
                await asyncio.sleep(backoff_delay(failures, base=0.2, cap=REDIS_RETRY_CAP))
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), STOP_TIMEOUT)

    async def _on_message(self, channel: str | bytes, data: str | bytes) -> None:
        channel = channel.decode() if isinstance(channel, bytes) else channel
        data = data.decode() if isinstance(data, bytes) else data
        if channel == self.keys.dialer_control_channel:
            await self.refresh_campaigns(only=data.strip())
            return
        try:
            state = json.loads(data)
            username = state.get("username")
        except (ValueError, AttributeError):
            return
        for runner in self.runners.values():
            if username in runner.campaign.agents:
                runner.agent_event(state)

    def agent_changed(self, username: str | None) -> None:
        for runner in self.runners.values():
            if username in runner.campaign.agents:
                runner.wake(agent_event=True)

    async def _commands(self) -> None:
        """The agents' «llamar» / «saltar» on preview offers (Keys.dialer_commands(worker))."""
        key = self.keys.dialer_commands(self.settings.worker)
        failures = 0
        while not self._stopping.is_set():
            try:
                item = await self.redis.blpop([key], timeout=READ_WAIT)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: retry with backoff
                failures += 1
                log.warning("%s", _describe("no se pudo leer la lista de órdenes", exc))
                await asyncio.sleep(backoff_delay(failures, base=0.2, cap=REDIS_RETRY_CAP))
                continue
            if item is None:
                continue
            raw = item[1].decode() if isinstance(item[1], bytes) else item[1]
            command = parse_command(raw)
            if command is None:
                log.warning("dialer command ignored (malformed): %.200r", raw)
                continue
            for runner in list(self.runners.values()):
                if command.attempt_id in runner.offers:
                    await runner.on_command(command)
                    break
            else:
                log.info("dialer command for an offer no longer held: %s", command)

    async def _renew(self) -> None:
        """Leases of live attempts and reservations of their agents, every third of the lease."""
        every = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(every)
            claims, held = [], {}
            for runner in self.runners.values():
                for attempt_id, item in [*runner.calls.items(), *runner.offers.items()]:
                    claims.append(item.claim)
                    if item.agent:
                        held[item.agent] = attempt_id
            if not claims:
                continue
            try:
                until = self.clock() + timedelta(seconds=self.settings.lease_seconds)
                kept = await self.store.renew(claims, until)
                await self.reservations.refresh(held)
                if kept < len(claims):
                    log.warning("dialer leases lost: %d of %d", len(claims) - kept, len(claims))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried at the next turn
                self.last_error = _describe("no se pudieron renovar las reservas", exc)
                log.warning("%s", self.last_error)

    # --- what runners report -------------------------------------------------------------------
    def _written(self, request: OriginateRequest) -> None:
        woken = self._woken.pop(request.attempt_id, None)
        if woken is not None and self.on_latency is not None:
            self.on_latency(time.monotonic() - woken)

    def note_woken(self, attempt_id: str, at: float | None) -> None:
        if at is not None:
            self._woken[attempt_id] = at

    def forget_woken(self, attempt_id: str) -> None:
        self._woken.pop(attempt_id, None)  # its Originate was never written

    def record_attempt(self, claim: Claim, placed: PlacedCall, agent: str | None) -> None:
        if self.records is None or placed.call_id is None:
            return
        result = placed.result
        self.records(event_fact(
            placed.call_id, f"dialer:{claim.attempt_id}", result.ended_at or time.time(),
            "dialer_attempt", agent,
            {"attempt_id": str(claim.attempt_id), "campaign_id": claim.campaign_id,
             "preinstallation_id": claim.preinstallation_id, "outcome": str(result.outcome),
             "abandoned": result.abandoned, "detail": result.detail,
             "worker": self.settings.worker}))


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
            self._task.cancel()
            await asyncio.wait([self._task], timeout=STOP_TIMEOUT)
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
                        _describe("no se pudo marcar para el asesor disponible", exc))
        finally:
            self.wake()

    def wake(self, *, agent_event: bool = False) -> None:
        if agent_event and self._agent_woken_at is None:
            self._agent_woken_at = time.monotonic()
        self._wake.set()

    async def _run(self) -> None:
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), STEP_EVERY)
            self._wake.clear()
            try:
                await self.step()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis/PostgreSQL away: shown, retried
                failures += 1
                self.last_error = _describe("el dialer no pudo avanzar", exc)
                log.warning("campaign %s: %s", self.campaign_id, self.last_error)
                with contextlib.suppress(Exception):
                    await self._publish_live()
                await asyncio.sleep(backoff_delay(failures, base=0.2, cap=REDIS_RETRY_CAP))
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
        for index in range(decision.calls):
            view = idle[index] if index < len(idle) else None
            if not await self._take(view, now, zones, woken_at, preview=False,
                                    agent_first=False):
                break

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
                await engine.reservations.release(view.username, token)
            raise
        if not claims:
            if view is not None and token is not None:
                await engine.reservations.release(view.username, token)
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
            if call.agent:
                self.engine.agent_changed(call.agent)
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
                self.last_error = _describe("no se pudo guardar el resultado", exc)
                log.warning("campaign %s attempt %s: %s", self.campaign_id, claim.attempt_id,
                            self.last_error)
                await asyncio.sleep(backoff_delay(attempt, base=0.2, cap=2.0))
        engine.record_attempt(claim, placed, call.agent)
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
            engine.agent_changed(offer.agent)
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
        figures = live_figures(self.campaign_id, state=self.state, in_flight=len(self.calls),
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


def _describe(what: str, exc: BaseException) -> str:
    return f"{what}: {type(exc).__name__}: {exc}"[:300]

