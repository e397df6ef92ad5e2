"""The AMI dialogue over real TCP: login variants, Ping, lists, Originate, Hangup, faults."""
from __future__ import annotations

import hashlib
from pathlib import Path

from telephony.ami.frames import iter_messages
from telephony.simulator.catalogue import TRACES_DIR

from .amiclient import RawAmi


async def test_banner_and_plain_login(sim):
    ami = await RawAmi.connect(sim.port)
    assert ami.banner == b"Asterisk Call Manager/9.0.0\r\n"
    assert await ami.login() == {"Response": "Success", "ActionID": "login",
                                 "Message": "Authentication accepted"}
    booted = await ami.next()
    assert booted["Event"] == "FullyBooted" and booted["Status"] == "Fully Booted"
    assert sim.logins == 1 and sim.sessions_count == 1
    await ami.close()


async def test_no_fullybooted_without_system_class(sim):
    ami = await RawAmi.connect(sim.port)
    assert (await ami.login(events="call,agent"))["Response"] == "Success"
    ami.send(Action="Ping", ActionID="sentinel")
    assert (await ami.next())["ActionID"] == "sentinel"
    await ami.close()


async def test_md5_login(sim):
    ami = await RawAmi.connect(sim.port)
    ami.send(Action="Challenge", AuthType="MD5", ActionID="ch")
    challenge = await ami.next()
    assert challenge["Response"] == "Success" and challenge["ActionID"] == "ch"
    key = hashlib.md5((challenge["Challenge"] + "screenpop-demo").encode()).hexdigest()
    ami.send(Action="Login", AuthType="MD5", Username="screenpop", Key=key, ActionID="l")
    assert (await ami.next())["Message"] == "Authentication accepted"
    await ami.close()


async def test_md5_login_with_wrong_key_fails(sim):
    ami = await RawAmi.connect(sim.port)
    ami.send(Action="Challenge", AuthType="MD5")
    await ami.next()
    ami.send(Action="Login", AuthType="MD5", Username="screenpop", Key="0" * 32)
    assert (await ami.next())["Message"] == "Authentication failed"
    assert await ami.closed()


async def test_wrong_password_errors_then_closes(sim):
    ami = await RawAmi.connect(sim.port)
    assert await ami.login(secret="nope") == {"Response": "Error", "ActionID": "login",
                                              "Message": "Authentication failed"}
    assert await ami.closed()
    assert sim.logins == 0


async def test_actions_before_login_are_denied(sim):
    ami = await RawAmi.connect(sim.port)
    for action in ("Ping", "CoreShowChannels", "Originate"):
        ami.send(Action=action, ActionID=f"a-{action}")
        assert await ami.next() == {"Response": "Error", "ActionID": f"a-{action}",
                                    "Message": "Permission denied"}
    await ami.close()


async def test_ping_echoes_action_id(client):
    client.send(Action="Ping", ActionID="p-42")
    pong = await client.next()
    assert pong["Response"] == "Success" and pong["Ping"] == "Pong"
    assert pong["ActionID"] == "p-42" and float(pong["Timestamp"]) > 0


async def test_unknown_action(client):
    client.send(Action="FlyToTheMoon", ActionID="x")
    assert await client.next() == {"Response": "Error", "ActionID": "x",
                                   "Message": "Invalid/unknown command"}


async def test_logoff_says_goodbye_and_closes(client):
    client.send(Action="Logoff", ActionID="bye")
    assert await client.next() == {"Response": "Goodbye", "ActionID": "bye",
                                   "Message": "Thanks for all the fish."}
    assert await client.closed()


async def test_unanswered_pings(sim, client):
    sim.answer_pings = False
    client.send(Action="Ping", ActionID="unanswered")
    client.send(Action="Events", EventMask="on", ActionID="sentinel")
    assert (await client.next())["ActionID"] == "sentinel"
    sim.answer_pings = True
    client.send(Action="Ping", ActionID="answered")
    assert (await client.next())["Ping"] == "Pong"


async def test_drop_connections_resets_clients(sim, client):
    await sim.drop_connections()
    assert await client.closed()
    again = await RawAmi.connect(sim.port)
    assert (await again.login())["Response"] == "Success"
    assert sim.logins == 2
    await again.close()


async def test_send_raw_reaches_logged_in_sessions_only(sim, client):
    anonymous = await RawAmi.connect(sim.port)
    await sim.send_raw(b"Event: Garbage\r\nX: \xff\xfe\r\n\r\n")
    assert (await client.next())["Event"] == "Garbage"
    anonymous.send(Action="Ping", ActionID="sentinel")
    assert (await anonymous.next())["ActionID"] == "sentinel"
    await anonymous.close()


async def test_events_only_to_sessions_that_asked(sim, client):
    quiet = await RawAmi.connect(sim.port)
    await quiet.login(events="off")
    call = await sim.start_call("inbound_direct", agents=["PJSIP/6001"], speed=0.0)
    await call.wait_done()
    await client.until(lambda m: m.get("Event") == "Hangup"
                       and m.get("Uniqueid") == call.call_id)
    quiet.send(Action="Ping", ActionID="sentinel")
    assert (await quiet.next())["ActionID"] == "sentinel"
    await quiet.close()


def _trace_core_show_channel_fields() -> list[str]:
    data = (TRACES_DIR / "coreshowchannels-live-inbound.txt").read_bytes()
    item = next(m for m in iter_messages(data) if m.get("Event") == "CoreShowChannel")
    return list(item)


async def test_core_show_channels_with_a_held_call(sim, client):
    call = await sim.start_call("inbound_queue", customer="+525512345678", name="Juan Pérez",
                                agents=["PJSIP/6001", "PJSIP/6002"], queue="ventas",
                                strategy="ringall", answered_by="PJSIP/6001",
                                hold_at="answered", speed=0.0)
    await call.wait_held()
    assert call.state == "held"
    client.send(Action="CoreShowChannels", ActionID="csc")
    messages = await client.until(lambda m: m.get("Event") == "CoreShowChannelsComplete")
    start = next(m for m in messages if m.get("Response"))
    assert start == {"Response": "Success", "ActionID": "csc", "EventList": "start",
                     "Message": "Channels will follow"}
    items = [m for m in messages if m.get("Event") == "CoreShowChannel"]
    complete = messages[-1]
    assert complete == {"Event": "CoreShowChannelsComplete", "ActionID": "csc",
                        "EventList": "Complete", "ListItems": str(len(items))}
    expected_fields = _trace_core_show_channel_fields()
    assert all(list(item) == expected_fields for item in items)
    by_channel = {item["Channel"].rsplit("-", 1)[0]: item for item in items}
    assert set(by_channel) == {"SIP/pstn-gw", "PJSIP/6001"}
    customer, agent = by_channel["SIP/pstn-gw"], by_channel["PJSIP/6001"]
    assert customer["Uniqueid"] == call.call_id == agent["Linkedid"]
    assert customer["CallerIDNum"] == "+525512345678" and customer["CallerIDName"] == "Juan Pérez"
    assert customer["BridgeId"] and customer["BridgeId"] == agent["BridgeId"]
    assert agent["ChannelStateDesc"] == "Up" and agent["Application"] == "AppQueue"
    await call.release()
    await call.wait_done()
    client.send(Action="CoreShowChannels", ActionID="after")
    messages = await client.until(lambda m: m.get("Event") == "CoreShowChannelsComplete")
    assert messages[-1]["ListItems"] == "0"


async def test_hangup_action_ends_a_held_call(sim, client):
    call = await sim.start_call("inbound_direct", customer="5598765432",
                                agents=["PJSIP/6001"], hold_at="answered", speed=0.0)
    await call.wait_held()
    played = await client.until(lambda m: m.get("Event") == "BridgeEnter"
                                and m.get("BridgeNumChannels") == "2")
    live = {}
    for m in played:
        if m.get("Event") == "Newchannel":
            live[m["Uniqueid"]] = m["Channel"]
        elif m.get("Event") == "Hangup":
            live.pop(m["Uniqueid"])
    agent_channel = next(ch for ch in live.values() if ch.startswith("PJSIP/6001-"))
    client.send(Action="Hangup", Channel=agent_channel, ActionID="h")
    messages = await client.until(lambda m: m.get("ActionID") == "h")
    assert messages[-1] == {"Response": "Success", "ActionID": "h", "Message": "Channel Hungup"}
    hangups = [await client.next() for _ in live]
    assert all(m["Event"] == "Hangup" for m in hangups)
    assert {m["Uniqueid"] for m in hangups} == set(live)
    await call.wait_done()
    assert call.state == "hungup" and sim.live_calls() == []
    client.send(Action="Hangup", Channel=agent_channel, ActionID="again")
    assert (await client.next())["Message"] == "No such channel"


async def test_originate_plays_the_dialer_with_channel_id(sim, client):
    client.send(Action="Originate", Channel="PJSIP/6003", Context="dialer", Exten="5533334444",
                Priority="1", CallerID='"Campaña 7" <5550002000>', Async="true",
                ChannelId="agent-leg-1", ActionID="orig-1")
    first = await client.next()
    assert first == {"Response": "Success", "ActionID": "orig-1",
                     "Message": "Originate successfully queued"}
    events = await client.until(lambda m: m.get("Event") == "OriginateResponse")
    newchannel = events[0]
    assert newchannel["Event"] == "Newchannel" and newchannel["Uniqueid"] == "agent-leg-1"
    assert newchannel["Channel"].startswith("PJSIP/6003-")
    response = events[-1]
    assert response["ActionID"] == "orig-1" and response["Response"] == "Success"
    assert response["Reason"] == "4" and response["Uniqueid"] == "agent-leg-1"
    assert response["Exten"] == "5533334444" and response["CallerIDName"] == "Campaña 7"
    rest = await client.until(lambda m: m.get("Event") == "Hangup"
                              and m.get("Uniqueid") == "agent-leg-1")
    dials = [m for m in rest if m.get("Event") == "DialBegin" and m.get("Channel")]
    # the agent's channel dials the customer over the trunk (extensions.conf [dialer])
    assert dials and dials[0]["DialString"] == "5533334444@trunk"
    assert dials[0]["DestChannel"].startswith("PJSIP/trunk-")


async def test_trace_dir_has_the_recorded_traces():
    assert (Path(TRACES_DIR) / "sip-trunk-inbound-queue.txt").is_file()
