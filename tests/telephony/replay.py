"""Feeding recorded AMI streams to a CallTracker."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from common.envelope import CallUpdate
from telephony.ami.frames import iter_messages
from telephony.channels import EndpointMatcher
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
