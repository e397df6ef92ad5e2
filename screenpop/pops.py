"""What an agent's browser is told about a call's customer and record: pure functions from a call
envelope and a match to the parts of a pop (the messages themselves: screenpop.push.protocol)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from common.envelope import CallUpdate
from common.phones import display, is_withheld, to_e164
from screenpop.fields import MISSING_FIELDS, still_missing
from screenpop.index import Installed, Match
from screenpop.wisphub.models import Preinstallation

# When one agent has several endpoints in the same call, the most engaged leg speaks for them.
_LEG_PRIORITY = ("answered", "ringing", "transferred", "answered_elsewhere", "missed", "ended")
# Set by the dialer on the calls it places (see telephony.tracker.VARIABLES); a queue callback
# (telephony.dialer.queue_callbacks) has no campaign, but its SP_CALL attempt id.
DIALER_VARIABLES = frozenset({"CAMPAIGN_ID", "CAMPAIGN", "PREINST_ID", "SP_CALL"})


def record_payload(record: Preinstallation, *, missing: Iterable[str] | None = None,
                   installed: Installed | None = None) -> dict[str, Any]:
    """The record as the page shows it. `missing` overrides the record's own list (what this
    call already captured or uploaded no longer counts); `installed`: it is an installation now."""
    pop = record.to_pop()
    pop["missing"] = list(still_missing(record.missing if missing is None else missing,
                                        record.address))
    pop["missing_labels"] = [MISSING_FIELDS.get(key, key) for key in pop["missing"]]
    pop["phones_display"] = [display(number) for number in record.phones] or (
        [record.phone_raw] if record.phone_raw else [])
    pop["stage"] = "installed" if installed is not None else "pending"
    pop["installation_reference"] = installed.reference if installed is not None else None
    return pop


def match_payload(match: Match) -> dict[str, Any]:
    return {"status": match.status,
            "preinstallations": [record_payload(r, installed=match.installed.get(r.id))
                                 for r in match.preinstallations]}


def linked_payload(record: Preinstallation, installed: Installed | None = None) -> dict[str, Any]:
    return {"status": "one", "preinstallations": [record_payload(record, installed=installed)],
            "linked": True}


def agent_leg(update: CallUpdate, endpoints: Iterable[str]) -> tuple[str, str] | None:
    """(endpoint, leg state) of the agent in this call, or None when none of theirs is in it."""
    legs = [(ep, update.agents[ep]) for ep in endpoints if ep in update.agents]
    if not legs:
        return None
    return min(legs, key=lambda leg: _LEG_PRIORITY.index(leg[1]))


def placed_by_agent(update: CallUpdate, endpoint: str) -> bool:
    """True when the agent dialled this call from their own phone, so the page does not ring for
    it: outbound, their endpoint alone in it, not through a queue, without the channel variables
    a dialer's Originate carries, and the number already known (telephony publishes a call the
    agent's phone places only once it has dialled; an Originate rings the agent first and dials
    the customer after). A campaign's or a queue's outbound call, and a call handed over by
    another agent, ring the agent like an inbound one."""
    return (update.direction == "outbound" and set(update.agents) == {endpoint}
            and update.queue is None and not DIALER_VARIABLES & update.variables.keys()
            and bool(update.customer_number))


def customer(update: CallUpdate) -> tuple[str | None, str]:
    """(E.164 or None, text to show) for the customer side of the call."""
    number = to_e164(update.customer_number)
    if number:
        return number, display(number)
    if update.direction == "outbound" and not update.customer_number:
        # placed to the agent first (dialer, callback): the customer is dialled once they answer
        return None, "Sin número" if update.state == "ended" else "Por marcar"
    if is_withheld(update.customer_number):
        return None, "Número oculto"
    return None, (update.customer_number or "").strip()
