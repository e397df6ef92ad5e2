"""The `lookup` FastAGI script: who is calling, in channel variables the dialplan and the agent's
phone use.

    SP_MATCH          one | many | none | unknown (index slow or unreachable: the dialplan's default)
    SP_PREINST_ID     the preinstallation id when there is exactly one
    SP_MATCH_COUNT    how many preinstallations carry the number
    SP_CUSTOMER_NAME  and CALLERID(name): the customer's name, shown on the agent's phone
    QUEUE_PRIO        queue priority: higher for a caller with a pending preinstallation

The index is given `budget` seconds; past it the call goes on with SP_MATCH=unknown.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from common.phones import to_e164
from telephony.ivr.index_reader import IndexMatch, IndexReader
from telephony.ivr.session import AgiSession

log = logging.getLogger(__name__)

PENDING_PRIORITY = 10
DISPLAY_NAME_CHARS = 40


def match_variables(match: IndexMatch | None, *, priority: int = PENDING_PRIORITY) -> list[tuple[str, str]]:
    """The variables to set for a match (None: the index did not answer in time)."""
    if match is None:
        return [("SP_MATCH", "unknown")]
    count = len(match.records)
    variables = [("SP_MATCH", match.status), ("SP_MATCH_COUNT", str(count)),
                 ("QUEUE_PRIO", str(priority if count else 0))]
    if match.status == "one":
        record = match.records[0]
        variables.append(("SP_PREINST_ID", record.id))
        if record.name.strip():
            name = " ".join(record.name.split())[:DISPLAY_NAME_CHARS]
            variables += [("SP_CUSTOMER_NAME", name), ("CALLERID(name)", name)]
    return variables


async def within(seconds: float, work: Awaitable[IndexMatch]) -> IndexMatch:
    """`work`'s result, or TimeoutError after `seconds` however `work` takes its cancellation
    (redis-py can swallow a CancelledError, which would stretch asyncio.timeout to the socket's
    own timeout): a late task is cancelled and left to finish on its own."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task}, timeout=seconds)
    finally:
        if not task.done():
            task.cancel()
            task.add_done_callback(_forget)
    if not task.done():
        raise TimeoutError
    return task.result()


def _forget(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


def create_lookup(reader: IndexReader, *, budget: float, priority: int = PENDING_PRIORITY,
                  outcomes: Counter[str] | None = None) -> Callable[[AgiSession], Awaitable[None]]:
    counts = outcomes if outcomes is not None else Counter()

    async def lookup(session: AgiSession) -> None:
        caller = session.env.get("agi_callerid")
        number = to_e164(caller)
        match: IndexMatch | None
        if number is None:
            match = IndexMatch("none", ())  # withheld, `unknown` or no caller ID at all
        else:
            try:
                match = await within(budget, reader.match(number))
            except TimeoutError:
                match = None
                log.warning("agi lookup over its %.0f ms budget channel=%s: the call goes on "
                            "with defaults", budget * 1000, session.channel)
            except (RedisError, OSError) as exc:
                match = None
                log.warning("agi lookup failed channel=%s: %s: %s", session.channel,
                            type(exc).__name__, exc)
        counts[match.status if match else "unknown"] += 1
        log.info("agi lookup channel=%s did=%s caller=%r match=%s", session.channel,
                 session.script.query.get("did", ""), caller, match.status if match else "unknown")
        for name, value in match_variables(match, priority=priority):
            await session.set_variable(name, value)

    return lookup
