"""The versioned call envelope `telephony` publishes and `screenpop` consumes.

One envelope is published on every change of a call that matters to an agent: an agent's phone
starts ringing, stops ringing, answers, is transferred away, or the call ends. The envelope always
carries the whole current picture of the call (not a delta), so a consumer that missed one can
act on the next.

`seq` grows with every update of a call, also across restarts of `telephony` (see
telephony/tracker.py): keep the update with the highest `seq` of each call.

`variables` holds the Asterisk channel variables of the call (manager.conf `channelvars`, one
`ChanVariable:` header each), only those with a value; it is empty on calls nobody tagged and may
gain entries in later updates (a variable an Originate sets has no value on the first events of
its channel). The dialer tags the calls it places with `CAMPAIGN_ID` (its campaign), `PREINST_ID`
(the WispHub preinstallation the call is about) and `SP_CALL` (its own attempt id); read them with
`campaign_id`, `preinstallation_id` and `dialer_call_id`. Added in version 1 as an optional field:
an envelope without it reads as `{}`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ENVELOPE_VERSION = 1

Direction = Literal["inbound", "outbound"]
CallState = Literal["ringing", "answered", "ended"]
# What one agent endpoint is doing in the call:
#   ringing            its phone is alerting
#   answered           it is (or was last) talking with the customer
#   answered_elsewhere another endpoint answered while this one was ringing
#   missed             it rang and stopped without anyone answering there (no answer / declined)
#   transferred        it had the call and handed it to another endpoint
#   ended              the call ended while this endpoint had it
AgentLegState = Literal["ringing", "answered", "answered_elsewhere", "missed", "transferred", "ended"]
AGENT_LEG_STATES = ("ringing", "answered", "answered_elsewhere", "missed", "transferred", "ended")
# Channel variables the dialer sets on the calls it originates (manager.conf channelvars).
CAMPAIGN_VARIABLE = "CAMPAIGN_ID"
PREINSTALLATION_VARIABLE = "PREINST_ID"
DIALER_CALL_VARIABLE = "SP_CALL"


class EnvelopeError(ValueError):
    """A message on the call bus that is not a valid call envelope."""


@dataclass(frozen=True)
class CallUpdate:
    call_id: str
    direction: Direction
    state: CallState
    customer_number: str | None  # the digits as Asterisk gave them; None when withheld/unknown
    agents: dict[str, AgentLegState] = field(default_factory=dict)
    queue: str | None = None
    started_at: float = 0.0  # epoch seconds of the first channel of the call
    event_at: float = 0.0  # epoch seconds when telephony read the AMI event behind this update
    variables: dict[str, str] = field(default_factory=dict)  # channel variables with a value
    seq: int = 0  # increases with each update of the same call, across telephony restarts

    @property
    def campaign_id(self) -> str | None:
        return self.variables.get(CAMPAIGN_VARIABLE)

    @property
    def preinstallation_id(self) -> str | None:
        return self.variables.get(PREINSTALLATION_VARIABLE)

    @property
    def dialer_call_id(self) -> str | None:
        return self.variables.get(DIALER_CALL_VARIABLE)

    def to_json(self) -> str:
        return json.dumps({"type": "call", "version": ENVELOPE_VERSION, **asdict(self)},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> CallUpdate:
        try:
            data: dict[str, Any] = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EnvelopeError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("type") != "call":
            raise EnvelopeError("not a call envelope")
        if data.get("version") != ENVELOPE_VERSION:
            raise EnvelopeError(f"unsupported envelope version {data.get('version')!r}")
        try:
            update = cls(
                call_id=str(data["call_id"]),
                direction=data["direction"],
                state=data["state"],
                customer_number=data.get("customer_number"),
                agents=dict(data.get("agents") or {}),
                queue=data.get("queue"),
                started_at=float(data.get("started_at") or 0.0),
                event_at=float(data.get("event_at") or 0.0),
                variables=dict(data.get("variables") or {}),
                seq=int(data.get("seq") or 0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EnvelopeError(f"bad call envelope: {exc!r}") from exc
        if update.direction not in ("inbound", "outbound") or update.state not in (
                "ringing", "answered", "ended"):
            raise EnvelopeError("bad direction or state")
        if any(leg not in AGENT_LEG_STATES for leg in update.agents.values()):
            raise EnvelopeError("bad agent leg state")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in update.variables.items()):
            raise EnvelopeError("channel variables must map names to text")
        return update
