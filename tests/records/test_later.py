"""The recorder's deferred work waits for the publisher's write (or, without one, a short while),
lets the loop read the next AMI bytes between slices, keeps its order, and survives a failing
piece of work."""
from __future__ import annotations

import asyncio

from telephony.records import Later


async def until(order: list[str], expected: int) -> None:
    async with asyncio.timeout(5):
        while len(order) < expected:
            await asyncio.sleep(0)


async def loop_passes(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_work_waits_for_the_publishers_write():
    order: list[str] = []
    later = Later(longest_wait=3600)
    later.add(order.append, "record")
    await loop_passes(10)
    assert order == []  # the pop's write to Redis has not gone yet
    later.release()
    await until(order, 1)
    assert order == ["record"]


async def test_work_runs_without_a_write_after_the_longest_wait():
    order: list[str] = []
    later = Later(longest_wait=0.01)  # an event that changed no call; or Redis away
    later.add(order.append, "record")
    await until(order, 1)
    later.add(order.append, "next")  # scheduled again once it ran dry
    await until(order, 2)
    assert order == ["record", "next"]


async def test_the_loop_runs_between_slices_of_record_work():
    loop = asyncio.get_running_loop()
    order: list[str] = []
    later = Later(longest_wait=3600, slice_seconds=0)  # every piece of work a slice of its own

    def first() -> None:
        order.append("first")
        loop.call_soon(order.append, "pending I/O")  # what arrived while the first one ran

    later.add(first)
    later.add(order.append, "second")
    later.add(order.append, "third")
    later.release()
    await until(order, 4)
    assert order == ["first", "pending I/O", "second", "third"]


async def test_a_generous_slice_runs_a_burst_at_once_in_order():
    loop = asyncio.get_running_loop()
    order: list[str] = []
    later = Later(longest_wait=3600, slice_seconds=60)
    later.add(lambda: (order.append("first"), loop.call_soon(order.append, "pending I/O")))
    for name in ("second", "third"):
        later.add(order.append, name)
    later.release()
    await until(order, 4)
    assert order == ["first", "second", "third", "pending I/O"]


async def test_work_that_fails_does_not_stop_the_rest():
    order: list[str] = []
    later = Later(longest_wait=3600, slice_seconds=0)
    later.add(lambda: 1 / 0)
    later.add(order.append, "after")
    later.release()
    await until(order, 1)
    assert order == ["after"]


async def test_work_waits_while_the_publisher_has_updates_to_send():
    order: list[str] = []
    sending = True
    later = Later(busy=lambda: sending, longest_wait=3600)
    later.add(order.append, "record")
    later.release()  # a write is done, but the next pop's update is already waiting
    await loop_passes(10)
    assert order == []
    sending = False
    later.release()  # that one is written too, and nothing waits
    await until(order, 1)
    assert order == ["record"]


async def test_work_never_waits_for_a_publisher_that_stays_busy():
    order: list[str] = []
    later = Later(busy=lambda: True, longest_wait=0.01)  # Redis away: the updates stay queued
    later.add(order.append, "record")
    await until(order, 1)
    piled = Later(busy=lambda: True, longest_wait=3600, most_waiting=2)
    for name in ("a", "b", "c"):
        piled.add(order.append, name)
    piled.release()
    await until(order, 4)
    assert order == ["record", "a", "b", "c"]
