"""Dialer Originates over TCP against the simulator, answered as Asterisk 20 answered the recorded
ones (shared/fixtures/ami/dialer, copied in telephony/simulator/traces/dialer): what comes back is
fed to the dialer's own attempt tracker, which must find the expected outcome."""
from __future__ import annotations

import asyncio
import re
from collections import Counter

import pytest

from common.dialer.outcomes import Order, Outcome
from telephony.ami.frames import encode, join_repeated, parse_block
from telephony.channels import EndpointMatcher
from telephony.dialer.attempts import AttemptTracker
from telephony.simulator import PbxSimulator
from telephony.simulator import dialer_outcomes as oc
from telephony.simulator.__main__ import build_dialer, build_parser
from telephony.simulator.catalogue import TRACES_DIR
from telephony.simulator.control import create_control_app
from telephony.simulator.dialer import DialerFloor, DialerSettings
from telephony.simulator.dialer_catalogue import SPECS, sent_originate
from telephony.simulator.template import call_events, read_trace
from telephony.tracker import CallTracker

from .amiclient import RawAmi

CUSTOMER = "5215587651234"
CALLER_ID = '"Campaña 12" <5550002000>'
AGENT_CONTEXT = {"Context": "dialer", "Priority": "1"}
CUSTOMER_CONTEXT = {"Context": "dialer-connect", "Priority": "1"}


def agent_first(agent: str = "PJSIP/6001", customer: str = CUSTOMER, **extra: str
                ) -> dict[str, str]:
    return {"Channel": agent, "Exten": customer, **AGENT_CONTEXT, "CallerID": CALLER_ID,
            "Timeout": "30000", "Async": "true", **extra}


def customer_first(customer: str = CUSTOMER, exten: str = "ventas", **extra: str
                   ) -> dict[str, str]:
    return {"Channel": f"PJSIP/{customer}@trunk", "Exten": exten, **CUSTOMER_CONTEXT,
            "CallerID": CALLER_ID, "Timeout": "30000", "Async": "true", **extra}


class Dialer:
    """What a dialer does on its AMI session: expect the attempt in the tracker, write the
    Originate, feed every message back, until the tracker reports the attempt."""

    def __init__(self, client: RawAmi) -> None:
        self.client = client
        self.tracker = AttemptTracker()
        self.count = 0

    def send(self, headers: dict[str, str], *, order: Order,
             variables: list[str] | None = None) -> str:
        self.count += 1
        action_id = headers.get("ActionID") or f"attempt-{self.count}"
        self.tracker.expect(action_id, action_id=action_id, order=order,
                            channel_id=headers.get("ChannelId"))
        pairs = [("Action", "Originate")] + [(k, v) for k, v in headers.items()
                                             if k != "ActionID"]
        pairs += [("Variable", v) for v in (variables or [])]
        pairs.append(("ActionID", action_id))
        self.client.writer.write(encode(pairs))
        return action_id

    async def result(self, action_id: str):
        messages = []
        while True:
            message = await self.client.next()
            messages.append(message)
            for key, result in self.tracker.feed(message):
                if key == action_id:
                    return result, messages

    async def call(self, headers: dict[str, str], *, order: Order,
                   variables: list[str] | None = None):
        return await self.result(self.send(headers, order=order, variables=variables))


@pytest.fixture
def dialer(client):
    return Dialer(client)


def settings(**kwargs) -> DialerSettings:
    return DialerSettings(**kwargs)


@pytest.mark.parametrize(("headers", "order", "outcome", "expected"), [
    (agent_first(), Order.AGENT_FIRST, oc.CONNECTED, Outcome.CONNECTED),
    (agent_first(), Order.AGENT_FIRST, oc.AGENT_UNREACHABLE, Outcome.AGENT_REJECTED),
    (agent_first(), Order.AGENT_FIRST, oc.BUSY, Outcome.BUSY),
    (agent_first(), Order.AGENT_FIRST, oc.NO_ANSWER, Outcome.NO_ANSWER),
    (agent_first(), Order.AGENT_FIRST, oc.NOT_FOUND, Outcome.INVALID_NUMBER),
    (agent_first(), Order.AGENT_FIRST, oc.AGENT_NO_ANSWER, Outcome.AGENT_REJECTED),
    (customer_first(), Order.CUSTOMER_FIRST, oc.CONNECTED, Outcome.CONNECTED),
    (customer_first(), Order.CUSTOMER_FIRST, oc.BUSY, Outcome.BUSY),
    (customer_first(), Order.CUSTOMER_FIRST, oc.NO_ANSWER, Outcome.NO_ANSWER),
    (customer_first(), Order.CUSTOMER_FIRST, oc.NOT_FOUND, Outcome.INVALID_NUMBER),
    (customer_first(exten="amd"), Order.CUSTOMER_FIRST, oc.MACHINE, Outcome.MACHINE),
    (customer_first(exten="amd"), Order.CUSTOMER_FIRST, oc.CONNECTED, Outcome.CONNECTED),
    (customer_first(exten="amd"), Order.CUSTOMER_FIRST, oc.BUSY, Outcome.BUSY),
], ids=["agent-first", "agent-unreachable", "agent-first-busy", "agent-first-no-answer",
        "agent-first-not-found", "agent-no-answer",
        "customer-first", "busy", "no-answer", "not-found",
        "amd-machine", "amd-human", "amd-busy"])
async def test_forced_outcome_reaches_the_tracker(sim, dialer, headers, order, outcome, expected):
    sim.dialer.picker.force_next(CUSTOMER, outcome)
    result, _ = await dialer.call({**headers, "ChannelId": "att-1"}, order=order,
                                  variables=["CAMPAIGN_ID=c12,PREINST_ID=901"])
    assert result.outcome is expected
    assert not result.abandoned


async def test_a_peer_that_does_not_exist_is_unreachable_as_recorded(sim, dialer):
    result, messages = await dialer.call(agent_first("PJSIP/6099", ChannelId="c12-7-agent"),
                                         order=Order.AGENT_FIRST)
    assert result.outcome is Outcome.AGENT_REJECTED
    assert [m.get("Event") or m.get("Response") for m in messages] == [
        "Success", "OriginateResponse"]
    response = messages[-1]
    assert response["Response"] == "Failure" and response["Reason"] == "0"
    assert response["Channel"] == "PJSIP/6099" and response["Uniqueid"] == "c12-7-agent"


async def test_channel_id_is_the_uniqueid_and_every_legs_linkedid(sim, dialer):
    for headers, order, channel_id in (
            (agent_first(), Order.AGENT_FIRST, "c12-1-agent"),
            (customer_first(), Order.CUSTOMER_FIRST, "c12-1-customer")):
        result, messages = await dialer.call({**headers, "ChannelId": channel_id,
                                              "OtherChannelId": channel_id + "-2"}, order=order)
        assert result.outcome is Outcome.CONNECTED
        channels = [m for m in messages if m.get("Event") == "Newchannel"]
        assert channels[0]["Uniqueid"] == channel_id
        assert len(channels) == 2 and channels[1]["Uniqueid"] != channel_id + "-2"
        linked = {m["Linkedid"] for m in messages if "Linkedid" in m}
        assert linked == {channel_id}
        response = next(m for m in messages if m.get("Event") == "OriginateResponse")
        assert response["Uniqueid"] == channel_id


async def test_without_channel_id_the_ids_are_asterisk_style(sim, dialer):
    result, messages = await dialer.call(customer_first(), order=Order.CUSTOMER_FIRST)
    assert result.outcome is Outcome.CONNECTED
    first = next(m for m in messages if m.get("Event") == "Newchannel")
    seconds, _, sequence = first["Uniqueid"].partition(".")
    assert seconds.isdigit() and sequence.isdigit() and first["Linkedid"] == first["Uniqueid"]


def variables_of(block: bytes, key: str = "ChanVariable") -> dict[str, str]:
    _, repeated = parse_block(block)
    return dict(item.split("=", 1) for item in repeated.get(key, []))


async def read_call(client: RawAmi, legs: int = 2) -> list[bytes]:
    """Raw blocks (repeated headers kept) until `legs` channels have hung up."""
    blocks, hangups = [], 0
    while hangups < legs:
        data = await asyncio.wait_for(client.reader.read(65536), 10)
        assert data, "the simulator closed the connection"
        for block in client._frames.feed(data):
            blocks.append(block)
            hangups += parse_block(block)[0].get("Event") == "Hangup"
    return blocks


@pytest.mark.parametrize(("headers", "variables"), [
    (agent_first(ChannelId="v-agent"), ["CAMPAIGN_ID=c12", "PREINST_ID=901", "SP_CALL=x-1"]),
    (customer_first(ChannelId="v-customer"), ["CAMPAIGN_ID=c12,PREINST_ID=901,SP_CALL=x-1"]),
], ids=["agent-first-repeated-headers", "customer-first-comma-joined"])
async def test_variables_are_on_the_originated_channel_only(sim, client, headers, variables):
    channel_id = headers["ChannelId"]
    pairs = [("Action", "Originate"), *headers.items(), *(("Variable", v) for v in variables),
             ("ActionID", "vars")]
    client.writer.write(encode(pairs))
    blocks = await read_call(client)
    expected = {"CAMPAIGN_ID": "c12", "PREINST_ID": "901", "SP_CALL": "x-1"}
    empty = dict.fromkeys(expected, "")
    own = [b for b in blocks if parse_block(b)[0].get("Uniqueid") == channel_id]
    assert variables_of(own[0]) == empty  # Newchannel: not set yet
    sets = [parse_block(b)[0] for b in own if parse_block(b)[0].get("Variable") in expected]
    assert [(h["Variable"], h["Value"]) for h in sets] == [
        ("SP_CALL", "x-1"), ("PREINST_ID", "901"), ("CAMPAIGN_ID", "c12")]
    varsets = [b for b in own if parse_block(b)[0].get("Variable") in expected]
    assert variables_of(varsets[0]) == {**empty, "SP_CALL": "x-1"}
    assert variables_of(varsets[-1]) == expected
    after = [b for b in own[own.index(varsets[-1]) + 1:]
             if parse_block(b)[0].get("Event") != "OriginateResponse"]
    assert after and [b for b in after if variables_of(b) != expected] == []
    others = [b for b in blocks if parse_block(b)[0].get("Uniqueid") not in (None, channel_id)
              and b"\r\nChanVariable: " in b]
    assert others and all(variables_of(b) == empty for b in others)
    response = next(b for b in blocks if parse_block(b)[0].get("Event") == "OriginateResponse")
    assert b"): CAMPAIGN_ID=c12\r\n" in response
    for block in blocks:
        if parse_block(block)[0].get("DestUniqueid") not in (None, channel_id):
            assert variables_of(block, "DestChanVariable") in ({}, empty)


async def test_connected_customer_first_presents_the_campaign_caller_id(sim, dialer):
    result, messages = await dialer.call(customer_first(ChannelId="cid-1"),
                                         order=Order.CUSTOMER_FIRST)
    assert result.outcome is Outcome.CONNECTED
    customer = [m for m in messages if m.get("Uniqueid") == "cid-1" and m.get("Event") == "Hangup"]
    assert customer[0]["CallerIDNum"] == "5550002000"
    assert customer[0]["CallerIDName"] == "Campaña 12"
    dial = next(m for m in messages if m.get("Event") == "DialBegin")
    assert dial["DialString"] == f"{CUSTOMER}@trunk"
    assert dial["DestChannel"].startswith("PJSIP/trunk-")
    connect = next(m for m in messages if m.get("Event") == "AgentConnect")
    assert connect["Interface"] == "PJSIP/6001" and connect["Queue"] == "ventas"


async def test_synchronous_originate_that_fails_gets_only_an_error(sim, client):
    client.send(Action="Originate", **agent_first("PJSIP/6099", Async="false"), ActionID="sync")
    client.send(Action="Ping", ActionID="after")
    messages = await client.until(lambda m: m.get("ActionID") == "after")
    assert messages[0] == {"Response": "Error", "ActionID": "sync",
                           "Message": "Originate failed"}
    assert [m for m in messages if m.get("Event") == "OriginateResponse"] == []


async def test_synchronous_originate_answers_once_the_channel_is_up(sim, client):
    sim.dialer.picker.force_next(CUSTOMER, oc.BUSY)
    client.send(Action="Originate", **customer_first(ChannelId="sync-busy", Async="false"),
                ActionID="s1")
    busy = await client.until(lambda m: m.get("ActionID") == "s1")
    assert busy[-1] == {"Response": "Error", "ActionID": "s1", "Message": "Originate failed"}
    # the busy customer's channel events still went out, its OriginateResponse did not
    assert any(m.get("Event") == "DialEnd" and m.get("DialStatus") == "BUSY" for m in busy)
    assert [m for m in busy if m.get("Event") == "OriginateResponse"] == []
    client.send(Action="Originate", **agent_first(ChannelId="sync-ok", Async="no"),
                ActionID="s2")
    before = await client.until(lambda m: m.get("ActionID") == "s2")
    assert before[-1] == {"Response": "Success", "ActionID": "s2",
                          "Message": "Originate successfully queued"}
    # the agent answered before the reply, and no OriginateResponse is sent
    assert any(m.get("Event") == "Newstate" and m.get("ChannelStateDesc") == "Up"
               for m in before)
    rest = await client.until(lambda m: m.get("Event") == "Hangup"
                              and m.get("Uniqueid") == "sync-ok")
    assert [m for m in before + rest if m.get("Event") == "OriginateResponse"] == []


async def test_outcome_mix_follows_the_weights_with_a_seed(sim, dialer):
    weights = {oc.CONNECTED: 50, oc.NO_ANSWER: 20, oc.BUSY: 20, oc.NOT_FOUND: 10}
    sim.dialer.configure({"weights": weights, "seed": 7})
    reference = oc.OutcomePicker(weights, seed=7)
    expected = Counter(reference.pick(f"52155{i:08d}", Order.CUSTOMER_FIRST, amd=False)
                       for i in range(200))
    seen = Counter()
    for i in range(200):
        result, _ = await dialer.call(customer_first(f"52155{i:08d}"),
                                      order=Order.CUSTOMER_FIRST)
        seen[result.outcome] += 1
    assert seen == Counter({Outcome.CONNECTED: expected[oc.CONNECTED],
                            Outcome.NO_ANSWER: expected[oc.NO_ANSWER],
                            Outcome.BUSY: expected[oc.BUSY],
                            Outcome.INVALID_NUMBER: expected[oc.NOT_FOUND]})
    # and the draw is the weights' mix (binomial spread over 200 calls)
    assert 80 <= seen[Outcome.CONNECTED] <= 120 and 8 <= seen[Outcome.INVALID_NUMBER] <= 32
    assert sim.dialer.placed[oc.CONNECTED] == seen[Outcome.CONNECTED]


def test_weights_and_outcome_names_are_checked():
    assert oc.parse_weights("connected=60,busy=10") == {"connected": 60.0, "busy": 10.0}
    for text in ("connected", "connected=x", "hello=3", "connected=0", "busy=-1"):
        with pytest.raises(oc.OutcomeError):
            oc.parse_weights(text)


def test_a_rule_holds_for_every_call_and_a_forced_outcome_once():
    picker = oc.OutcomePicker({oc.CONNECTED: 1})
    picker.set_rule("1", oc.BUSY)
    picker.force_next("2", oc.NOT_FOUND)
    picker.force_next("2", oc.NO_ANSWER)
    assert [picker.pick("1", Order.CUSTOMER_FIRST, amd=False) for _ in range(3)] == [oc.BUSY] * 3
    assert [picker.pick("2", Order.CUSTOMER_FIRST, amd=False) for _ in range(3)] == [
        oc.NOT_FOUND, oc.NO_ANSWER, oc.CONNECTED]
    # machine only with AMD, unreachable only agent first
    picker = oc.OutcomePicker({oc.MACHINE: 1, oc.AGENT_UNREACHABLE: 1}, seed=1)
    assert {picker.pick("3", Order.CUSTOMER_FIRST, amd=False) for _ in range(20)} == {oc.CONNECTED}
    assert {picker.pick("3", Order.AGENT_FIRST, amd=False)
            for _ in range(20)} == {oc.AGENT_UNREACHABLE}
    assert {picker.pick("3", Order.CUSTOMER_FIRST, amd=True) for _ in range(20)} == {oc.MACHINE}


@pytest.fixture
async def timed_sim():
    """Real time, short waits: a 50 ms ring, a 50 ms agent ring, a long talk."""
    floor = DialerFloor(settings(members=["PJSIP/6001", "PJSIP/6002"], ring_seconds=0.05,
                                 agent_ring_seconds=0.05, talk_seconds=30.0))
    simulator = PbxSimulator(port=0, login_failure_delay=0.05, default_speed=1.0, dialer=floor)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def timed_client(timed_sim):
    ami = await RawAmi.connect(timed_sim.port)
    assert (await ami.login())["Message"] == "Authentication accepted"
    await ami.next()
    yield ami
    await ami.close()


async def test_customer_first_never_rings_a_busy_agent(timed_sim, timed_client):
    dialer = Dialer(timed_client)
    # 6001 is on an agent-first call
    first = dialer.send(agent_first("PJSIP/6001", ChannelId="busy-6001"), order=Order.AGENT_FIRST)
    bridged = await timed_client.until(lambda m: m.get("Event") == "BridgeEnter"
                                       and m.get("BridgeNumChannels") == "2")
    second = dialer.send(customer_first("5215500000002", ChannelId="to-6002"),
                         order=Order.CUSTOMER_FIRST)
    messages = await timed_client.until(lambda m: m.get("Event") == "AgentConnect")
    assert {m["Interface"] for m in messages if m.get("Event") == "AgentCalled"} == {"PJSIP/6002"}
    # both busy: the next customer waits in the queue until one hangs up
    third = dialer.send(customer_first("5215500000003", ChannelId="waits"),
                        order=Order.CUSTOMER_FIRST)
    joined = await timed_client.until(lambda m: m.get("Event") == "QueueCallerJoin")
    assert joined[-1]["Uniqueid"] == "waits"
    assert timed_sim.dialer.free_member(timed_sim.busy_endpoints()) is None
    agent_channel = next(m["Channel"] for m in bridged
                         if m.get("Event") == "Newstate" and m.get("Uniqueid") == "busy-6001")
    timed_client.send(Action="Hangup", Channel=agent_channel, ActionID="free-6001")
    tail = await timed_client.until(lambda m: m.get("Event") == "AgentConnect")
    called = [m for m in tail if m.get("Event") == "AgentCalled"]
    assert [m["Interface"] for m in called] == ["PJSIP/6001"] and called[0]["Uniqueid"] == "waits"
    for m in bridged + messages + joined + tail:
        dialer.tracker.feed(m)
    assert dialer.tracker.pending == 2  # the first is over (hung up), two calls are talking
    for call in timed_sim.live_calls():
        await timed_sim.hangup(call.call_id)
    results = {}
    while len(results) < 2:
        for key, result in dialer.tracker.feed(await timed_client.next()):
            results[key] = result.outcome
    assert results == {second: Outcome.CONNECTED, third: Outcome.CONNECTED}
    assert first not in results


async def test_talk_lasts_the_configured_seconds_then_hangs_up(timed_sim, timed_client):
    timed_sim.dialer.configure({"talk_seconds": 0.3})
    dialer = Dialer(timed_client)
    result, messages = await dialer.call(agent_first(ChannelId="talk"), order=Order.AGENT_FIRST)
    assert result.outcome is Outcome.CONNECTED
    bridged = next(float(m["Timestamp"]) for m in messages if m.get("Event") == "BridgeEnter"
                   and m.get("BridgeNumChannels") == "2")
    ended = next(float(m["Timestamp"]) for m in messages if m.get("Event") == "HangupRequest")
    # the configured 0.3 s between the bridge and the hang-up, not the recorded 3 s
    assert 0.25 <= ended - bridged < 2.5


async def test_an_agent_hung_up_while_ringing_is_a_rejected_attempt(timed_sim, timed_client):
    timed_sim.dialer.configure({"agent_ring_seconds": 30.0})
    dialer = Dialer(timed_client)
    action = dialer.send(agent_first(ChannelId="ringing"), order=Order.AGENT_FIRST)
    ringing = await timed_client.until(lambda m: m.get("Event") == "Newstate"
                                       and m.get("ChannelStateDesc") == "Ringing")
    for m in ringing:
        dialer.tracker.feed(m)
    timed_client.send(Action="Hangup", Channel=ringing[-1]["Channel"], ActionID="h")
    result, messages = await dialer.result(action)
    assert result.outcome is Outcome.AGENT_REJECTED
    response = next(m for m in messages if m.get("Event") == "OriginateResponse")
    assert response["Response"] == "Failure" and response["Reason"] == "1"
    assert response["Uniqueid"] == "ringing"


async def test_no_free_agent_within_the_queue_wait_is_abandoned(timed_sim, timed_client):
    timed_sim.dialer.configure({"members": [], "queue_wait_seconds": 0.2})
    dialer = Dialer(timed_client)
    result, messages = await dialer.call(customer_first(ChannelId="alone"),
                                         order=Order.CUSTOMER_FIRST)
    assert result.outcome is Outcome.ABANDONED and result.abandoned
    assert [m for m in messages if m.get("Event") == "AgentCalled"] == []
    tail = [m["Event"] for m in messages[-5:]]  # the tracker is done at the Hangup
    assert tail == ["HangupRequest", "MusicOnHoldStop", "QueueCallerAbandon", "QueueCallerLeave",
                    "Hangup"]
    abandon = messages[-3]
    assert abandon["Uniqueid"] == "alone" and abandon["Queue"] == "ventas"
    assert timed_sim.live_calls() == []


# -- the simulator's stream against each recorded trace ---------------------------------------

KEY_HEADERS = ("Event", "Response", "Reason", "DialStatus", "Cause", "Variable", "Value",
               "ChannelStateDesc", "Context", "Exten", "Application", "AppData", "State",
               "Device", "Disposition", "Queue", "Interface", "DialString", "CallerIDNum",
               "CallerIDName", "ConnectedLineNum")


SUFFIX = re.compile(r"-[0-9a-f]{8}\b")


def key_headers(message: dict[str, str]) -> dict[str, str | None]:
    """The compared headers, channel-name suffixes blanked (they are per call)."""
    return {k: SUFFIX.sub("-*", message[k]) if k in message else None for k in KEY_HEADERS}


def recorded(spec) -> list[dict[str, str]]:
    """The recorded call the simulator plays for `spec`, as a client saw it."""
    events = [ev for ev in call_events(read_trace((TRACES_DIR / spec.path).read_bytes()),
                                       keep_originate_response=True)
              if ev.headers.get("ActionID", spec.action_id) == spec.action_id
              and ev.headers.get("Event") != "PeerStatus"]
    if spec.response_only:
        events = [ev for ev in events if ev.headers.get("Event") == "OriginateResponse"]
    return [ev.headers for ev in events]


def sent(spec) -> dict[str, str]:
    headers = sent_originate(TRACES_DIR / spec.sent_path, spec.action_id)
    return {k: v for k, v in headers.items() if k != "Action"}


TRACE_CASES = list(SPECS)


@pytest.mark.parametrize("key", TRACE_CASES, ids=[SPECS[k].trace + "-" + k[2]
                                                  for k in TRACE_CASES])
async def test_the_stream_matches_the_recorded_trace(sim, client, key):
    """The recorded Originate, sent to a simulator set up like the recording's Asterisk (chan_sip
    agents 6001/6002 and trunk pstn-gw): same events, in the same order, with the same key
    headers; only ids, channel suffixes, bridges and timestamps are new."""
    spec, outcome = SPECS[key], key[2]
    sim.dialer.configure({"members": ["SIP/6001", "SIP/6002"], "trunk": "SIP/pstn-gw"})
    headers = sent(spec)
    number = headers["Exten"] if headers["Context"] == "dialer" else \
        headers["Channel"].rsplit("/", 1)[-1]
    sim.dialer.picker.force_next(number, outcome)
    client.send(Action="Originate", **headers)
    played = await client.until(lambda m: m.get("Event") == "OriginateResponse")
    client.send(Action="Ping", ActionID="end")
    played += await client.until(lambda m: m.get("ActionID") == "end")
    while sim.live_calls():
        await asyncio.sleep(0.01)
    client.send(Action="Ping", ActionID="end2")
    played += await client.until(lambda m: m.get("ActionID") == "end2")
    events = [m for m in played if m.get("Event")]
    expected = recorded(spec)
    assert [m["Event"] for m in events] == [m["Event"] for m in expected]
    for got, want in zip(events, expected):
        assert key_headers(got) == key_headers(want)
        if "ChannelId" in headers and "Linkedid" in want:
            assert got["Linkedid"] == want["Linkedid"] == headers["ChannelId"]


# -- control API and CLI ------------------------------------------------------------------------

@pytest.fixture
async def http(sim, aiohttp_client):
    return await aiohttp_client(create_control_app(sim))


async def test_control_api_forces_the_next_outcome_for_a_number(sim, http, dialer):
    response = await http.post("/dialer/outcomes", json={CUSTOMER: "busy"})
    assert response.status == 200
    assert (await response.json())["next"] == {CUSTOMER: ["busy"]}
    result, _ = await dialer.call(customer_first(), order=Order.CUSTOMER_FIRST)
    assert result.outcome is Outcome.BUSY
    result, _ = await dialer.call(customer_first(), order=Order.CUSTOMER_FIRST)
    assert result.outcome is Outcome.CONNECTED  # once only
    response = await http.post("/dialer/outcomes", json={"rules": {CUSTOMER: "not_found"}})
    assert (await response.json())["rules"] == {CUSTOMER: "not_found"}
    for _ in range(2):
        result, _ = await dialer.call(customer_first(), order=Order.CUSTOMER_FIRST)
        assert result.outcome is Outcome.INVALID_NUMBER
    await http.post("/dialer/outcomes", json={"rules": {CUSTOMER: None}})
    result, _ = await dialer.call(customer_first(), order=Order.CUSTOMER_FIRST)
    assert result.outcome is Outcome.CONNECTED
    state = await (await http.get("/dialer")).json()
    assert state["placed"] == {"busy": 1, "connected": 2, "not_found": 2}


async def test_control_api_sets_weights_delays_and_agents(sim, http, dialer):
    response = await http.post("/dialer/settings", json={
        "weights": {"busy": 1}, "seed": 3, "ring_seconds": 0.05, "talk_seconds": 0.2,
        "members": ["PJSIP/7001"], "unreachable": ["PJSIP/7002"], "trunk": "PJSIP/carrier"})
    assert response.status == 200
    state = await response.json()
    assert state["weights"] == {"busy": 1.0} and state["seed"] == 3
    assert state["ring_seconds"] == 0.05 and state["talk_seconds"] == 0.2
    assert state["members"] == ["PJSIP/7001"] and state["trunk"] == "PJSIP/carrier"
    result, _ = await dialer.call(customer_first(), order=Order.CUSTOMER_FIRST)
    assert result.outcome is Outcome.BUSY
    # an agent who is not a registered member cannot be reached
    await http.post("/dialer/settings", json={"weights": {"connected": 1}})
    result, _ = await dialer.call(agent_first("PJSIP/6001"), order=Order.AGENT_FIRST)
    assert result.outcome is Outcome.AGENT_REJECTED
    result, messages = await dialer.call(agent_first("PJSIP/7001"), order=Order.AGENT_FIRST)
    assert result.outcome is Outcome.CONNECTED
    dial = next(m for m in messages if m.get("Event") == "DialBegin" and m.get("Channel"))
    assert dial["DialString"] == f"{CUSTOMER}@carrier"
    # configured waits are real seconds even on a simulator playing as fast as possible
    bridged = next(float(m["Timestamp"]) for m in messages if m.get("Event") == "BridgeEnter"
                   and m.get("BridgeNumChannels") == "2")
    ended = next(float(m["Timestamp"]) for m in messages if m.get("Event") == "HangupRequest")
    assert ended - bridged >= 0.15


@pytest.mark.parametrize("body", [
    {"weights": {"connected": 0}}, {"weights": {"hello": 1}}, {"ring_seconds": -1},
    {"ring_seconds": "x"}, {"members": "PJSIP/6001"}, {"trunk": "trunk"}, {"seed": "s"},
    {"queue_wait_seconds": None}, {"colour": "red"}])
async def test_control_api_refuses_bad_settings_in_spanish_and_changes_nothing(sim, http, body):
    before = await (await http.get("/dialer")).json()
    response = await http.post("/dialer/settings", json={"talk_seconds": 9, **body})
    assert response.status == 400
    error = (await response.json())["error"]
    assert error.startswith(("No se aplicó ningún cambio", "Ajustes desconocidos"))
    assert await (await http.get("/dialer")).json() == before


async def test_control_api_refuses_an_unknown_outcome(sim, http):
    response = await http.post("/dialer/outcomes", json={CUSTOMER: "maybe"})
    assert response.status == 400
    assert "Resultado desconocido" in (await response.json())["error"]


async def test_control_api_hangs_up_a_dialer_call(timed_sim, timed_client, aiohttp_client):
    http = await aiohttp_client(create_control_app(timed_sim))
    dialer = Dialer(timed_client)
    action = dialer.send(customer_first(ChannelId="to-end"), order=Order.CUSTOMER_FIRST)
    bridged = await timed_client.until(lambda m: m.get("Event") == "BridgeEnter"
                                       and m.get("BridgeNumChannels") == "2")
    for m in bridged:
        dialer.tracker.feed(m)
    calls = (await (await http.get("/calls")).json())["calls"]
    assert [(c["call_id"], c["outcome"], c["agents"]) for c in calls] == [
        ("to-end", "connected", ["PJSIP/6001"])]
    assert (await http.delete("/calls/to-end")).status == 200
    result, _ = await dialer.result(action)
    assert result.outcome is Outcome.CONNECTED


def test_cli_flags_build_the_dialer_floor():
    args = build_parser().parse_args([
        "serve", "--dialer-outcomes", "connected=60,no_answer=15,busy=10,not_found=5,machine=5,"
        "agent_unreachable=5", "--seed", "42", "--dialer-ring-seconds", "4",
        "--dialer-talk-seconds", "20", "--dialer-agents", "PJSIP/6001,PJSIP/6002"])
    floor = build_dialer(args)
    assert floor.picker.weights == {"connected": 60, "no_answer": 15, "busy": 10,
                                    "not_found": 5, "machine": 5, "agent_unreachable": 5}
    assert floor.picker.seed == 42
    assert floor.settings.ring_seconds == 4 and floor.settings.talk_seconds == 20
    assert floor.settings.members == ["PJSIP/6001", "PJSIP/6002"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--dialer-outcomes", "connected=lots"])


# -- the screen-pop's call tracker sees a real dialer call ----------------------------------------

async def tracked_updates(client: RawAmi) -> list:
    """Every call update the screen-pop's tracker makes of the stream, until two legs hung up."""
    tracker = CallTracker(EndpointMatcher(["PJSIP/60*"]))
    updates = []
    for block in await read_call(client):
        updates += tracker.feed(join_repeated(*parse_block(block)))
    return updates


@pytest.mark.parametrize("headers", [agent_first(ChannelId="pop-a"),
                                     customer_first(ChannelId="pop-c")],
                         ids=["agent-first", "customer-first"])
async def test_the_screen_pop_tracker_sees_a_dialer_call_with_its_variables(sim, client, headers):
    pairs = [("Action", "Originate"), *headers.items(),
             ("Variable", "CAMPAIGN_ID=c12,PREINST_ID=901"), ("ActionID", "pop")]
    client.writer.write(encode(pairs))
    updates = await tracked_updates(client)
    assert updates and {u.call_id for u in updates} == {headers["ChannelId"]}
    assert all(u.direction == "outbound" for u in updates)
    assert all(u.variables == {"CAMPAIGN_ID": "c12", "PREINST_ID": "901"} for u in updates)
    assert updates[0].agents and "PJSIP/6001" in updates[0].agents
    assert updates[-1].state == "ended"
    if headers["Context"] == "dialer":
        # the agent's phone pops while it rings, before the customer is even dialled; the
        # number shows once the dialplan runs, as in the recorded agent-first call
        assert updates[0].state == "ringing"
        assert [u.customer_number for u in updates] == [None, None, CUSTOMER, CUSTOMER]


async def test_an_agent_ringing_longer_than_the_timeout_is_rejected(sim, dialer):
    sim.dialer.configure({"agent_ring_seconds": 5})
    result, messages = await dialer.call(agent_first(Timeout="100", ChannelId="slow-agent"),
                                         order=Order.AGENT_FIRST)
    assert result.outcome is Outcome.AGENT_REJECTED
    response = next(m for m in messages if m.get("Event") == "OriginateResponse")
    assert (response["Response"], response["Reason"]) == ("Failure", "3")
    assert response["Channel"] == "PJSIP/6001" and response["Uniqueid"] == "slow-agent"
    hangup = next(m for m in messages if m.get("Event") == "Hangup")
    assert hangup["Cause"] == "19" and hangup["Uniqueid"] == "slow-agent"
    assert [m for m in messages if m.get("Event") == "Newchannel"][1:] == []  # no customer leg


async def test_a_customer_ringing_longer_than_the_timeout_is_no_answer(sim, dialer):
    sim.dialer.configure({"ring_seconds": 5})
    result, messages = await dialer.call(customer_first(Timeout="100"), order=Order.CUSTOMER_FIRST)
    assert result.outcome is Outcome.NO_ANSWER
    response = next(m for m in messages if m.get("Event") == "OriginateResponse")
    assert response["Reason"] == "3" and response["Channel"] == f"PJSIP/{CUSTOMER}@trunk"


async def test_waiting_customers_get_the_freed_agent_in_arrival_order(timed_sim, timed_client):
    timed_sim.dialer.configure({"members": ["PJSIP/6001"]})
    dialer = Dialer(timed_client)
    dialer.send(agent_first(ChannelId="on-call"), order=Order.AGENT_FIRST)
    bridged = await timed_client.until(lambda m: m.get("Event") == "BridgeEnter"
                                       and m.get("BridgeNumChannels") == "2")
    for channel_id in ("first", "second"):
        dialer.send(customer_first(f"52155000000{len(channel_id):02d}", ChannelId=channel_id),
                    order=Order.CUSTOMER_FIRST)
        await timed_client.until(lambda m, c=channel_id: m.get("Event") == "QueueCallerJoin"
                                 and m.get("Uniqueid") == c)
    for _ in range(100):  # QueueCallerJoin goes out a moment before the queue looks for members
        if timed_sim.dialer.state()["waiting_in_queue"] == 2:
            break
        await asyncio.sleep(0.01)
    assert timed_sim.dialer.state()["waiting_in_queue"] == 2
    agent = next(m["Channel"] for m in bridged if m.get("Uniqueid") == "on-call")
    timed_client.send(Action="Hangup", Channel=agent, ActionID="free")
    called = await timed_client.until(lambda m: m.get("Event") == "AgentCalled")
    assert called[-1]["Uniqueid"] == "first"
    assert timed_sim.dialer.state()["waiting_in_queue"] == 1


async def test_core_show_channels_mid_call_lists_both_legs_with_the_variables(timed_sim,
                                                                            timed_client):
    """What a listener that reconnects mid-call resynchronises from."""
    dialer = Dialer(timed_client)
    pairs = [("Action", "Originate"), *customer_first(ChannelId="resync").items(),
             ("Variable", "CAMPAIGN_ID=c12,PREINST_ID=901"), ("ActionID", "r1")]
    timed_client.writer.write(encode(pairs))
    await timed_client.until(lambda m: m.get("Event") == "BridgeEnter"
                             and m.get("BridgeNumChannels") == "2")
    dialer.client.send(Action="CoreShowChannels", ActionID="show")
    blocks = []
    while not any(parse_block(b)[0].get("Event") == "CoreShowChannelsComplete" for b in blocks):
        data = await asyncio.wait_for(timed_client.reader.read(65536), 10)
        blocks += list(timed_client._frames.feed(data))
    items = {parse_block(b)[0]["Uniqueid"]: b for b in blocks
             if parse_block(b)[0].get("Event") == "CoreShowChannel"}
    assert set(items) >= {"resync"} and len(items) == 2
    assert variables_of(items["resync"]) == {"CAMPAIGN_ID": "c12", "PREINST_ID": "901",
                                             "SP_CALL": ""}
    agent = next(b for uid, b in items.items() if uid != "resync")
    assert parse_block(agent)[0]["Channel"].startswith("PJSIP/6001-")
    assert parse_block(agent)[0]["Linkedid"] == "resync"
    assert variables_of(agent) == {"CAMPAIGN_ID": "", "PREINST_ID": "", "SP_CALL": ""}
