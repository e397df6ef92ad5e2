"""The sandbox's in-memory WispHub data, kept in WispHub's own field names."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_SEED = Path(__file__).with_name("seed.json")
DATE_FORMAT = "%d/%m/%Y %H:%M"
DOCUMENT_FILES = ("front_dni_proof", "back_dni_proof", "proof_of_address", "discount_coupon")
REQUIRED_REQUEST_FIELDS = ("firstname", "lastname", "address", "phone_number")
REQUEST_FIELDS = ("firstname", "lastname", "dni", "address", "phone_number", "email", "location",
                  "city", "postal_code", "aditional_phone_number", "commentaries", "coordenadas")


@dataclass
class SandboxStore:
    empresa: str
    preinstallations: dict[int, dict[str, Any]]
    clients: list[dict[str, Any]]
    zones: list[dict[str, Any]]
    next_id: int = 1
    # written by the pop's write-back (see screenpop.sandbox.writes)
    installations: dict[int, dict[str, Any]] = field(default_factory=dict)
    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # usuario → files
    services: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    used_ips: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path | str | None = None, *, now: datetime | None = None) -> SandboxStore:
        data = json.loads(Path(path or DEFAULT_SEED).read_text(encoding="utf-8"))
        pre = {int(r["id_servicio"]): dict(r) for r in data.get("preinstalaciones", [])}
        store = cls(empresa=data.get("empresa", "isp-demo"), preinstallations=pre,
                    clients=[dict(c) for c in data.get("clientes", [])],
                    zones=[dict(z) for z in data.get("zonas", [])])
        store.next_id = max([*pre, *(int(c["id_servicio"]) for c in store.clients), 0]) + 1
        store.rebase_dates(now or datetime.now())
        return store

    def rebase_dates(self, now: datetime) -> None:
        """Shift the seed's registration dates so the newest is an hour old: the demo always
        shows leads pending for hours to weeks, whenever it is run."""
        dates = {i: datetime.strptime(r["fecha_registro"], DATE_FORMAT)
                 for i, r in self.preinstallations.items() if r.get("fecha_registro")}
        if not dates:
            return
        shift = (now - timedelta(hours=1)) - max(dates.values())
        for i, when in dates.items():
            self.preinstallations[i]["fecha_registro"] = (when + shift).strftime(DATE_FORMAT)

    def pending(self) -> list[dict[str, Any]]:
        return sorted(self.preinstallations.values(),
                      key=lambda r: datetime.strptime(r["fecha_registro"], DATE_FORMAT)
                      if r.get("fecha_registro") else datetime.min, reverse=True)

    def request_errors(self, fields: dict[str, str]) -> dict[str, list[str]]:
        return {name: ["Este campo es requerido."] for name in REQUIRED_REQUEST_FIELDS
                if not (fields.get(name) or "").strip()}

    def create_preinstallation(self, fields: dict[str, str], files: list[str],
                               now: datetime | None = None) -> dict[str, Any]:
        new_id = self.next_id
        self.next_id += 1
        record: dict[str, Any] = {name: (fields.get(name) or "").strip() for name in REQUEST_FIELDS}
        record.update(id_servicio=new_id, usuario=f"{new_id}@{self.empresa}", zona="",
                      archivos=[f for f in files if f in DOCUMENT_FILES],
                      fecha_registro=(now or datetime.now()).strftime(DATE_FORMAT))
        self.preinstallations[new_id] = record
        return record

    def activate_installation(self, sid: int) -> dict[str, Any]:
        """What the technician's "Activar instalación" does: the installation joins the client
        list, with the profile the activation form carried."""
        client = self._client_shaped(sid)
        self.clients.append(client)
        return client

    def installation_rows(self) -> list[dict[str, Any]]:
        """REST `instalaciones/`: client-shaped rows of the installations not yet activated by
        the technician (wisphub-api.md: it holds only pending/current ones)."""
        active = {c["id_servicio"] for c in self.clients}
        return [self._client_shaped(sid) for sid in self.installations if sid not in active]

    def _client_shaped(self, sid: int) -> dict[str, Any]:
        row = self.installations[sid]
        return {"id_servicio": sid, "usuario": row["usuario"], "estado": "Activo",
                  "nombre": row.get("usr-first_name", ""), "apellidos": row.get("usr-last_name", ""),
                  "email": row.get("usr-email", ""), "cedula": row.get("perfil-cedula", ""),
                  "direccion": row.get("perfil-direccion", ""),
                  "localidad": row.get("perfil-localidad", ""), "ciudad": row.get("perfil-ciudad", ""),
                  "telefono": row.get("perfil-telefono", ""), "informacion_adicional": "",
                  "coordenadas": row.get("cliente-coordenadas", ""), "ip": row.get("cliente-ip", "")}

    def add_clients(self, count: int) -> None:
        """Extra active clients, for paging tests."""
        for _ in range(count):
            sid = self.next_id
            self.next_id += 1
            self.clients.append({"id_servicio": sid, "usuario": f"{sid}@{self.empresa}",
                                 "nombre": f"Cliente {sid}", "telefono": "", "estado": "Activo",
                                 "email": "", "direccion": "", "localidad": "", "ciudad": ""})


@dataclass
class Stats:
    logins: int = 0
    login_attempts: int = 0
    requests: dict[str, int] = field(default_factory=dict)

    def count(self, route: str) -> None:
        self.requests[route] = self.requests.get(route, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {"logins": self.logins, "login_attempts": self.login_attempts,
                "requests": dict(self.requests)}
