"""The call list's filter: parsed from the page's query string (pure), turned into SQL."""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DIRECTIONS = ("inbound", "outbound", "unknown")
PAGE_SIZE = 50
MAX_TEXT = 80


class FilterError(ValueError):
    """A filter value the desk cannot use; the message is for the reviewer (Spanish)."""


@dataclass(frozen=True)
class CallFilter:
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive
    agent: str | None = None
    direction: str | None = None
    campaign: str | None = None
    disposition: str | None = None
    matched: bool | None = None
    activated: bool | None = None
    reached: bool | None = None  # an agent took the call (no `unreached` reason)
    preinstallation: str | None = None
    number: str | None = None
    participant: str | None = None  # set server-side for agents: only calls they took part in

    def for_participant(self, username: str) -> CallFilter:
        return replace(self, participant=username)


@dataclass(frozen=True)
class Cursor:
    started_at: datetime
    call_id: str

    def encode(self) -> str:
        raw = f"{self.started_at.isoformat()}|{self.call_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            at, call_id = raw.split("|", 1)
            return cls(datetime.fromisoformat(at), call_id)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise FilterError("La página pedida no es válida: vuelva a la primera página.") from None


def parse_filter(query: Mapping[str, str], tz: ZoneInfo) -> CallFilter:
    """`from`/`to` are local dates in TZ_NAME (`to` inclusive); yes/no flags are `si`/`no`."""
    since = _day(query, "from", "desde", tz)
    until = _day(query, "to", "hasta", tz)
    if until is not None:
        until += timedelta(days=1)
    if since and until and since >= until:
        raise FilterError("La fecha «desde» debe ser anterior o igual a «hasta».")
    direction = _text(query, "direction")
    if direction is not None and direction not in DIRECTIONS:
        raise FilterError("Dirección inválida: elija entrante, saliente o desconocida.")
    return CallFilter(since=since, until=until, agent=_text(query, "agent"), direction=direction,
                      campaign=_text(query, "campaign"), disposition=_text(query, "disposition"),
                      matched=_flag(query, "matched", "vinculada"),
                      activated=_flag(query, "activated", "activada"),
                      reached=_flag(query, "reached", "atendida"),
                      preinstallation=_text(query, "preinstallation"),
                      number=_text(query, "number"))


def where_clause(flt: CallFilter, first_arg: int = 1) -> tuple[str, list]:
    """SQL conditions on `call_records r` and their arguments, numbered from `first_arg`."""
    conditions, args = [], []

    def arg(value) -> str:
        args.append(value)
        return f"${first_arg + len(args) - 1}"

    if flt.since is not None:
        conditions.append(f"r.started_at >= {arg(flt.since)}")
    if flt.until is not None:
        conditions.append(f"r.started_at < {arg(flt.until)}")
    for column, value in (("agent_username", flt.agent), ("direction", flt.direction),
                          ("campaign_id", flt.campaign), ("disposition", flt.disposition),
                          ("preinstallation_id", flt.preinstallation),
                          ("customer_number", flt.number)):
        if value is not None:
            conditions.append(f"r.{column} = {arg(value)}")
    if flt.matched is not None:
        conditions.append("r.preinstallation_id IS " + ("NOT NULL" if flt.matched else "NULL"))
    if flt.activated is not None:
        conditions.append("r.activated_at IS " + ("NOT NULL" if flt.activated else "NULL"))
    if flt.reached is not None:
        conditions.append("r.unreached IS " + ("NULL" if flt.reached else "NOT NULL"))
    if flt.participant is not None:
        conditions.append("EXISTS (SELECT 1 FROM call_agents a WHERE a.call_id = r.call_id "
                          f"AND a.username = {arg(flt.participant)})")
    return (" AND ".join(conditions) or "true"), args


def _day(query: Mapping[str, str], key: str, label: str, tz: ZoneInfo) -> datetime | None:
    raw = _text(query, key)
    if raw is None:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"Fecha «{label}» inválida: use el formato AAAA-MM-DD.") from None
    return datetime.combine(day, time(0), tz).astimezone(ZoneInfo("UTC"))


def _text(query: Mapping[str, str], key: str) -> str | None:
    value = (query.get(key) or "").strip()
    return value[:MAX_TEXT] or None


def _flag(query: Mapping[str, str], key: str, label: str) -> bool | None:
    value = _text(query, key)
    if value is None:
        return None
    if value not in ("si", "no"):
        raise FilterError(f"Valor inválido para «{label}»: use sí o no.")
    return value == "si"
