"""What screenpop knows about each call, as call-record facts (common.records).

- `matched`: the preinstallation a call's pop shows and how it was found: one match → 'single',
  several → 'several', none → 'none'; an agent's link → 'linked', with an event naming the agent
  and the record chosen (a link is never undone by a later automatic match).
- `answered_by`: the account of the agent whose endpoint answered (telephony knows endpoints only).
- `progress`: the guided-call step reached and the answers given (objections raised are the
  `objections_raised` answer), one event per step first reached.
- `disposition`: the agent's result of the call (disposition, notes, callback and for whom), the
  latest overwriting, and one `disposition` event per save for the timeline.
- `operation`: each state a WispHub action reaches, with its result, as an event; a successful
  activation also writes the `activated` event, which is what "activated" means in a record.

Every method only builds facts and hands them to the process's record writer (never blocks, never
raises); `CallLog(None)` is records off.
"""
from __future__ import annotations

import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from common.records.facts import (
    Fact,
    activated_fact,
    agent_name_fact,
    disposition_fact,
    event_fact,
    guided_fact,
    match_fact,
)
from common.records.writer import FactSink

if TYPE_CHECKING:
    from common.envelope import CallUpdate
    from screenpop.operations.model import Operation
    from screenpop.script.progress import CallProgress

log = logging.getLogger(__name__)

MATCH_STATUS = {"one": "single", "many": "several", "none": "none"}
ACTIVATED_STATES = frozenset({"done", "verified"})
ANSWERS_KEPT = 20_000  # (call, endpoint) pairs already attributed to an agent


def _never_raises(method: Callable) -> Callable:
    """A record fact that cannot be built is logged; the pop, the save or the action goes on."""
    @functools.wraps(method)
    def safe(self, *args, **kwargs) -> None:
        try:
            method(self, *args, **kwargs)
        except Exception:
            log.exception("call record not updated by %s", method.__name__)
    return safe


class CallLog:
    def __init__(self, writer: FactSink | None) -> None:
        self.writer = writer
        self._answered: OrderedDict[tuple[str, str], None] = OrderedDict()

    @_never_raises
    def matched(self, call_id: str, match: dict[str, Any], *, by: str | None = None) -> None:
        found = match.get("preinstallations") or []
        record_id = str(found[0]["id"]) if len(found) == 1 else None
        if match.get("linked"):
            self._submit(match_fact(call_id, record_id, "linked"))
            if by is not None:
                self._submit(event_fact(call_id, f"link:{record_id}", time.time(), "linked", by,
                                        {"preinstallation_id": record_id}))
        elif match.get("status") in MATCH_STATUS:
            self._submit(match_fact(call_id, record_id, MATCH_STATUS[match["status"]]))

    @_never_raises
    def answered_by(self, update: CallUpdate, agents: dict[str, list[str]]) -> None:
        """`agents`: username → the endpoints of theirs in the call."""
        for username, endpoints in agents.items():
            for endpoint in endpoints:
                key = (update.call_id, endpoint)
                if update.agents.get(endpoint) == "answered" and key not in self._answered:
                    self._answered[key] = None
                    if len(self._answered) > ANSWERS_KEPT:
                        self._answered.popitem(last=False)
                    self._submit(agent_name_fact(update.call_id, endpoint, username))

    @_never_raises
    def progress(self, progress: CallProgress, *, by: str) -> None:
        self._submit(guided_fact(progress.call_id, progress.step, progress.answers))
        at = progress.updated_at.timestamp() if progress.updated_at else time.time()
        self._submit(event_fact(progress.call_id, f"step:{progress.step}", at, "guided_step", by,
                                {"step": progress.step}))

    @_never_raises
    def operation(self, op: Operation) -> None:
        at = op.updated_at or time.time()
        self._submit(event_fact(
            op.call_id, f"op:{op.op_id}:{op.state}:{op.attempts}", at, f"wisphub_{op.kind}",
            op.by, {"op": op.op_id, "kind": op.kind, "label": op.label, "state": op.state,
                    "reference": op.reference or None, "reason": op.reason or None,
                    "attempts": op.attempts}))
        if op.kind == "activation" and op.state in ACTIVATED_STATES:
            self._submit(event_fact(op.call_id, "activated", at, "activated", op.by,
                                    {"op": op.op_id, "reference": op.reference or None}))
            self._submit(activated_fact(op.call_id, at))

    @_never_raises
    def disposition(self, call_id: str, *, disposition: str, label: str, effect: str, notes: str,
                    callback_at: datetime | None, callback_for: str | None,
                    callback_zone: str | None, by: str, at: float) -> None:
        self._submit(disposition_fact(call_id, disposition=disposition, effect=effect,
                                      notes=notes, callback_at=callback_at,
                                      callback_for=callback_for, callback_zone=callback_zone,
                                      by=by, at=at))
        self._submit(event_fact(call_id, f"disposition:{int(at * 1000)}", at, "disposition", by, {
            "disposition": disposition, "label": label, "effect": effect,
            "notes": notes or None,
            "callback_at": callback_at.isoformat() if callback_at else None,
            "callback_for": callback_for}))

    def _submit(self, fact: Fact) -> None:
        if self.writer is not None:
            self.writer.submit(fact)


CALL_LOG = web.AppKey("call_log", CallLog)
