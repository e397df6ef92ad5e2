"""Keeping the preinstallation index in step with WispHub: full syncs on a schedule, one record
on demand. A failed sync leaves the previous index in place and records why.

With an installations source, the sync also keeps WispHub's clients (the REST `clientes/` list:
installations and active customers) in the index, marked installed, so a customer whose
preinstallation was activated is still found when they call again. A mark the pop made at
activation outlives syncs that do not list the client yet (WispHub lags) for INSTALLED_GRACE
seconds.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from common.backoff import backoff_delay
from common.phones import all_e164
from screenpop.fields import missing_fields
from screenpop.index import Installed, PreinstallationIndex
from screenpop.wisphub.errors import WispHubError
from screenpop.wisphub.gateway import WispHubGateway
from screenpop.wisphub.models import Preinstallation
from screenpop.wisphub.rest import RestClient

log = logging.getLogger(__name__)

INSTALLED_GRACE = 24 * 3600
CLIENTS_PAGE_SIZE = 500
InstallationSource = Callable[[], Awaitable[list[Preinstallation]]]


class LeadPruner(Protocol):
    """Takes records that are no longer pending out of the dialer's campaigns
    (screenpop.campaigns.pruning)."""

    async def keep_only(self, pending_ids: Collection[str]) -> int: ...

    async def drop(self, preinstallation_id: str) -> int: ...


def client_record(row: Mapping[str, Any]) -> Preinstallation | None:
    """A row of WispHub's REST `clientes/` or `instalaciones/` list (both client-shaped; a
    profile-like row splits `nombre` and `apellidos`) as an indexed record (None without an id)."""
    service_id = row.get("id_servicio")
    if service_id in (None, ""):
        return None
    zone = row.get("zona")
    zone_name = zone.get("nombre") if isinstance(zone, Mapping) else zone

    def text(key: str) -> str | None:
        value = row.get(key)
        if not isinstance(value, str):
            return None
        return " ".join(value.split()) or None

    phone_raw = text("telefono") or ""
    phones = tuple(all_e164(phone_raw))
    return Preinstallation(
        id=str(service_id), username=text("usuario"),
        name=" ".join(filter(None, (text("nombre"), text("apellidos")))), phones=phones,
        phone_raw=phone_raw, email=text("email"), address=text("direccion"),
        zone=zone_name if isinstance(zone_name, str) and zone_name.strip() else None,
        created_at=None,
        # documents of a client are not in the REST list: only what it shows is judged
        missing=tuple(k for k in missing_fields(
            phones=phones, extra_phone=None, email=text("email"), address=text("direccion"),
            coordinates=text("coordenadas"), comments=text("informacion_adicional"),
            documents=("dni_front", "dni_back", "proof_of_address"))
            if k in ("phone", "address", "email")),
        activation_path=None)


def rest_installations(rest: RestClient) -> InstallationSource:
    """WispHub's installations waiting for the technician (`instalaciones/`) and its clients
    (`clientes/`, which an installation joins only once the technician activates it), every page
    of both, from the REST API."""
    async def fetch() -> list[Preinstallation]:
        rows = [*await rest.get_all("instalaciones/", page_size=CLIENTS_PAGE_SIZE),
                *await rest.get_all("clientes/", page_size=CLIENTS_PAGE_SIZE)]
        return [r for r in (client_record(row) for row in rows if isinstance(row, Mapping)) if r]
    return fetch


@dataclass(frozen=True)
class SyncReport:
    count: int
    duration: float
    errors: tuple[str, ...] = ()
    skipped: bool = False  # another node had synced within the interval

    @property
    def ok(self) -> bool:
        return not self.errors


class IndexSync:
    def __init__(self, gateway: WispHubGateway, index: PreinstallationIndex, interval: float, *,
                 source: str = "wisphub-panel", retry_base: float = 5.0,
                 installations: InstallationSource | None = None,
                 clock: Callable[[], float] = time.time,
                 leads: LeadPruner | None = None) -> None:
        self._gateway = gateway
        self._leads = leads
        self._installations = installations
        self._clock = clock
        self._index = index
        self._interval = interval
        self._source = source
        self._retry_base = retry_base
        self.last_report: SyncReport | None = None
        self._owner = uuid.uuid4().hex

    async def full_sync(self) -> SyncReport:
        started = time.monotonic()
        try:
            records = await self._gateway.pending_preinstallations()
            pending_ids = [r.id for r in records]
            installed: dict[str, Installed] = {}
            if self._installations is not None:
                records, installed = await self._with_installations(records)
            await self._index.replace_all(records, source=self._source, installed=installed)
        except WispHubError as exc:
            log.warning("wisphub sync failed, index kept error=%s", exc)
            await self._index.record_failure(str(exc))
            report = SyncReport(0, time.monotonic() - started, (str(exc),))
        else:
            report = SyncReport(len(records), time.monotonic() - started)
            log.info("wisphub sync done count=%d seconds=%.2f", report.count, report.duration)
            if self._leads is not None:
                await self._leads.keep_only(pending_ids)
        self.last_report = report
        return report

    async def _with_installations(
            self, pending: list[Preinstallation]) -> tuple[list[Preinstallation], dict[str, Installed]]:
        """Pending records, then WispHub's clients and recent activations, marked installed. A
        record WispHub still lists as pending is pending, whatever was marked."""
        clients = await self._installations()
        marked = await self._index.installations()
        now = self._clock()
        records = {r.id: r for r in pending}
        installed: dict[str, Installed] = {}
        for client in clients:
            if client.id in records:
                continue
            records[client.id] = client
            previous = marked.get(client.id)
            installed[client.id] = previous[1] if previous else Installed(None, now)
        for record_id, (record, mark) in marked.items():
            if record_id not in records and now - mark.at < INSTALLED_GRACE:
                records[record_id] = record
                installed[record_id] = mark
        return list(records.values()), installed

    async def refresh_one(self, preinstallation_id: str) -> Preinstallation | None:
        """Re-read one record; one that is no longer pending leaves the index, unless it is
        marked installed."""
        record = await self._gateway.preinstallation(preinstallation_id)
        if record is None:
            if self._leads is not None:
                await self._leads.drop(preinstallation_id)
            if await self._index.installed(preinstallation_id) is not None:
                return None
            await self._index.remove(preinstallation_id)
        else:
            await self._index.upsert(record)
        return record

    async def scheduled_sync(self) -> SyncReport:
        """A full sync unless another node sharing this index synced within the interval: a
        successful sync keeps the turn for most of the interval, a failed one gives it back."""
        if not await self._index.claim_sync(self._owner, self._interval * 0.9):
            self.last_report = SyncReport(0, 0.0, skipped=True)
            return self.last_report
        report = await self.full_sync()
        if not report.ok:
            await self._index.release_sync(self._owner)
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """Sync now, then every `interval`; after failures, sooner, with capped backoff."""
        failures = 0
        while not stop.is_set():
            report = await self.scheduled_sync()
            failures = 0 if report.ok else failures + 1
            delay = (self._interval if report.ok else
                     backoff_delay(failures - 1, base=self._retry_base, cap=self._interval))
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
