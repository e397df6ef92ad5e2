"""Moving an operation forward, by whichever node holds its lock.

Each attempt: take the lock of the WispHub record and operation (SET NX, whichever call asks;
the loser looks again a little later), look at WispHub first when the last outcome is unknown
(or the kind asks for it), send once, record the outcome, audit both sides, push the new state
to the agent, and put it in the outbox when it must be looked at again (WispHub down, outcome
unknown, or as a watchdog while sending).

An unknown outcome keeps the record's lock and is looked at only after `unknown_wait` (longer
than a request can still be running inside WispHub), `unknown_checks` times, before it is sent
again; every loop is capped (`max_attempts`, `max_checks`) and then needs a person.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from common.backoff import backoff_delay
from common.keys import Keys
from screenpop.operations.handlers import Handler
from screenpop.operations.model import (
    DONE,
    FAILED,
    PENDING,
    SENDING,
    UNKNOWN,
    VERIFIED,
    Operation,
    Outcome,
)
from screenpop.operations.outcomes import HINT_UNKNOWN, classify
from screenpop.operations.store import OperationStore
from screenpop.push import protocol
from screenpop.wisphub.activation import public_fields
from screenpop.wisphub.errors import WispHubError

log = logging.getLogger(__name__)

REDIS_TIMEOUT = 5.0


HINT_PERSON = ("WispHub no lo confirmó tras varios intentos: revíselo en WispHub y pulse «Ya está "
               "en WispHub» o «Reintentar». Supervisión ya está avisada.")


@dataclass(frozen=True)
class RunnerSettings:
    lock_seconds: float = 180.0      # longer than the slowest send (panel GET+POST, task polling)
    retry_base: float = 2.0
    retry_cap: float = 300.0
    unknown_wait: float = 150.0
    unknown_checks: int = 3
    max_attempts: int = 6
    max_checks: int = 8
    lock_retry: float = 2.0


class OperationRunner:
    def __init__(self, redis, keys: Keys, store: OperationStore, handlers: dict[str, Handler],
                 settings: RunnerSettings = RunnerSettings(),
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._keys = keys
        self.store = store
        self._handlers = handlers
        self._settings = settings
        self._clock = clock
        self._tasks: dict[tuple[str, str], asyncio.Task] = {}
        self.on_change: Callable[[Operation], None] = lambda op: None  # call records

    # --- entry points --------------------------------------------------------------------------

    def start(self, call_id: str, op_id: str) -> asyncio.Task:
        """Advance the operation in a task this runner keeps (one per operation per node)."""
        key = (call_id, op_id)
        task = self._tasks.get(key)
        if task is None or task.done():
            task = asyncio.create_task(self.advance(call_id, op_id), name=f"op:{call_id}:{op_id}")
            self._tasks[key] = task
            task.add_done_callback(lambda t, k=key: self._tasks.pop(k, None) if self._tasks.get(k) is t else None)
        return task

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def advance(self, call_id: str, op_id: str) -> Operation | None:
        op = await self.store.get(call_id, op_id)
        if op is None or op.final or op.state == FAILED:
            await self.store.unschedule(call_id, op_id)
            return op
        record, what = self._handlers[op.kind].lock_name(op)
        token = await self.store.lock(record, what, self._settings.lock_seconds)
        if token is None:  # being written right now (this call or another about the same record)
            await self.store.schedule(call_id, op_id, self._clock() + self._settings.lock_retry)
            return op
        op = None
        try:
            op = await self._advance_locked(call_id, op_id)
            return op
        finally:
            if op is None:  # cancelled mid-send: what was recorded decides
                op = await asyncio.shield(self.store.get(call_id, op_id))
            if op is not None and op.state == UNKNOWN:
                # nobody writes this record and operation until the request may have finished
                await asyncio.shield(self.store.hold(record, what, token,
                                                     max(0.001, op.next_try - self._clock())))
            else:
                await asyncio.shield(self.store.unlock(record, what, token))

    # --- one attempt ---------------------------------------------------------------------------

    async def _advance_locked(self, call_id: str, op_id: str) -> Operation | None:
        op = await self.store.get(call_id, op_id)
        if op is None or op.final or op.state == FAILED:
            await self.store.unschedule(call_id, op_id)
            return op
        handler = self._handlers[op.kind]
        if op.state == SENDING:  # its sender died mid-request: treat as an unknown outcome
            return await self._record(op, Outcome(UNKNOWN, reason="el envío se interrumpió",
                                                  hint=HINT_UNKNOWN), event="interrupted")
        if op.state == UNKNOWN and self._clock() < op.next_try:
            return op  # the request may still be running inside WispHub: not yet
        if op.state == UNKNOWN or handler.verify_first:
            try:
                reference = await handler.verify(op)
            except WispHubError as exc:
                outcome = classify(exc)
                if op.state == UNKNOWN:
                    return await self._checked(op, outcome.reason, event="check_failed")
                op = replace(op, checks=op.checks + 1)
                if op.checks >= self._settings.max_checks:
                    return await self._give_up(op, f"no se pudo consultar WispHub ({outcome.reason})")
                return await self._record(op, outcome, event="check_failed")
            if reference:
                return await self._record(op, Outcome(VERIFIED, reference=reference,
                                                      answer="ya estaba hecho en WispHub"),
                                          event="verified")
            if op.state == UNKNOWN and op.checks + 1 < self._settings.unknown_checks:
                return await self._checked(op, "aún no aparece en WispHub", event="not_there_yet")
        if op.attempts >= self._settings.max_attempts:
            return await self._give_up(op, f"se intentó {op.attempts} veces sin confirmación")
        return await self._send(op, handler)

    async def _checked(self, op: Operation, reason: str, *, event: str) -> Operation:
        """One more look at an unknown outcome that did not settle it; capped."""
        op = replace(op, checks=op.checks + 1)
        if op.checks >= self._settings.max_checks:
            return await self._give_up(op, f"no se pudo comprobar en WispHub ({reason})")
        return await self._record(op, Outcome(UNKNOWN, reason=reason, hint=HINT_UNKNOWN),
                                  event=event)

    async def _give_up(self, op: Operation, why: str) -> Operation:
        op = replace(op, needs_person=True)
        await self.store.flag(op.call_id, op.op_id, self._clock())
        return await self._record(op, Outcome(FAILED, reason=f"Necesita revisión: {why}.",
                                              hint=HINT_PERSON), event="needs_person")

    async def _send(self, op: Operation, handler: Handler) -> Operation:
        now = self._clock()
        op = op.moved(SENDING, now, attempts=op.attempts + 1, queued=False, reason="", hint="",
                      checks=0)
        await self.store.save(op)
        # watchdog: if this node dies mid-request, another one looks after the lock expires
        await self.store.schedule(op.call_id, op.op_id, now + self._settings.lock_seconds)
        await self.store.audit(op.call_id, {"op": op.op_id, "kind": op.kind, "by": op.by,
                                            "event": "sent", "attempt": op.attempts,
                                            "request": op.params})
        await self.publish(op)
        blob = await self.store.blob(op.call_id, op.op_id) if op.kind == "document" else None

        async def on_task(task_id: str) -> None:
            nonlocal op
            op = op.moved(SENDING, self._clock(), task_id=task_id)
            await self.store.save(op)
            await self.publish(op)

        try:
            done = await handler.send(op, blob, on_task)
        except asyncio.CancelledError:
            await asyncio.shield(self._record(
                op, Outcome(UNKNOWN, reason="el servicio se detuvo durante el envío",
                            hint=HINT_UNKNOWN), event="interrupted"))
            raise
        except (WispHubError, LookupError) as exc:
            sent = public_fields(getattr(exc, "sent", None) or {})
            answer = " · ".join(x for x in (getattr(exc, "answer", ""), str(exc)) if x)
            return await self._record(op, replace(classify(exc), sent=sent, answer=answer),
                                      event="answer")
        return await self._record(op, Outcome(DONE, reference=done.reference, sent=done.sent,
                                              answer=done.answer), event="answer")

    async def _record(self, op: Operation, outcome: Outcome, *, event: str) -> Operation:
        now = self._clock()
        queued = outcome.state in (PENDING, UNKNOWN)
        next_try = 0.0
        if outcome.state == UNKNOWN:
            next_try = now + self._settings.unknown_wait
        elif queued:
            next_try = now + backoff_delay(max(0, op.attempts - 1), base=self._settings.retry_base,
                                           cap=self._settings.retry_cap)
        op = op.moved(outcome.state, now, reference=outcome.reference or op.reference,
                      reason=outcome.reason, hint=outcome.hint, queued=queued, next_try=next_try)
        await self.store.save(op)
        if queued:
            await self.store.schedule(op.call_id, op.op_id, next_try)
        else:
            await self.store.unschedule(op.call_id, op.op_id)
        if op.final:
            await self.store.drop_blob(op.call_id, op.op_id)
            await self.store.unflag(op.call_id, op.op_id)
        await self.store.audit(op.call_id, {
            "op": op.op_id, "kind": op.kind, "by": op.by, "event": event, "state": op.state,
            "reference": op.reference, "reason": op.reason, "sent": outcome.sent,
            "answer": outcome.answer or outcome.reason})
        log.info("operation %s call=%s op=%s state=%s %s", event, op.call_id, op.op_id, op.state,
                 op.reference or op.reason)
        await self.publish(op)
        return op

    async def publish(self, op: Operation) -> None:
        self.on_change(op)
        message = json.dumps(protocol.operation(op.public()), ensure_ascii=False)
        await asyncio.wait_for(self._redis.publish(self._keys.agent_channel(op.by), message),
                               REDIS_TIMEOUT)
