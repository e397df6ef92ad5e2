"""The simulated floor a dialer Originate lands on: its agents, its trunk, its outcome mix and
delays, and the plan for one Originate (which recorded template, which waits, which values)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from common.dialer.outcomes import Order
from telephony.simulator import dialer_outcomes as oc
from telephony.simulator.call import IdSource, bind_values
from telephony.simulator.catalogue import endpoint_ext
from telephony.simulator.dialer_call import QueueLine, retimed
from telephony.simulator.dialer_catalogue import (
    AGENT_ANSWER,
    CUSTOMER_ANSWER,
    CUSTOMER_REJECT,
    DIAL_TIMEOUT,
    TALK,
    TIMEOUT,
    DialerCatalogue,
    DialerTemplate,
)
from telephony.simulator.originate import OriginateRequest, Trunk

DEFAULT_MEMBERS = ("PJSIP/6001", "PJSIP/6002", "PJSIP/6003")
DEFAULT_TRUNK = "PJSIP/trunk"       # extensions.conf [dialer]: Dial(PJSIP/${EXTEN}@trunk,...)
QUEUE = "ventas"                    # extensions.conf [dialer-connect]: the dialer's queue
QUEUE_WAIT_SECONDS = 120.0          # extensions.conf: Queue(ventas,t,,,120)
DIAL_TIMEOUT_SECONDS = 30.0         # extensions.conf [dialer]: Dial(…,30,…) rings the customer
UNKNOWN_UNIQUEID = "<unknown>"      # manager.c: a failed Originate with no ChannelId
RECORDED_RING_SECONDS = 1.5         # the recorded agents and customer answer after 1.5 s


@dataclass
class DialerSettings:
    """`None` delays play as recorded (agent answers after 1.5 s, customer after 1.5 s, a 3 s
    talk). `members`: the agents registered and in the queue, in the queue's (linear) order."""
    members: list[str] = field(default_factory=lambda: list(DEFAULT_MEMBERS))
    unreachable: set[str] = field(default_factory=set)
    trunk: Trunk = field(default_factory=lambda: Trunk.parse(DEFAULT_TRUNK))
    ring_seconds: float | None = None
    agent_ring_seconds: float | None = None
    talk_seconds: float | None = None
    queue_wait_seconds: float = QUEUE_WAIT_SECONDS
    dial_timeout_seconds: float = DIAL_TIMEOUT_SECONDS

    def to_dict(self) -> dict[str, object]:
        return {"members": list(self.members), "unreachable": sorted(self.unreachable),
                "trunk": self.trunk.device, "ring_seconds": self.ring_seconds,
                "agent_ring_seconds": self.agent_ring_seconds, "talk_seconds": self.talk_seconds,
                "queue_wait_seconds": self.queue_wait_seconds,
                "dial_timeout_seconds": self.dial_timeout_seconds}


@dataclass(frozen=True)
class Plan:
    outcome: str
    dialer: DialerTemplate
    values: list[bytes]
    offsets: list[float]
    call_id: str | None        # None: the originated channel's Uniqueid
    agent: str | None          # agent first: the agent rung

    @property
    def uniqueid(self) -> str:
        """The originated channel's Uniqueid (the ChannelId when one was given)."""
        template = self.dialer.template
        return self.values[1 + template.uniqueids.index(template.first_channel_uniqueid)].decode()


class DialerFloor:
    def __init__(self, settings: DialerSettings | None = None,
                 picker: oc.OutcomePicker | None = None,
                 catalogue: DialerCatalogue | None = None) -> None:
        self.settings = settings or DialerSettings()
        self.picker = picker or oc.OutcomePicker({oc.CONNECTED: 1})
        self.catalogue = catalogue or DialerCatalogue()
        self.placed: dict[str, int] = {}  # outcome → Originates played with it
        self.line = QueueLine()           # customers waiting for a free member

    def outcome_for(self, request: OriginateRequest) -> str:
        assert request.order is not None
        if request.order is Order.AGENT_FIRST and not self.reachable(request.channel):
            return oc.AGENT_UNREACHABLE
        outcome = self.picker.pick(request.customer, request.order, amd=request.amd)
        if not oc.applicable(outcome, request.order, amd=request.amd):
            # a forced machine without AMD is a person to the dialplan; an unreachable agent
            # customer first is a queue with nobody free, which the queue itself plays out
            outcome = oc.CONNECTED
        # the originated channel rings longer than the Originate waits for it
        if request.order is Order.CUSTOMER_FIRST and outcome == oc.CONNECTED \
                and self._ring(self.settings.ring_seconds) > request.timeout:
            outcome = oc.NO_ANSWER
        if request.order is Order.AGENT_FIRST and outcome != oc.AGENT_UNREACHABLE \
                and self._ring(self.settings.agent_ring_seconds) > request.timeout:
            outcome = oc.AGENT_NO_ANSWER
        return outcome

    def reachable(self, endpoint: str) -> bool:
        return endpoint in self.settings.members and endpoint not in self.settings.unreachable

    def free_member(self, busy: Iterable[str]) -> str | None:
        """The first member (linear strategy) who is reachable and on no call (ringinuse=no)."""
        busy = set(busy)
        for member in self.settings.members:
            if member not in busy and member not in self.settings.unreachable:
                return member
        return None

    @staticmethod
    def _ring(configured: float | None) -> float:
        return configured if configured is not None else RECORDED_RING_SECONDS

    def plan(self, request: OriginateRequest, ids: IdSource, action_id: str, *,
             speed: float) -> Plan:
        """`speed` scales the recording's spacing and the Originate's Timeout (0: at once); the
        configured ring, agent ring and talk seconds are real seconds."""
        assert request.order is not None
        outcome = self.outcome_for(request)
        dialer = self.catalogue.template(request.order, request.amd, outcome)
        self.placed[outcome] = self.placed.get(outcome, 0) + 1
        trunk = request.trunk or self.settings.trunk
        params: dict[str, str] = {
            "action_id": action_id, "customer": request.customer,
            "trunk_requested": trunk.requested_channel(request.customer),
            "trunk_dial": trunk.dial_string(request.customer), "trunk_device": trunk.device,
            "name": request.caller_name, "did": request.caller_number, "exten": request.exten,
        }
        agent = None
        if request.order is Order.AGENT_FIRST:
            agent = request.channel
            params["agent_endpoint"] = agent
            params["agent_ext"] = endpoint_ext(agent)
        for name, value in request.variables:
            params[f"var:{name}"] = value
        for param in dialer.template.literal_params:
            if param.startswith("var:") and param not in params:
                params[param] = ""  # a recorded variable this Originate does not set
        first = request.channel_id
        call_id = None
        if first is None and dialer.spec.response_only:
            first = UNKNOWN_UNIQUEID
            call_id = f"failed-{next(ids.sequence)}"
        values = bind_values(dialer.template, params, ids, first_uniqueid=first)
        offsets = retimed([e.offset for e in dialer.template.events], dialer.phases,
                          scaled={TIMEOUT: request.timeout,
                                  DIAL_TIMEOUT: self.settings.dial_timeout_seconds},
                          fixed=self._configured_waits(), speed=speed)
        return Plan(outcome, dialer, values, offsets, call_id, agent)

    def _configured_waits(self) -> dict[str, float]:
        """The waits the user set: real seconds, whatever the speed."""
        s = self.settings
        waits: dict[str, float] = {}
        if s.ring_seconds is not None:
            waits[CUSTOMER_ANSWER] = waits[CUSTOMER_REJECT] = s.ring_seconds
        if s.agent_ring_seconds is not None:
            waits[AGENT_ANSWER] = s.agent_ring_seconds
        if s.talk_seconds is not None:
            waits[TALK] = s.talk_seconds
        return waits

    def agent_binder(self, dialer: DialerTemplate) -> Callable[[list[bytes], str], None]:
        """Writes the chosen queue member into a call's value list (its endpoint, extension)."""
        template = dialer.template
        base = 1 + len(template.uniqueids) + len(template.suffixes) + len(template.bridges)
        slots: dict[str, list[int]] = {}
        seen: set[str] = set()
        for i, (literal, param) in enumerate(zip(template.literals, template.literal_params)):
            if literal in seen:
                continue  # compile_template keeps the first slot of a repeated literal
            seen.add(literal)
            slots.setdefault(param, []).append(base + i)

        def bind(values: list[bytes], agent: str) -> None:
            for param, value in (("agent_endpoint", agent), ("agent_ext", endpoint_ext(agent))):
                for slot in slots.get(param, []):
                    values[slot] = value.encode()

        return bind

    def configure(self, body: Mapping[str, object]) -> None:
        """Changes from the control API / CLI: all of them, or none when one is invalid."""
        s = replace(self.settings, members=list(self.settings.members),
                    unreachable=set(self.settings.unreachable))
        for key in ("ring_seconds", "agent_ring_seconds", "talk_seconds", "queue_wait_seconds",
                    "dial_timeout_seconds"):
            if key in body:
                value = body[key]
                nullable = key not in ("queue_wait_seconds", "dial_timeout_seconds")
                if (value is None and not nullable) or (value is not None and (
                        isinstance(value, bool) or not isinstance(value, int | float)
                        or value < 0)):
                    raise ValueError(f"«{key}» debe ser un número de segundos >= 0"
                                     + (" o null" if nullable else ""))
                setattr(s, key, None if value is None else float(value))
        if "members" in body:
            s.members = _endpoints(body["members"], "members")
        if "unreachable" in body:
            s.unreachable = set(_endpoints(body["unreachable"], "unreachable"))
        if "trunk" in body:
            if not isinstance(body["trunk"], str):
                raise ValueError("«trunk» debe ser TECH/endpoint, p. ej. PJSIP/trunk")
            s.trunk = Trunk.parse(body["trunk"])
        weights = self.picker.weights
        if "weights" in body:
            if not isinstance(body["weights"], dict):
                raise ValueError("«weights» debe ser un objeto, p. ej. {\"connected\": 60}")
            weights = oc.check_weights(body["weights"])
        seed = body.get("seed", self.picker.seed)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("«seed» debe ser un entero o null")
        self.settings = s
        self.picker.weights = weights
        if "seed" in body:
            self.picker.reseed(seed)  # type: ignore[arg-type]

    def state(self) -> dict[str, object]:
        return {**self.settings.to_dict(), **self.picker.state(), "placed": dict(self.placed),
                "waiting_in_queue": len(self.line)}


def _endpoints(value: object, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and "/" in v for v in value):
        raise ValueError(f"«{key}» debe ser una lista de extensiones como \"PJSIP/6001\"")
    return list(value)
