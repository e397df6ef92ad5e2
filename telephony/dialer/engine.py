"""The dialer engine: runs every campaign in state `running` (one
telephony.dialer.campaign.CampaignRunner each), placing calls for its assigned agents through
the Originate executor; this module holds what is shared: campaign states, the Redis
subscriptions, preview commands, lease renewal and reclaim.

Per campaign, each step reads the assigned agents' live states from Redis
(screenpop.agents hashes), decides with `pacing.decide`, reserves an idle agent
(telephony.dialer.reservations), claims a due lead in PostgreSQL (DialerStore.claim, callbacks
first) and either originates the call or, in preview, puts the record on the agent's screen and
waits for «llamar» / «saltar». A step runs at once when an assigned agent's state changes
(Keys.agent_states_channel) or an engine releases one of them (Keys.dialer_agents_freed_channel,
heard by every engine alike), when a call of the campaign ends, when the campaign pages publish
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
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from common.backoff import backoff_delay
from common.dialer.outcomes import Outcome
from common.dialer.store import Claim, DialerStore
from common.keys import Keys
from common.records.facts import Fact, call_fact, event_fact
from common.redisconn import close_pubsub
from telephony.dialer.campaign import CampaignRunner, describe
from telephony.dialer.floor import parse_command
from telephony.dialer.originate import OriginateExecutor, OriginateRequest, PlacedCall
from telephony.dialer.pacing import PacingSettings
from telephony.dialer.reservations import Reservations

log = logging.getLogger(__name__)

# dialer outcomes in which the customer talked to nobody (migration 0007's `unreached` values)
UNREACHED_OUTCOMES = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED,
                                Outcome.INVALID_NUMBER, Outcome.MACHINE, Outcome.ABANDONED})

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
                self.last_error = describe("no se pudo leer el estado de las campañas", exc)
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
                                       self.keys.dialer_control_channel,
                                       self.keys.dialer_agents_freed_channel)
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
                self.last_error = describe("se perdió la suscripción de Redis", exc)
                log.warning("%s", self.last_error)
                await asyncio.sleep(backoff_delay(failures, base=0.2, cap=REDIS_RETRY_CAP))
            finally:
                await close_pubsub(pubsub, STOP_TIMEOUT)

    async def _on_message(self, channel: str | bytes, data: str | bytes) -> None:
        channel = channel.decode() if isinstance(channel, bytes) else channel
        data = data.decode() if isinstance(data, bytes) else data
        if channel == self.keys.dialer_control_channel:
            await self.refresh_campaigns(only=data.strip())
            return
        if channel == self.keys.dialer_agents_freed_channel:
            self.agent_changed(data)
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
                log.warning("%s", describe("no se pudo leer la lista de órdenes", exc))
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
                self.last_error = describe("no se pudieron renovar las reservas", exc)
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

    def record_attempt(self, claim: Claim, placed: PlacedCall, agent: str | None,
                       started_at: float) -> None:
        """The attempt on its call's record; a call nobody talked in (no answer, busy, a machine,
        abandoned…) is recorded whole here, since telephony publishes no call no agent rang."""
        if self.records is None or placed.call_id is None:
            return
        result = placed.result
        if result.outcome in UNREACHED_OUTCOMES:
            ended_at = result.ended_at or time.time()
            self.records(call_fact(
                placed.call_id, direction="outbound", customer_number=claim.phone,
                campaign_id=claim.campaign_id, preinstallation_id=claim.preinstallation_id,
                queue=None, ring_at=min(started_at, ended_at), answered_at=None,
                ended_at=ended_at, hangup_by=None, hangup_cause=None, recording_file=None,
                complete=True, unreached=str(result.outcome)))
        self.records(event_fact(
            placed.call_id, f"dialer:{claim.attempt_id}", result.ended_at or time.time(),
            "dialer_attempt", agent,
            {"attempt_id": str(claim.attempt_id), "campaign_id": claim.campaign_id,
             "preinstallation_id": claim.preinstallation_id, "outcome": str(result.outcome),
             "abandoned": result.abandoned, "detail": result.detail,
             "worker": self.settings.worker}))
