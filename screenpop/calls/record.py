"""Which preinstallation a call is about — the one answer for the pop, the guided call and the
WispHub writes.

In this order:
1. the record an agent linked to the call (`keys.call_link`) — a choice made on purpose wins;
2. else the record the call was placed for: the dialer's and the IVR callbacks' calls carry it in
   the `PREINST_ID` channel variable (a number shared by several records still pops that one);
3. else the only pending record matching the caller's number (a number an agent linked before
   counts as that record, see PreinstallationIndex.match);
4. else the record the call was last about (`keys.call_record`): the call's state expires soon
   after it ends and an activated record leaves the pending list, but the call is still about it.

A record that has left the pending index is read from the copy kept when the call's writes were
sent (`keys.call_write_target`), as long as it is the same record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from common.envelope import CallUpdate, EnvelopeError
from common.keys import Keys
from common.phones import to_e164
from screenpop.index import Installed, Match, PreinstallationIndex
from screenpop.pops import linked_payload, match_payload, record_payload
from screenpop.wisphub.models import Preinstallation

RECORD_TTL_SECONDS = 30 * 24 * 3600  # as long as the call's progress and operations
NO_MATCH = Match("none", ())

Source = Literal["link", "placed", "match", "remembered"]


@dataclass(frozen=True)
class CallSubject:
    record: Preinstallation | None
    source: Source | None
    match: Match  # the caller's number in the index (the pop lists several when it finds them)
    installed: Installed | None = None  # the record is an installation now

    def pop_match(self) -> dict[str, Any]:
        """The `match` object of the call's pops (docs/websocket.md)."""
        if self.source == "link" and self.record is not None:
            return linked_payload(self.record, self.installed)
        if self.source in ("placed", "remembered") and self.record is not None:
            return {"status": "one",
                    "preinstallations": [record_payload(self.record, installed=self.installed)]}
        return match_payload(self.match)


class CallRecords:
    def __init__(self, redis, keys: Keys, index: PreinstallationIndex) -> None:
        self._redis = redis
        self._keys = keys
        self._index = index

    async def linked_id(self, call_id: str) -> str | None:
        return _text(await self._redis.get(self._keys.call_link(call_id)))

    async def subject(self, call_id: str) -> CallSubject:
        """What the call is about, remembered for later (the caller's number from its state)."""
        keys = self._keys
        link, remembered, kept, raw = await self._redis.mget(
            keys.call_link(call_id), keys.call_record(call_id), keys.call_write_target(call_id),
            keys.call(call_id))
        update = _update(raw)
        subject = await self._resolve(
            _text(link), _text(remembered), _kept(kept),
            to_e164(update.customer_number) if update else None,
            update.preinstallation_id if update else None)
        if subject.record is not None and subject.record.id != _text(remembered):
            await self._redis.set(keys.call_record(call_id), subject.record.id,
                                  ex=RECORD_TTL_SECONDS)
        return subject

    async def subject_of(self, update: CallUpdate) -> CallSubject:
        """The same answer for a call envelope at hand (pop routing; remembers nothing)."""
        keys = self._keys
        link, remembered, kept = await self._redis.mget(
            keys.call_link(update.call_id), keys.call_record(update.call_id),
            keys.call_write_target(update.call_id))
        return await self._resolve(_text(link), _text(remembered), _kept(kept),
                                   to_e164(update.customer_number), update.preinstallation_id)

    async def installed(self, record_id: str) -> Installed | None:
        """The record's installation mark (it was activated), if any."""
        return await self._index.installed(record_id)

    async def write_target(self, call_id: str) -> Preinstallation | None:
        """The record the call's WispHub writes go to, kept for when it leaves the pending list."""
        record = (await self.subject(call_id)).record
        if record is not None and record.username:
            await self._redis.set(self._keys.call_write_target(call_id), record.to_json(),
                                  ex=RECORD_TTL_SECONDS)
        return record

    async def link(self, call_id: str, number_e164: str | None,
                   preinstallation_id: str) -> Preinstallation:
        """An agent chose the record: the call is about it from now on, and the number is
        remembered for the next call. KeyError when the index has no such record."""
        if number_e164:
            record = await self._index.link_number(number_e164, preinstallation_id)
        else:
            record = await self._index.get(preinstallation_id)
            if record is None:
                raise KeyError(preinstallation_id)
        await self._redis.set(self._keys.call_link(call_id), record.id, ex=RECORD_TTL_SECONDS)
        return record

    async def _resolve(self, link: str | None, remembered: str | None,
                       kept: Preinstallation | None, number: str | None,
                       placed_for: str | None) -> CallSubject:
        async def load(record_id: str) -> Preinstallation | None:
            record = await self._index.get(record_id)
            return record or (kept if kept is not None and kept.id == record_id else None)

        record = await load(link) if link else None
        if record is not None:
            return CallSubject(record, "link", NO_MATCH, await self._index.installed(record.id))
        match = await self._index.match(number) if number else NO_MATCH
        record = await load(placed_for) if placed_for else None
        if record is not None:
            return CallSubject(record, "placed", match, await self._index.installed(record.id))
        if match.status == "one":
            found = match.preinstallations[0]
            return CallSubject(found, "match", match, match.installed.get(found.id))
        record = await load(remembered) if remembered else None
        if record is None:
            return CallSubject(None, None, match)
        return CallSubject(record, "remembered", match, await self._index.installed(record.id))


def _text(value: str | bytes | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


def _kept(raw: str | bytes | None) -> Preinstallation | None:
    if not raw:
        return None
    try:
        return Preinstallation.from_json(raw)
    except (ValueError, KeyError, TypeError):
        return None


def _update(raw: str | bytes | None) -> CallUpdate | None:
    if not raw:
        return None
    try:
        return CallUpdate.from_json(raw)
    except EnvelopeError:
        return None
