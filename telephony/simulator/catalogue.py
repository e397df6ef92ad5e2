"""Which recorded trace plays which scenario, and which literal strings in it are parameters.

Data, plus the small amount of logic that picks a variant (e.g. a ringall queue answered by the
second member) and binds a call's parameters to a template's literal slots.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from telephony.simulator.template import (
    Template,
    call_events,
    compile_template,
    read_trace,
    split_calls,
)

TRACES_DIR = Path(__file__).parent / "traces"
QUEUE_STRATEGIES = ("linear", "ringall", "rrmemory")
WITHHELD_NUMBERS = ("anonymous", "<unknown>", "Restricted", "")


class ScenarioError(ValueError):
    """Unknown scenario, unavailable trace or parameters the scenario cannot honour."""


@dataclass(frozen=True)
class AgentSlot:
    """An agent as recorded: its extension, and its endpoint literal when the trace shows the
    device itself (`SIP/6001`); Local-channel agents (`Local/6001@agents`) only take the
    extension, so they stay Local channels."""
    ext: str
    endpoint: str | None = None

    @property
    def channel_prefix(self) -> str:
        return self.endpoint or f"Local/{self.ext}@agents"


@dataclass(frozen=True)
class ScenarioSpec:
    trace: str                      # relative to the traces directory
    agents: tuple[AgentSlot, ...]   # role order: the answering agent first
    customer: tuple[str, ...]
    name: tuple[str, ...] = ()
    queue: tuple[str, ...] = ()
    strategy: tuple[str, ...] = ()
    did: tuple[str, ...] = ()
    action_id: tuple[str, ...] = ()
    part: int | None = None         # which call of a trace holding several
    originate_response: bool = False
    answers: bool = True            # an agent answers (there is a point to hold at)
    rings: int | None = None        # slots that ring, when fewer than `agents` (the rest only
                                    # appear in CDRs): a call with fewer agents fills them in

    def literal_params(self) -> dict[str, tuple[str, ...]]:
        params: dict[str, tuple[str, ...]] = {}
        for i, slot in enumerate(self.agents):
            if slot.endpoint:
                params[f"agent{i}_endpoint"] = (slot.endpoint,)
            params[f"agent{i}_ext"] = (slot.ext,)
        for key in ("customer", "name", "queue", "strategy", "did", "action_id"):
            if getattr(self, key):
                params[key] = getattr(self, key)
        return params


SIP_6001 = AgentSlot("6001", "SIP/6001")
SIP_6002 = AgentSlot("6002", "SIP/6002")
LOCAL_6001 = AgentSlot("6001")
JUAN = "5215512345678"

SPECS: dict[str, ScenarioSpec] = {
    "inbound_queue.ringall": ScenarioSpec(
        "sip-trunk-inbound-queue.txt", (SIP_6001, SIP_6002), (JUAN,), ("Juan Perez",),
        ("ventas",), ("ringall",), ("5550001000",)),
    "inbound_queue.local": ScenarioSpec(
        "local-inbound-queue.txt", (LOCAL_6001,), (JUAN,), ("Juan Perez",), ("ventas",),
        ("linear",)),
    "inbound_queue.ringall_other": ScenarioSpec(
        "synthetic/queue-ringall-other-answers.txt", (SIP_6002, SIP_6001), (JUAN,),
        ("Juan Perez",), ("ventas",), ("ringall",), ("5550001000",)),
    "inbound_queue.linear_noanswer": ScenarioSpec(
        "synthetic/queue-linear-noanswer-then-next.txt", (SIP_6002, SIP_6001), (JUAN,),
        ("Juan Perez",), ("ventas",), ("linear",), ("5550001000",)),
    "inbound_queue.rrmemory": ScenarioSpec(
        "synthetic/queue-rrmemory.txt", (SIP_6001, SIP_6002), (JUAN,), ("Juan Perez",), ("ventas",),
        ("rrmemory",), ("5550001000",), part=0, rings=1),
    "inbound_queue.rrmemory_next": ScenarioSpec(
        "synthetic/queue-rrmemory.txt", (SIP_6002, SIP_6001), (JUAN,), ("Juan Perez",), ("ventas",),
        ("rrmemory",), ("5550001000",), part=1),
    "inbound_direct": ScenarioSpec(
        "sip-inbound-direct.txt", (SIP_6001,), ("+525598765432",), did=("5550006001",)),
    "inbound_ivr": ScenarioSpec(
        "ivr-menu.txt", (SIP_6001, SIP_6002), ("5215587654321",), ("Maria Lopez",), ("ventas",),
        ("ringall",), ("5550001001",)),
    "ivr_after_hours": ScenarioSpec(
        "synthetic/ivr-after-hours.txt", (), ("5215587654321",), ("Maria Lopez",),
        did=("5550001001",), answers=False),
    "ivr_callback": ScenarioSpec(
        "synthetic/ivr-queue-callback.txt", (), ("5215587654321",), ("Maria Lopez",), ("ventas",),
        did=("5550001001",), answers=False),
    "ivr_hangup": ScenarioSpec(
        "synthetic/ivr-hangup-in-menu.txt", (), ("5215587654321",), ("Maria Lopez",),
        did=("5550001001",), answers=False),
    "ivr_abandon": ScenarioSpec(
        "synthetic/ivr-queue-abandon.txt", (), ("5215587654321",), ("Maria Lopez",), ("ventas",),
        did=("5550001001",), answers=False),
    "agent_outbound": ScenarioSpec("sip-agent-outbound.txt", (SIP_6001,), ("5512345678",)),
    "dialer_agent_first": ScenarioSpec(
        "sip-dialer-agent-first.txt", (SIP_6001,), ("5533334444",), ("Campana c1",),
        did=("5550001000",), action_id=("dialer-c1-42",), originate_response=True),
    "dialer_customer_first": ScenarioSpec(
        "local-outbound-predictive.txt", (LOCAL_6001,), ("5512345678",), ("Cliente",),
        ("ventas",), ("linear",), action_id=("predictive-1",), originate_response=True),
    "dialer_noanswer": ScenarioSpec(
        "sip-dialer-noanswer-busy.txt", (SIP_6001,), ("5544440001",), ("Campana c1",),
        did=("5550001000",), action_id=("dialer-noanswer",), part=0, originate_response=True,
        answers=False),
    "dialer_busy": ScenarioSpec(
        "sip-dialer-noanswer-busy.txt", (SIP_6001,), ("5544440002",), ("Campana c1",),
        did=("5550001000",), action_id=("dialer-busy",), part=1, originate_response=True,
        answers=False),
    "blind_transfer": ScenarioSpec(
        "synthetic/blind-transfer.txt", (SIP_6001, SIP_6002), (JUAN,), ("Juan Perez",),
        ("ventas",), did=("5550001000",)),
    "attended_transfer": ScenarioSpec(
        "synthetic/attended-transfer.txt", (SIP_6001, SIP_6002), (JUAN,), ("Juan Perez",),
        ("ventas",), did=("5550001000",)),
    "inbound_hold": ScenarioSpec(
        "synthetic/queue-hold.txt", (SIP_6001,), (JUAN,), ("Juan Perez",), ("ventas",),
        did=("5550001000",)),
    "inbound_direct.pjsip": ScenarioSpec(
        "synthetic/pjsip-inbound-direct.txt", (AgentSlot("6001", "PJSIP/6001"),),
        ("+525598765432",), did=("5550006001",)),
    # The recorded withheld caller IDs, in the order of synthetic/inbound-anonymous.txt; the
    # number is not a parameter there ("<unknown>" also fills unrelated fields).
    **{f"inbound_direct.withheld{i}": ScenarioSpec(
        "synthetic/inbound-anonymous.txt", (SIP_6001,), (), did=("5550006001",), part=i)
       for i in range(len(WITHHELD_NUMBERS))},
}

# Scenarios whose call a queue hands to its members (the rest ring one given agent).
QUEUE_SCENARIOS = frozenset({"inbound_queue", "inbound_ivr", "dialer_customer_first"})
# IVR calls that never reach an agent: after hours (the caller asks to be called back, or not),
# a caller who leaves the queue asking to be called back, one who hangs up in the menu, and one
# who gives up waiting in the queue.
IVR_SCENARIOS = frozenset({"inbound_ivr", "ivr_after_hours", "ivr_callback", "ivr_hangup",
                           "ivr_abandon"})
SCENARIO_NAMES = ("inbound_queue", "inbound_direct", "inbound_ivr", "ivr_after_hours",
                  "ivr_callback", "ivr_hangup", "ivr_abandon", "agent_outbound",
                  "dialer_agent_first", "dialer_customer_first", "dialer_noanswer", "dialer_busy",
                  "blind_transfer", "attended_transfer", "inbound_hold")


def endpoint_ext(endpoint: str) -> str:
    """`PJSIP/6001` → `6001`; `Local/6001@agents` → `6001`."""
    return endpoint.split("/", 1)[-1].split("@", 1)[0]


@dataclass(frozen=True)
class Choice:
    key: str                 # SPECS key
    agents: tuple[str, ...]  # requested endpoints in the spec's slot order


class Catalogue:
    """Compiles templates on first use and keeps them (one per spec)."""

    def __init__(self, traces_dir: Path = TRACES_DIR) -> None:
        self._dir = traces_dir
        self._templates: dict[str, Template] = {}

    def available(self, key: str) -> bool:
        return (self._dir / SPECS[key].trace).is_file()

    def template(self, key: str) -> Template:
        if key not in self._templates:
            spec = SPECS[key]
            path = self._dir / spec.trace
            if not path.is_file():
                raise ScenarioError(f"scenario {key!r} needs {spec.trace}, which is not there yet")
            events = call_events(read_trace(path.read_bytes()),
                                 keep_originate_response=spec.originate_response)
            if spec.part is not None:
                events = split_calls(events)[spec.part]
            self._templates[key] = compile_template(
                events, spec.literal_params(),
                agent_names=[slot.channel_prefix + "-" for slot in spec.agents])
        return self._templates[key]

    def choose(self, scenario: str, agents: Sequence[str], *, strategy: str | None = None,
               answered_by: str | None = None, ring_no_answer: Sequence[str] = (),
               customer: str | None = None) -> Choice:
        if scenario not in SCENARIO_NAMES:
            raise ScenarioError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIO_NAMES)}")
        answered_by = answered_by or (agents[0] if agents else None)
        if answered_by and answered_by not in agents:
            agents = [answered_by, *agents]
        key = scenario
        if scenario == "inbound_queue":
            key = self._queue_variant(agents, strategy or "ringall", answered_by, ring_no_answer)
        elif scenario == "inbound_direct":
            key = self._direct_variant(agents, customer)
        ordered = self._order(agents, answered_by, ring_no_answer)
        spec = SPECS[key]
        need = spec.rings or len(spec.agents)
        if len(ordered) < need:
            raise ScenarioError(f"scenario {scenario!r} ({key}) needs {need} agent(s), got "
                                f"{len(ordered)}")
        if spec.agents:
            ordered += [ordered[0]] * (len(spec.agents) - len(ordered))
        return Choice(key, tuple(ordered[:len(spec.agents)]))

    def _queue_variant(self, agents: Sequence[str], strategy: str, answered_by: str | None,
                       ring_no_answer: Sequence[str]) -> str:
        if strategy not in QUEUE_STRATEGIES:
            raise ScenarioError(f"unknown queue strategy {strategy!r}")
        if strategy == "ringall":
            if agents and answered_by != agents[0] and self.available("inbound_queue.ringall_other"):
                return "inbound_queue.ringall_other"
            return "inbound_queue.ringall"
        if strategy == "rrmemory" and self.available("inbound_queue.rrmemory"):
            # the recording's second call is the rotation to the next member
            return ("inbound_queue.rrmemory" if not agents or answered_by == agents[0]
                    else "inbound_queue.rrmemory_next")
        if ring_no_answer:
            if not self.available("inbound_queue.linear_noanswer"):
                raise ScenarioError("a member that rings without answering needs "
                                    "synthetic/queue-linear-noanswer-then-next.txt")
            return "inbound_queue.linear_noanswer"
        if agents and agents[0].startswith("Local/"):
            return "inbound_queue.local"
        # one member rings and answers: the first call of the rrmemory recording, restamped
        return ("inbound_queue.rrmemory" if self.available("inbound_queue.rrmemory")
                else "inbound_queue.local")

    def _direct_variant(self, agents: Sequence[str], customer: str | None) -> str:
        if customer in WITHHELD_NUMBERS:
            key = f"inbound_direct.withheld{WITHHELD_NUMBERS.index(customer)}"
            if self.available(key):
                return key
        if agents and agents[0].startswith("PJSIP/") and self.available("inbound_direct.pjsip"):
            return "inbound_direct.pjsip"
        return "inbound_direct"

    @staticmethod
    def _order(agents: Sequence[str], answered_by: str | None,
               ring_no_answer: Sequence[str]) -> list[str]:
        """Answering agent first, then members that ring without answering, then the rest."""
        head = [answered_by] if answered_by else []
        rest = [a for a in ring_no_answer if a not in head]
        rest += [a for a in agents if a not in head and a not in rest]
        return head + rest
