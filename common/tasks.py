"""Helpers for long-running asyncio tasks."""
from __future__ import annotations

import asyncio


def cancel_requested() -> bool:
    """True once the current task has been asked to stop. redis-py 8 can swallow a
    CancelledError that lands inside one of its commands, so worker loops check this at the top
    of every turn instead of relying on the exception alone."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def cancel_and_wait(task: asyncio.Task | None) -> None:
    """Cancel a task this code owns and wait until it has really stopped."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


async def wait_set(event: asyncio.Event, timeout: float) -> bool:
    """Wait for `event`; False if it was not set within `timeout` seconds."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True
