"""What an IVR call's channel carries in its AMI events, as manager.conf `channelvars` makes
Asterisk add them: one `ChanVariable: NAME=value` header per listed variable on every snapshot
of the channel that runs the `ivr` context, with the value it holds at that moment.

The recorded IVR trace predates these variables, so the simulator adds them while playing it:
IVR_STARTED from the call's start, IVR_PATH once the caller pressed the recorded digit,
QUEUE_ENTERED from QueueCallerJoin on, and whatever the FastAGI `lookup` set (SP_MATCH,
SP_PREINST_ID, …) from the start (the look-up runs before the menu).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from telephony.simulator.template import CompiledEvent, Template, render

# manager.conf channelvars, in its order: Asterisk sends every listed variable, empty when unset
CHANNEL_VARIABLES = ("CAMPAIGN_ID", "PREINST_ID", "SP_CALL", "SP_MATCH", "SP_PREINST_ID",
                     "IVR_PATH", "IVR_STARTED", "QUEUE_ENTERED")
DIALPLAN_DEFAULTS = {"SP_MATCH": "unknown"}  # extensions.conf sets it before the look-up
TERMINATOR = b"\r\n\r\n"

Annotate = Callable[[CompiledEvent, bytes], bytes]


def ivr_uniqueid(template: Template, values: list[bytes]) -> bytes:
    """The rendered Uniqueid of the channel that ran the menu and joined the queue."""
    for event in template.events:
        if event.name == "QueueCallerJoin":
            return render(event, values).split(b"\r\nUniqueid: ", 1)[1].split(b"\r\n", 1)[0]
    raise ValueError("the IVR trace has no QueueCallerJoin")


def ivr_annotator(template: Template, values: list[bytes], lookup: Mapping[str, str], *,
                  clock: Callable[[], float] = time.time) -> Annotate:
    """Adds the channel variables to the IVR channel's events as the call plays."""
    uniqueid_header = b"\r\nUniqueid: " + ivr_uniqueid(template, values) + b"\r\n"
    state = {**DIALPLAN_DEFAULTS, **lookup, "IVR_STARTED": str(int(clock()))}

    def annotate(event: CompiledEvent, data: bytes) -> bytes:
        if event.name == "DTMFEnd" and uniqueid_header in data:
            digit = data.split(b"\r\nDigit: ", 1)[1].split(b"\r\n", 1)[0].decode()
            state["IVR_PATH"] = state.get("IVR_PATH", "") + digit
        elif event.name == "QueueCallerJoin" and "QUEUE_ENTERED" not in state:
            state["QUEUE_ENTERED"] = str(int(clock()))
        if uniqueid_header not in data:
            return data
        lines = b"".join(f"\r\nChanVariable: {name}={state.get(name, '')}".encode()
                         for name in CHANNEL_VARIABLES)
        return data[:-len(TERMINATOR)] + lines + TERMINATOR

    return annotate
