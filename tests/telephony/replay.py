"""Feeding recorded AMI streams to a CallTracker."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from common.envelope import CallUpdate
from telephony.ami.frames import encode, iter_messages, join_repeated, parse_block
from telephony.channels import EndpointMatcher
from telephony.simulator.channels import ChannelTable
from telephony.simulator.template import call_events, compile_template, read_trace, render
from telephony.tracker import CallTracker

TRACES = Path(__file__).resolve().parents[2] / "telephony" / "simulator" / "traces"
SYNTHETIC = TRACES / "synthetic"


class Clock:
    """A clock the test moves: each reading is one second after the previous one."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def messages(path: Path) -> list[dict[str, str]]:
    return list(iter_messages(path.read_bytes()))


def tracker(*patterns: str, clock: Clock | None = None) -> CallTracker:
    return CallTracker(EndpointMatcher(patterns), clock=clock or Clock())


def feed_all(t: CallTracker, events: Iterable[Mapping[str, str]]) -> list[CallUpdate]:
    return [update for event in events for update in t.feed(event)]


def summary(updates: Iterable[CallUpdate]) -> list[tuple]:
    return [(u.call_id, u.state, u.direction, u.customer_number, u.agents) for u in updates]


def core_show_channels(events: Iterable[Mapping[str, str]]) -> list[Mapping[str, str]]:
    return [e for e in events if e.get("Event") == "CoreShowChannel"]


def simulated_answer(trace: Path, asked_at: float, action_id: str | None = None
                     ) -> list[dict[str, str]]:
    """The CoreShowChannels answer the PBX simulator gives at `asked_at` while it plays the
    recorded call of `trace` (its own pipeline: trace reader, template, live-channel table)."""
    events = call_events(read_trace(trace.read_bytes()), keep_originate_response=False)
    template = compile_template(events, {})
    values = [b"", *(v.encode() for v in template.uniqueids),
              *(v.encode() for v in template.suffixes), *(v.encode() for v in template.bridges)]
    start = events[0].time
    table = ChannelTable()
    for compiled in template.events:
        at = start + compiled.offset
        if at > asked_at:
            break
        values[0] = b"%.6f" % at
        if compiled.table:
            block = render(compiled, values)[:-4]
            table.apply(join_repeated(*parse_block(block)), now=at, owner="call")
    return [join_repeated(*parse_block(encode(table.core_show_channel(ch, now=asked_at,
                                                                      action_id=action_id))))
            for ch in table.channels()]
