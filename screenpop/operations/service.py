"""The write-back actions of one call: which WispHub record, what to send, one operation each."""
from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

from screenpop.calls.record import CallRecords
from screenpop.operations import fill
from screenpop.operations.files import sniff
from screenpop.operations.model import FAILED, MANUAL, PENDING, UNKNOWN, VERIFIED, Operation
from screenpop.operations.runner import OperationRunner
from screenpop.operations.settings import ActionSettings
from screenpop.operations.store import OperationStore
from screenpop.wisphub.models import Preinstallation
from screenpop.wisphub.writes import WispHubWriter


class ActionError(Exception):
    """A request the pop cannot act on; `message` is Spanish, for the agent."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _fresh(op: Operation) -> Operation:
    """A person asked again: the capped loops start over."""
    return replace(op, attempts=0, checks=0, needs_person=False)


def _spanish_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " y " + items[-1]


class CallActions:
    def __init__(self, records: CallRecords, store: OperationStore, runner: OperationRunner,
                 writer: WispHubWriter, settings: ActionSettings, provider, progress) -> None:
        self._records = records
        self.store, self.runner, self.writer = store, runner, writer
        self.settings, self._provider, self._progress = settings, provider, progress

    # --- the call's record and answers ------------------------------------------------------------

    async def target(self, call_id: str) -> Preinstallation:
        """The record the writes go to (screenpop.calls.record decides, for everyone)."""
        record = await self._records.write_target(call_id)
        if record is None or not record.username:
            raise ActionError("no_record", "La llamada no está vinculada a una preinstalación de "
                                           "WispHub: vincúlela primero desde la búsqueda.")
        return record

    async def answers(self, call_id: str) -> dict[str, Any]:
        return dict((await self._progress.get(call_id)).answers)

    # --- operations ----------------------------------------------------------------------------

    async def _submit(self, call_id: str, op_id: str, kind: str, label: str,
                      params: dict[str, Any], by: str, blob: bytes | None = None) -> Operation:
        now = time.time()
        if blob is not None:
            await self.store.put_blob(call_id, op_id, blob)  # before the op exists: never sent without it
        op, created = await self.store.create(Operation(call_id, op_id, kind, label, params, by,
                                                        created_at=now, updated_at=now))
        if not created and op.state == FAILED:
            op = _fresh(op.moved(PENDING, now, params=params, by=by))
            await self.store.save(op)
            await self.store.unflag(call_id, op_id)
        if created or op.state == PENDING:
            await self.store.audit(call_id, {"op": op_id, "kind": kind, "by": by,
                                             "event": "requested", "request": params})
        return await self._follow(call_id, op_id)

    async def _follow(self, call_id: str, op_id: str) -> Operation:
        task = self.runner.start(call_id, op_id)
        try:
            await asyncio.wait_for(asyncio.shield(task), self.settings.answer_wait)
        except TimeoutError:
            pass
        op = await self.store.get(call_id, op_id)
        assert op is not None
        return op

    async def activation(self, call_id: str) -> Any:
        record, answers = await self.target(call_id), await self.answers(call_id)
        needed = fill.missing_for_activation(answers)
        data = fill.activation_data(record, answers, self._provider, self.settings,
                                    datetime.now().date())
        if not data.zone:
            needed.append("la zona (la preinstalación no tiene una en WispHub)")
        if needed:
            raise ActionError("not_ready", "Para activar falta " + _spanish_list(needed) + ".")
        return data

    async def preview(self, call_id: str) -> dict[str, Any]:
        data = await self.activation(call_id)
        return {"fields": await self.writer.preview_activation(data)}

    async def activate(self, call_id: str, by: str) -> Operation:
        data = await self.activation(call_id)
        return await self._submit(call_id, "activation", "activation", "Activar preinstalación",
                                  data.to_dict(), by)

    async def upload(self, call_id: str, by: str, doc_kind: str, content: bytes) -> Operation:
        record = await self.target(call_id)
        sniffed = sniff(content[:64])
        if sniffed is None:
            raise ActionError("bad_type", "Solo se aceptan imágenes (JPG, PNG, WebP, HEIC) y PDF.", 415)
        mime, ext = sniffed
        digest = hashlib.sha256(content).hexdigest()[:16]
        doc_kind = doc_kind if doc_kind in fill.DOCUMENT_TITLES else "other"
        title = fill.DOCUMENT_TITLES[doc_kind]
        params = {"username": record.username, "title": title, "doc_kind": doc_kind,
                  "description": f"Recibido en la llamada {call_id} · sha256:{digest}",
                  "marker": f"sha256:{digest}", "filename": f"{doc_kind}-{digest[:8]}.{ext}",
                  "mime": mime, "size": len(content), "visible": False}
        return await self._submit(call_id, f"document-{digest}", "document", title, params, by,
                                  blob=content)

    async def save_data(self, call_id: str, by: str) -> list[Operation]:
        record, answers = await self.target(call_id), await self.answers(call_id)
        captured = fill.profile_fields(record, answers)
        coordinates = captured.pop("coordinates")
        ops = []
        if captured["set"] or captured["add_phones"] or captured["append_info"]:
            params = {"service_id": record.id, "profile": captured}
            ops.append(await self._submit(call_id, f"data-{_digest(params)}", "data",
                                          "Guardar datos faltantes", params, by))
        if coordinates:
            ops.append(await self._manual(
                call_id, "coordinates", "Coordenadas", by, {"coordinates": coordinates},
                reason="La API de WispHub no permite guardar las coordenadas.",
                hint=f"Cópielas en WispHub, en la ficha del cliente (Coordenadas): {coordinates}"))
        if not ops:
            raise ActionError("no_data", "La llamada no capturó datos nuevos que guardar.")
        return ops

    async def _manual(self, call_id: str, op_id: str, label: str, by: str, params: dict[str, Any],
                      *, reason: str, hint: str) -> Operation:
        """What WispHub has no route for: never sent; the agent is told what to do by hand and
        the call's audit records it."""
        now = time.time()
        op, created = await self.store.create(Operation(
            call_id, op_id, "manual", label, params, by, state=MANUAL, created_at=now,
            updated_at=now, reason=reason, hint=hint))
        if created:
            await self.store.audit(call_id, {"op": op_id, "kind": "manual", "by": by,
                                             "event": "manual", "request": params,
                                             "answer": f"{reason} {hint}"})
            await self.runner.publish(op)
        return op

    async def attach_services(self, call_id: str, by: str) -> list[Operation]:
        record, answers = await self.target(call_id), await self.answers(call_id)
        wanted = fill.services(record, answers, self._provider, self.settings)
        if not wanted:
            raise ActionError("no_services", "El guion no tiene servicios adicionales ni depósito "
                                             "que agregar.")
        ops = []
        for op_id, label, params in wanted:
            if params["service_kind"] in fill.SENDABLE_SERVICES:
                ops.append(self._submit(call_id, op_id, "service", label, params, by))
            else:
                ops.append(self._manual(
                    call_id, op_id, label, by, params,
                    reason="WispHub no tiene una forma documentada de agregar este servicio "
                           "desde aquí.",
                    hint=f"Agréguelo a mano en WispHub a este cliente: «{params['name']}», "
                         f"${params['price']}."))
        return list(await asyncio.gather(*ops))

    async def retry(self, call_id: str, op_id: str, by: str) -> Operation:
        op = await self.store.get(call_id, op_id)
        if op is None:
            raise ActionError("unknown_operation", "No existe esa operación en esta llamada.", 404)
        if op.state == FAILED and op.kind == "activation":
            return await self.activate(call_id, by)  # with the answers as they are now
        if op.state == FAILED:
            await self.store.save(replace(_fresh(op.moved(PENDING, time.time())), by=by))
            await self.store.unflag(call_id, op_id)
            await self.store.audit(call_id, {"op": op_id, "kind": op.kind, "by": by,
                                             "event": "retry"})
        return await self._follow(call_id, op_id)

    async def resolve(self, call_id: str, op_id: str, by: str, done: bool) -> Operation:
        """A person looked in WispHub: it is there (final, audited as their word) or it is not
        (failed, so Reintentar sends it)."""
        op = await self.store.get(call_id, op_id)
        if op is None:
            raise ActionError("unknown_operation", "No existe esa operación en esta llamada.", 404)
        if op.final or op.state not in (FAILED, UNKNOWN):
            raise ActionError("not_resolvable", "Esta operación no espera una revisión.")
        now = time.time()
        if done:
            op = op.moved(VERIFIED, now, reference=f"Confirmado en WispHub por {by}", reason="",
                          hint="", queued=False, needs_person=False)
        else:
            op = op.moved(FAILED, now, reason="No está en WispHub, según la revisión.",
                          hint="Pulse Reintentar para enviarlo de nuevo.", queued=False)
        await self.store.save(op)
        await self.store.unschedule(call_id, op_id)
        await self.store.unflag(call_id, op_id)
        await self.store.audit(call_id, {"op": op_id, "kind": op.kind, "by": by,
                                         "event": "resolved", "state": op.state})
        await self.runner.publish(op)
        return op
