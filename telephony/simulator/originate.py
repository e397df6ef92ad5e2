"""An AMI Originate as the dialer sends it, read the way Asterisk 20 reads it (pure).

Two shapes are dialer calls (asterisk-config/extensions.conf, shared/fixtures/ami/dialer):
- agent first: `Channel: PJSIP/6001` (or `SIP/6001`), `Context: dialer`, `Exten: <customer>`;
- customer first: `Channel: PJSIP/<customer>@trunk` (or chan_sip's `SIP/<peer>/<customer>`),
  `Context: dialer-connect`, `Exten: ventas` (the queue) or `amd` (answering-machine detection).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from common.dialer.outcomes import Order

AGENT_FIRST_CONTEXT = "dialer"
CUSTOMER_FIRST_CONTEXT = "dialer-connect"
AMD_EXTEN = "amd"
DEFAULT_TIMEOUT_MS = 30000  # manager.c: an Originate without Timeout waits 30 s for an answer
ASYNC_WORDS = frozenset({"true", "yes", "1", "on", "y", "t"})  # ast_true()


@dataclass(frozen=True)
class Trunk:
    """How a channel to the customer is named and dialled: PJSIP `PJSIP/<n>@trunk` makes channels
    `PJSIP/trunk-…` with DialString `<n>@trunk`; chan_sip `SIP/pstn-gw/<n>` makes `SIP/pstn-gw-…`
    with DialString `pstn-gw/<n>`."""
    tech: str
    endpoint: str

    @property
    def device(self) -> str:
        return f"{self.tech}/{self.endpoint}"

    def dial_string(self, number: str) -> str:
        if self.tech == "PJSIP":
            return f"{number}@{self.endpoint}"
        return f"{self.endpoint}/{number}"

    def requested_channel(self, number: str) -> str:
        return f"{self.tech}/{self.dial_string(number)}"

    @classmethod
    def parse(cls, device: str) -> Trunk:
        """`PJSIP/trunk` → Trunk("PJSIP", "trunk")."""
        tech, _, endpoint = device.partition("/")
        if not tech or not endpoint:
            raise ValueError(f"el troncal {device!r} no tiene la forma TECH/endpoint "
                             "(p. ej. PJSIP/trunk)")
        return cls(tech, endpoint)


def customer_channel(channel: str) -> tuple[Trunk, str] | None:
    """`PJSIP/5215512345678@trunk` → (PJSIP trunk, number); `SIP/pstn-gw/5215512345678` → (SIP
    pstn-gw, number); an agent's `PJSIP/6001` → None."""
    tech, _, rest = channel.partition("/")
    if not rest:
        return None
    if tech == "PJSIP" and "@" in rest:
        number, _, endpoint = rest.partition("@")
        return (Trunk(tech, endpoint), number) if number and endpoint else None
    if tech in ("SIP", "IAX2") and "/" in rest:
        endpoint, _, number = rest.partition("/")
        return (Trunk(tech, endpoint), number) if number and endpoint else None
    return None


def split_variables(values: Sequence[str]) -> list[tuple[str, str]]:
    """Repeated or comma-joined `Variable:` headers → [(name, value)] in the order given."""
    pairs = []
    for item in ",".join(values).split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip():
            pairs.append((name.strip(), value))
    return pairs


def parse_callerid(text: str) -> tuple[str, str]:
    """`"Campana c1" <5550001000>` → ("Campana c1", "5550001000")."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].rpartition("<")
        return name.strip().strip('"'), number.strip()
    return "", text


@dataclass(frozen=True)
class OriginateRequest:
    channel: str
    context: str
    exten: str
    caller_name: str
    caller_number: str
    variables: tuple[tuple[str, str], ...]
    channel_id: str | None
    action_id: str | None
    is_async: bool
    timeout: float                   # seconds the originated channel may ring
    order: Order | None              # None: not a dialer call
    customer: str                    # the number the call is to
    trunk: Trunk | None              # customer first: the trunk named in Channel

    @property
    def amd(self) -> bool:
        return self.order is Order.CUSTOMER_FIRST and self.exten == AMD_EXTEN

    def variable(self, name: str) -> str:
        for key, value in self.variables:
            if key == name:
                return value
        return ""


def parse_originate(headers: Mapping[str, str], repeated: Mapping[str, Sequence[str]]
                    ) -> OriginateRequest:
    channel = headers.get("Channel", "").strip()
    context = headers.get("Context", "").strip()
    exten = headers.get("Exten", "").strip()
    name, number = parse_callerid(headers.get("CallerID", ""))
    raw_vars = repeated.get("Variable") or ([headers["Variable"]] if "Variable" in headers else [])
    try:
        timeout = int(headers.get("Timeout", "") or DEFAULT_TIMEOUT_MS) / 1000
    except ValueError:
        timeout = DEFAULT_TIMEOUT_MS / 1000
    order: Order | None = None
    customer = exten
    trunk = None
    parsed = customer_channel(channel)
    if context == CUSTOMER_FIRST_CONTEXT and parsed is not None:
        order = Order.CUSTOMER_FIRST
        trunk, customer = parsed
    elif context == AGENT_FIRST_CONTEXT and parsed is None and "/" in channel:
        order = Order.AGENT_FIRST
    return OriginateRequest(
        channel=channel, context=context, exten=exten, caller_name=name, caller_number=number,
        variables=tuple(split_variables(raw_vars)),
        channel_id=headers.get("ChannelId", "").strip() or None,
        action_id=headers.get("ActionID"),
        is_async=headers.get("Async", "").strip().lower() in ASYNC_WORDS,
        timeout=max(0.0, timeout), order=order, customer=customer, trunk=trunk)
