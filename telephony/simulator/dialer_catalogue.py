"""The dialer traces (traces/dialer, a copy of shared/fixtures/ami/dialer, and the ones
traces/synthetic/derive.py tells from them) as call templates, one per order and outcome, with what
playing them needs beyond the generic template (pure but for reading the trace files).

For each trace the Originate the recorder sent (NAME.sent.txt) says which literals are parameters:
the customer number, the caller ID, the ChannelId (a Uniqueid like any other once compiled), the
variables' values, the agent and trunk names. On top of the template, each event knows:
- whether its `ChanVariable:`/`DestChanVariable:` lines describe the originated channel and whether
  the Originate's variables were set on it by then (they are rewritten with this call's values);
- whether it is the first of the Originate's own `VarSet`s (replaced by one VarSet per variable of
  this call, in reverse order of the `Variable:` header, as Asterisk sets them) or a later one;
and the template knows its recorded waits (gaps longer than PHASE_GAP: rings, talk, timeouts, AMD)
by name, where a queue takes the call (customer first), and which event is the OriginateResponse.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common.dialer.outcomes import Order
from telephony.simulator import dialer_outcomes as oc
from telephony.simulator.catalogue import TRACES_DIR, ScenarioError, endpoint_ext
from telephony.simulator.originate import customer_channel, parse_callerid, split_variables
from telephony.simulator.template import (
    RawEvent,
    Template,
    call_events,
    compile_template,
    read_trace,
)

PHASE_GAP = 0.3  # seconds: longer gaps in a recording are waits (ringing, talking, detection)
CHANNEL_ID_ID = ".999999"  # a recorded ChannelId is compiled as `<epoch>.999999`

# the three waits of a connected call, and the others
AGENT_ANSWER = "agent_answer"
CUSTOMER_ANSWER = "customer_answer"
TALK = "talk"
CUSTOMER_REJECT = "customer_reject"
TIMEOUT = "timeout"
AMD_DECISION = "amd"
DIAL_TIMEOUT = "dial_timeout"  # agent first: the dialplan's Dial() timeout for the customer


@dataclass(frozen=True)
class DialerSpec:
    trace: str                      # under traces/, without `.txt` (`dialer/agent-first`)
    action_id: str                  # the recorded Originate this template is cut from
    phases: tuple[str, ...]         # the recording's waits, in order
    agent: str | None = None        # the recorded agent endpoint
    exten_param: bool = False       # the Originate's Exten is a parameter (no queue of that name)
    response_only: bool = False     # the Originate failed before any channel existed

    @property
    def path(self) -> str:
        return f"{self.trace}.txt"

    @property
    def sent_path(self) -> str:
        return f"{self.trace}.sent.txt"


# (order, answering-machine detection, outcome) → spec
SPECS: dict[tuple[Order, bool, str], DialerSpec] = {
    (Order.AGENT_FIRST, False, oc.CONNECTED): DialerSpec(
        "dialer/agent-first", "dialer-c7-1001", (AGENT_ANSWER, CUSTOMER_ANSWER, TALK), "SIP/6001"),
    (Order.AGENT_FIRST, False, oc.AGENT_UNREACHABLE): DialerSpec(
        "dialer/agent-unreachable", "dialer-c7-1003", (), "SIP/6003", response_only=True),
    (Order.CUSTOMER_FIRST, False, oc.CONNECTED): DialerSpec(
        "dialer/customer-first", "dialer-c7-1002", (CUSTOMER_ANSWER, AGENT_ANSWER, TALK), "SIP/6001"),
    (Order.CUSTOMER_FIRST, False, oc.BUSY): DialerSpec(
        "dialer/customer-busy", "dialer-c7-1006", (CUSTOMER_REJECT,), exten_param=True),
    (Order.CUSTOMER_FIRST, False, oc.NO_ANSWER): DialerSpec(
        "dialer/customer-noanswer", "dialer-c7-1007", (TIMEOUT,), exten_param=True),
    (Order.CUSTOMER_FIRST, False, oc.NOT_FOUND): DialerSpec(
        "dialer/customer-not-found", "dialer-c7-1008", (), exten_param=True),
    # AMD says HUMAN: recorded only with a Local-channel customer (a softphone cannot speak one
    # word and fall silent); synthetic/derive.py tells it over the trunk from amd-machine,
    # amd-human's verdict and customer-first's queue step
    (Order.CUSTOMER_FIRST, True, oc.CONNECTED): DialerSpec(
        "synthetic/dialer-amd-human-trunk", "dialer-c7-1009",
        (CUSTOMER_ANSWER, AMD_DECISION, AGENT_ANSWER, TALK), "SIP/6001"),
    (Order.CUSTOMER_FIRST, True, oc.MACHINE): DialerSpec(
        "dialer/amd-machine", "dialer-c7-1009", (CUSTOMER_ANSWER, AMD_DECISION), exten_param=True),
    # agent first, the customer fails: the agent-first recording until the trunk leg rings,
    # then that leg ends as in the customer-first recordings (synthetic/derive.py)
    (Order.AGENT_FIRST, False, oc.BUSY): DialerSpec(
        "synthetic/dialer-agent-first-busy", "dialer-c7-1001", (AGENT_ANSWER, CUSTOMER_REJECT),
        "SIP/6001"),
    (Order.AGENT_FIRST, False, oc.NO_ANSWER): DialerSpec(
        "synthetic/dialer-agent-first-noanswer", "dialer-c7-1001", (AGENT_ANSWER, DIAL_TIMEOUT),
        "SIP/6001"),
    # the agent's phone rings past the Originate's Timeout: agent-first until it rings, then
    # the originated channel's timeout as customer-noanswer shows it (synthetic/derive.py)
    (Order.AGENT_FIRST, False, oc.AGENT_NO_ANSWER): DialerSpec(
        "synthetic/dialer-agent-noanswer", "dialer-c7-1001", (TIMEOUT,), "SIP/6001"),
    (Order.AGENT_FIRST, False, oc.NOT_FOUND): DialerSpec(
        "synthetic/dialer-agent-first-not-found", "dialer-c7-1001", (AGENT_ANSWER,), "SIP/6001"),
}


def sent_originate(path: Path, action_id: str) -> dict[str, str]:
    """The Originate with that ActionID in a NAME.sent.txt file (`### +t` blocks)."""
    current: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("###"):
            current = {}
        elif ": " in line:
            key, value = line.split(": ", 1)
            current[key] = value
            if key == "ActionID" and value == action_id and current.get("Action") == "Originate":
                return current
    raise ScenarioError(f"{path.name} has no Originate {action_id!r}")


@dataclass(frozen=True)
class EventVars:
    main_is_originated: bool   # `ChanVariable:` lines are the originated channel's
    dest_is_originated: bool   # `DestChanVariable:` lines are
    set: bool                  # the Originate's variables are set on it at this event
    group: int                 # 1: the first Originate VarSet, 2: a later one, 0: neither


@dataclass(frozen=True)
class DialerTemplate:
    key: tuple[Order, bool, str]
    spec: DialerSpec
    template: Template
    events: tuple[EventVars, ...]
    phases: dict[str, tuple[int, float]]   # name → (index of the event after the wait, seconds)
    queue_index: int | None                # the queue's first agent event (customer first)
    response_index: int | None             # the OriginateResponse
    channel_variables: tuple[str, ...]     # manager.conf channelvars as recorded


def _variables_of(events: Sequence[RawEvent]) -> tuple[str, ...]:
    for ev in events:
        names = [line.split(b": ", 1)[1].split(b"=", 1)[0].decode()
                 for line in ev.block.split(b"\r\n") if line.startswith(b"ChanVariable: ")]
        if names:
            return tuple(names)
    return ()


def _rename_channel_id(events: list[RawEvent], channel_id: str, stand_in: str) -> list[RawEvent]:
    """A ChannelId is a Uniqueid: give it the recorded ids' shape so it is compiled as one."""
    old, new = channel_id.encode(), stand_in.encode()
    renamed = []
    for ev in events:
        headers = {k: (stand_in if v == channel_id else v) for k, v in ev.headers.items()}
        renamed.append(RawEvent(ev.block.replace(old, new), headers, ev.time, ev.silent))
    return renamed


def compile_dialer(key: tuple[Order, bool, str], spec: DialerSpec,
                   traces_dir: Path = TRACES_DIR) -> DialerTemplate:
    path = traces_dir / spec.path
    if not path.is_file():
        raise ScenarioError(f"the dialer needs {path.name}, which is not there")
    sent = sent_originate(traces_dir / spec.sent_path, spec.action_id)
    events = [ev for ev in call_events(read_trace(path.read_bytes()), keep_originate_response=True)
              if ev.headers.get("ActionID", spec.action_id) == spec.action_id]
    if spec.response_only:
        events = [ev for ev in events if ev.headers.get("Event") == "OriginateResponse"]
    channel_id = sent.get("ChannelId")
    if channel_id:
        stand_in = f"{int(events[0].time or 0)}{CHANNEL_ID_ID}"
        events = _rename_channel_id(events, channel_id, stand_in)
        originated = stand_in
    else:
        originated = next(ev.headers["Uniqueid"] for ev in events
                          if ev.headers.get("Event") == "Newchannel")

    name, number = parse_callerid(sent.get("CallerID", ""))
    variables = split_variables([sent.get("Variable", "")])
    params: dict[str, list[str]] = {"action_id": [spec.action_id]}
    trunk_customer = customer_channel(sent["Channel"])
    if trunk_customer is not None:
        trunk, customer = trunk_customer
    else:
        trunk, customer = None, sent["Exten"]
    # the agent-first recordings dial the customer through chan_sip's pstn-gw peer
    trunk_device, trunk_peer = ("SIP/pstn-gw", "pstn-gw") if trunk is None else (
        trunk.device, trunk.endpoint)
    params["trunk_requested"] = [f"{trunk_device}/{customer}"]
    params["trunk_dial"] = [f"{trunk_peer}/{customer}"]
    params["trunk_device"] = [trunk_device]
    params["customer"] = [customer]
    if name:
        params["name"] = [name]
    if number:
        params["did"] = [number]
    if spec.agent:
        params["agent_endpoint"] = [spec.agent]
        params["agent_ext"] = [endpoint_ext(spec.agent)]
    if spec.exten_param:
        params["exten"] = [sent["Exten"]]
    for var, value in variables:
        if value:
            params[f"var:{var}"] = [value]
    template = compile_template(events, params, first_uniqueid=originated)

    names = {var for var, _ in variables}
    infos: list[EventVars] = []
    group_started = group_over = False
    for ev in events:
        h = ev.headers
        own = h.get("Uniqueid") == originated
        group = 0
        if h.get("Event") == "VarSet" and own and h.get("Variable") in names and not group_over:
            group = 2 if group_started else 1
            group_started = True
        elif group_started:
            group_over = True
        infos.append(EventVars(own, h.get("DestUniqueid") == originated, group_over, group))

    phases: dict[str, tuple[int, float]] = {}
    waits = [(i, ev.time - prev.time) for i, (prev, ev) in enumerate(zip(events, events[1:]), 1)
             if prev.time is not None and ev.time is not None and ev.time - prev.time > PHASE_GAP]
    if len(waits) != len(spec.phases):
        raise ScenarioError(f"{spec.trace}: {len(waits)} waits recorded, the spec names "
                            f"{len(spec.phases)}")
    phases = dict(zip(spec.phases, waits))
    queue_index = None
    if key[0] is Order.CUSTOMER_FIRST and key[2] == oc.CONNECTED and spec.agent:
        queue_index = next(i for i, ev in enumerate(events)
                           if ev.headers.get("Event") == "Newchannel"
                           and ev.headers.get("Channel", "").startswith(spec.agent + "-"))
    response_index = next((i for i, ev in enumerate(events)
                           if ev.headers.get("Event") == "OriginateResponse"), None)
    return DialerTemplate(key, spec, template, tuple(infos), phases, queue_index, response_index,
                          _variables_of(events))


class DialerCatalogue:
    """Compiles each dialer template on first use and keeps it."""

    def __init__(self, traces_dir: Path = TRACES_DIR) -> None:
        self._dir = traces_dir
        self._templates: dict[tuple[Order, bool, str], DialerTemplate] = {}

    def template(self, order: Order, amd: bool, outcome: str) -> DialerTemplate:
        key = (order, amd, outcome)
        if key not in SPECS and order is Order.CUSTOMER_FIRST:
            key = (order, False, outcome)  # what happens before the answer does not depend on AMD
        if key not in SPECS:
            raise ScenarioError(f"no recorded dialer trace for {order} {outcome}"
                                + (" with AMD" if amd else ""))
        if key not in self._templates:
            self._templates[key] = compile_dialer(key, SPECS[key], self._dir)
        return self._templates[key]
