"""Saving the agent's result of a call: the call record (disposition, notes, callback, as facts
through the process's record writer), the dialer lead when the call is a campaign attempt
(`DialerStore.set_disposition`: final, retry, or a callback at its time, first), and the end of
the agent's wrap-up for that call. Saving again overwrites; every save is idempotent.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from redis.exceptions import RedisError

from common.phones import display, to_e164
from screenpop.agents import AgentState, AgentStateStore
from screenpop.calls.access import CallGrant
from screenpop.index import PreinstallationIndex
from screenpop.records import CallLog
from screenpop.users import User, UserStore
from screenpop.wrapup.choice import Choice, ChoiceError, local_parts, parse_choice
from screenpop.wrapup.lead import Database, apply_to_lead
from screenpop.wrapup.pending import Pending, PendingDispositions
from screenpop.wrapup.settings import DispositionSettings
from screenpop.wrapup.store import AttemptRef, may_be_dialer_call

log = logging.getLogger(__name__)

DB_TIMEOUT = 5.0
DB_DOWN = ("No se pudo consultar la base de datos de llamadas; espere un momento y guarde de "
           "nuevo.")
_DB_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
_REDIS_ERRORS = (RedisError, OSError, TimeoutError)


class WrapUpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def end_wrapup(current: AgentState, call_id: str, now: float) -> AgentState:
    """The wrap-up of `call_id` ends once its result is saved (pure)."""
    if current.state == "wrap_up" and current.call_id == call_id:
        return current.moved("available", now)
    return current


class WrapUp:
    def __init__(self, settings: DispositionSettings, *, database: Callable[[], Database | None],
                 call_log: CallLog, states: AgentStateStore, users: UserStore,
                 index: PreinstallationIndex, pending: PendingDispositions,
                 default_zone: str) -> None:
        self.settings = settings
        self._pending = pending
        self._database = database
        self._call_log = call_log
        self._states = states
        self._users = users
        self._index = index
        self._default_zone = default_zone

    # --- what the panel needs --------------------------------------------------------------
    async def context(self, user: User, grant: CallGrant) -> dict[str, Any]:
        attempt = await self._attempt(grant)
        zone = ZoneInfo(attempt.time_zone if attempt else self._default_zone)
        saved = None
        db = self._database()
        if db is not None:
            try:
                saved = await asyncio.wait_for(db.store.saved(grant.call_id), DB_TIMEOUT)
            except _DB_ERRORS as exc:
                log.warning("saved disposition not read call=%s: %s", grant.call_id, exc)
        try:
            accounts = await self._users.list()
        except _REDIS_ERRORS as exc:
            log.warning("agents not listed for the callback choice: %s", exc)
            accounts = []
        agents = [{"username": u.username, "display_name": u.display_name}
                  for u in accounts if u.role == "agent" and u.username != user.username]
        return {**self.settings.public(), "call_id": grant.call_id, "zone": zone.key,
                "now": local_parts(datetime.now(UTC), zone), "agents": agents,
                "campaign": {"id": attempt.campaign_id, "name": attempt.campaign_name}
                if attempt else None,
                "saved": _saved_payload(saved, ZoneInfo(self._default_zone))}

    # --- saving ----------------------------------------------------------------------------
    async def save(self, user: User, grant: CallGrant, body: Any) -> dict[str, Any]:
        if self._call_log.writer is None and self._database() is None:
            raise WrapUpError(503, "records_off", "El registro de llamadas no está configurado "
                              "(DATABASE_URL): el resultado no se puede guardar. Avise a "
                              "soporte.")
        now = datetime.now(UTC)
        attempt = await self._attempt(grant)
        zone = ZoneInfo(attempt.time_zone if attempt else self._default_zone)
        try:
            choice = parse_choice(body, self.settings, zone=zone, now=now, me=user.username)
        except ChoiceError as exc:
            raise WrapUpError(400, exc.code, exc.message) from None
        if choice.callback_for not in (None, user.username):
            other = await self._users.get(choice.callback_for)
            if other is None or other.role != "agent":
                raise WrapUpError(400, "unknown_agent", f"No hay un asesor «{choice.callback_for}»;"
                                  " elija uno de la lista.")
        dialer = await self._apply_to_lead(attempt, grant.call_id, choice, now, user.username) \
            if attempt else None
        self._record(grant.call_id, choice, user.username, now)
        try:
            await self._states.update(user.username,
                                      lambda state: end_wrapup(state, grant.call_id, time.time()))
        except _REDIS_ERRORS as exc:  # the result is saved; the wrap-up ends on its own
            log.warning("wrap-up not ended agent=%s call=%s: %s", user.username, grant.call_id,
                        exc)
        saved = {"disposition": choice.option.id, "label": choice.option.label,
                 "effect": str(choice.effect), "notes": choice.notes,
                 "callback": local_parts(choice.callback_at, zone) | {
                     "for": choice.callback_for} if choice.callback_at else None,
                 "by": user.username, "at": now.timestamp()}
        return {"ok": True, "saved": saved, "dialer": dialer}

    async def callbacks(self, user: User) -> list[dict[str, Any]]:
        db = self._database()
        if db is None:
            return []
        try:
            rows = await asyncio.wait_for(
                db.store.callbacks(user.username, datetime.now(UTC), self._default_zone),
                DB_TIMEOUT)
        except _DB_ERRORS as exc:
            raise WrapUpError(503, "database", DB_DOWN) from exc
        listed = []
        for row in rows:
            record = await self._index.get(row["preinstallation_id"]) \
                if row["preinstallation_id"] else None
            listed.append({
                "due_at": row["due_at"].timestamp(),
                "local": local_parts(row["due_at"], ZoneInfo(row["time_zone"])),
                "for": row["for_agent"], "phone": _shown(row["phone"]),
                "name": record.name if record is not None else None,
                "preinstallation_id": row["preinstallation_id"],
                "campaign": row["campaign_name"], "call_id": row["call_id"],
                "source": row["source"]})
        return listed

    async def callback_done(self, user: User, call_id: str) -> None:
        db = self._database()
        if db is None:
            raise WrapUpError(503, "records_off", "El registro de llamadas no está configurado "
                              "(DATABASE_URL). Avise a soporte.")
        try:
            done = await asyncio.wait_for(
                db.store.callback_done(call_id, user.username, datetime.now(UTC)), DB_TIMEOUT)
        except _DB_ERRORS as exc:
            raise WrapUpError(503, "database", DB_DOWN) from exc
        if not done:
            raise WrapUpError(404, "unknown_callback", "Esa devolución ya no está en su lista: "
                              "ya se marcó como hecha, es de otro asesor o la maneja la "
                              "campaña.")

    # --- the parts -------------------------------------------------------------------------
    async def _attempt(self, grant: CallGrant) -> AttemptRef | None:
        if not may_be_dialer_call(grant.call_id, grant.update):
            return None
        db = self._database()
        if db is None:
            return None
        try:
            return await asyncio.wait_for(db.store.attempt(grant.call_id, grant.update),
                                          DB_TIMEOUT)
        except _DB_ERRORS as exc:
            log.warning("dialer attempt not looked up call=%s: %s", grant.call_id, exc)
            raise WrapUpError(503, "database", DB_DOWN) from exc

    async def _apply_to_lead(self, attempt: AttemptRef, call_id: str, choice: Choice,
                             now: datetime, by: str) -> dict[str, Any]:
        db = self._database()
        assert db is not None
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                applied, state = await apply_to_lead(
                    db, attempt.attempt_id, call_id, disposition=choice.option.id,
                    effect=choice.effect, now=now, callback_at=choice.callback_at,
                    callback_for=choice.callback_for, by=by)
        except _DB_ERRORS as exc:
            log.warning("disposition not applied to the lead call=%s attempt=%s: %s", call_id,
                        attempt.attempt_id, exc)
            raise WrapUpError(503, "database", DB_DOWN) from exc
        result: dict[str, Any] = {"campaign": attempt.campaign_name, "applied": applied}
        try:
            if applied:
                await self._pending.drop(call_id)
            elif state == "dialing":
                await self._pending.add(call_id, Pending(
                    str(attempt.attempt_id), choice.option.id, str(choice.effect),
                    choice.callback_at.timestamp() if choice.callback_at else None,
                    choice.callback_for, by, now.timestamp()))
                result["pending"] = True
                result["message"] = ("La campaña aplicará este resultado en cuanto termine la "
                                     "llamada.")
            else:
                result["message"] = ("El registro ya salió de la campaña: el resultado quedó en "
                                     "el registro de la llamada, sin cambiar la campaña.")
        except _REDIS_ERRORS as exc:
            log.warning("pending disposition not kept call=%s: %s", call_id, exc)
            if not applied:
                result["message"] = ("El resultado quedó en el registro de la llamada, pero la "
                                     "campaña no lo recibió: guárdelo de nuevo al terminar la "
                                     "llamada.")
        log.info("disposition %s applied=%s agent=%s call=%s attempt=%s", choice.option.id,
                 applied, by, call_id, attempt.attempt_id)
        return result

    def _record(self, call_id: str, choice: Choice, by: str, now: datetime) -> None:
        self._call_log.disposition(
            call_id, disposition=choice.option.id, label=choice.option.label,
            effect=str(choice.effect), notes=choice.notes, callback_at=choice.callback_at,
            callback_for=choice.callback_for, callback_zone=choice.callback_zone, by=by,
            at=now.timestamp())


def _saved_payload(row: dict | None, default_zone: ZoneInfo) -> dict[str, Any] | None:
    if row is None:
        return None
    callback = None
    if row["callback_at"] is not None:
        zone = ZoneInfo(row["callback_zone"]) if row["callback_zone"] else default_zone
        callback = local_parts(row["callback_at"], zone) | {"for": row["callback_for"]}
    return {"disposition": row["disposition"], "effect": row["disposition_effect"],
            "notes": row["notes"] or "", "callback": callback, "by": row["disposition_by"],
            "at": row["disposition_at"].timestamp() if row["disposition_at"] else None}


def _shown(number: str | None) -> str | None:
    e164 = to_e164(number)
    return display(e164) if e164 else number
