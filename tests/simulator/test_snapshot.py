"""The simulator's CoreShowChannels answer, field by field against what Asterisk 20 answered.

A recorded call is played through the simulator's own pipeline (the trace as the catalogue reads
it, the compiled template rendered with the recorded ids, the live-channel table) up to the moment
a real client asked CoreShowChannels, and the simulator's answer is compared with the recorded one.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from telephony.ami.frames import iter_messages
from telephony.simulator.catalogue import TRACES_DIR
from tests.telephony.replay import simulated_answer


def recorded_answer(path: Path) -> list[dict[str, str]]:
    return [m for m in iter_messages(path.read_bytes()) if m.get("Event") == "CoreShowChannel"]


def asked_at(path: Path) -> float:
    """The timestamp of the last event before the recorded answer."""
    stamp = None
    for message in iter_messages(path.read_bytes()):
        if message.get("Event") == "CoreShowChannel":
            return stamp
        if message.get("Timestamp"):
            stamp = float(message["Timestamp"])
    raise AssertionError("no CoreShowChannels answer in the trace")


CASES = {
    # played, answer, where the answer sits in a stream, its ActionID, Duration comparable
    # a session that logged in mid-call and asked at once (its SuccessfulAuth is the last
    # event before the answer), compared with the stream of a session connected all along
    "reconnect": ("reconnect.listener.txt", "reconnect.txt", "reconnect.txt", "reconnect-csc",
                  True),
    # asked mid-call on the same session some quiet seconds after the last event: when exactly
    # is not recorded, so Duration cannot be compared
    "local-inbound-queue": ("local-inbound-queue.txt", "local-inbound-queue.txt",
                            "local-inbound-queue.txt", "csc-1", False),
    "coreshowchannels-live-inbound": ("local-inbound-queue.txt",
                                      "coreshowchannels-live-inbound.txt",
                                      "local-inbound-queue.txt", "csc-1", False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_core_show_channels_matches_asterisk_field_by_field(case):
    played, answered, positioned, action_id, timed = CASES[case]
    real = recorded_answer(TRACES_DIR / answered)
    when = asked_at(TRACES_DIR / positioned)
    simulated = {item["Uniqueid"]: item for item in simulated_answer(TRACES_DIR / played, when,
                                                                      action_id)}
    assert sorted(simulated) == sorted(item["Uniqueid"] for item in real)
    for item in real:
        mine = simulated[item["Uniqueid"]]
        assert list(mine) == list(item), item["Channel"]
        different = {key: (item[key], mine[key]) for key in item
                     if item[key] != mine[key] and (timed or key != "Duration")}
        assert different == {}, item["Channel"]
