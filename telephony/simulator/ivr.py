"""What an IVR call's channel carries in its AMI events, as manager.conf `channelvars` makes
Asterisk add them: one `ChanVariable: NAME=value` header per listed variable on every snapshot
of the channel that runs the IVR, with the value it holds at that moment.

The recorded IVR trace predates these variables, so the simulator adds them while playing it:
IVR_STARTED from the call's start, IVR_PATH as the caller presses keys (each DTMF adds the
scenario's next symbol: the digit of the menu, `c` for «call me back»; after hours the path
starts at `cerrado`), QUEUE_ENTERED from QueueCallerJoin on, and whatever the FastAGI `lookup`
set (SP_MATCH, SP_PREINST_ID, …) from the start (the look-up runs before the menu).

The same goes for a call the simulator places for an AMI Originate: Asterisk puts the action's
`Variable`s on the channel it originates, so they appear on that channel's events.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from telephony.simulator.template import CompiledEvent, Template, render

# manager.conf channelvars, in its order: Asterisk sends every listed variable, empty when unset
CHANNEL_VARIABLES = ("CAMPAIGN_ID", "PREINST_ID", "SP_CALL", "SP_MATCH", "SP_PREINST_ID",
                     "IVR_PATH", "IVR_STARTED", "QUEUE_ENTERED", "SP_CALLBACK")
DIALPLAN_DEFAULTS = {"SP_MATCH": "unknown"}  # extensions.conf sets it before the look-up
TERMINATOR = b"\r\n\r\n"

Annotate = Callable[[CompiledEvent, bytes], bytes]


def channel_uniqueid(template: Template, values: list[bytes]) -> bytes:
    """The rendered Uniqueid of the channel that ran the IVR: the one the caller's keys reach
    (and that joins the queue), else the one that answered the call."""
    for names in (("QueueCallerJoin", "DTMFEnd"), ("Newstate",)):
        for event in template.events:
            if event.name in names:
                return render(event, values).split(b"\r\nUniqueid: ", 1)[1].split(b"\r\n", 1)[0]
    raise ValueError("the IVR trace has no channel that runs the IVR")


def first_uniqueid(template: Template, values: list[bytes]) -> bytes:
    return values[1 + template.uniqueids.index(template.first_channel_uniqueid)]


def with_variables(data: bytes, state: Mapping[str, str]) -> bytes:
    lines = b"".join(f"\r\nChanVariable: {name}={state.get(name, '')}".encode()
                     for name in CHANNEL_VARIABLES)
    return data[:-len(TERMINATOR)] + lines + TERMINATOR


class IvrChannel:
    """The IVR channel's variables as the call plays (`state`), and the annotator that adds them
    to its events. `path_steps`: the IVR_PATH symbol each key press adds, in order (None: the
    digit itself)."""

    def __init__(self, template: Template, values: list[bytes], lookup: Mapping[str, str], *,
                 path: str = "", path_steps: Sequence[str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._header = b"\r\nUniqueid: " + channel_uniqueid(template, values) + b"\r\n"
        self._steps = list(path_steps) if path_steps is not None else None
        self.state = {**DIALPLAN_DEFAULTS, **lookup, "IVR_STARTED": str(int(clock()))}
        if path:
            self.state["IVR_PATH"] = path
        self._clock = clock

    def annotate(self, event: CompiledEvent, data: bytes) -> bytes:
        state = self.state
        if event.name == "DTMFEnd" and self._header in data:
            digit = data.split(b"\r\nDigit: ", 1)[1].split(b"\r\n", 1)[0].decode()
            symbol = self._steps.pop(0) if self._steps else digit
            state["IVR_PATH"] = state.get("IVR_PATH", "") + symbol
        elif event.name == "QueueCallerJoin" and "QUEUE_ENTERED" not in state:
            state["QUEUE_ENTERED"] = str(int(self._clock()))
        if self._header not in data:
            return data
        return with_variables(data, state)


def originate_annotator(template: Template, values: list[bytes],
                        variables: Mapping[str, str]) -> Annotate:
    """Adds an Originate's channel variables to the events of the channel it originated. As on
    Asterisk 20, its Newchannel carries them empty: they are set just after it is created."""
    header = b"\r\nUniqueid: " + first_uniqueid(template, values) + b"\r\n"
    state = dict(variables)

    def annotate(event: CompiledEvent, data: bytes) -> bytes:
        if header not in data:
            return data
        return with_variables(data, {} if event.name == "Newchannel" else state)

    return annotate
