"""The `lookup` FastAGI script: who is calling, in channel variables the dialplan and the agent's
phone use.

    SP_MATCH          one | many | none; left at the dialplan's default `unknown` when the index
                      is slow or unreachable
    SP_PREINST_ID     the preinstallation id when there is exactly one
    CALLERID(name)    its customer's name, for the agent's phone (set here, never by the
                      dialplan: a name is never parsed as dialplan)
    SP_MATCH_COUNT    how many preinstallations carry the number, when several do

Each variable is a round trip to Asterisk (the commands of one AGI session cannot be pipelined:
Asterisk reads the next one only after answering), which is most of what a look-up costs, so
nothing is sent that the dialplan can work out itself: it gives a caller with a pending
preinstallation (`one`/`many`) its QUEUE_PRIO.

The index is given `budget` seconds; past it the call goes on with the dialplan's defaults.
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import RedisError

from common.phones import is_withheld, to_e164
from telephony.ivr.index_reader import IndexMatch, IndexReader
from telephony.ivr.session import AgiSession

log = logging.getLogger(__name__)

T = TypeVar("T")
DISPLAY_NAME_CHARS = 40


_NOT_DIGITS = re.compile(r"[^\d+]")
# A Mexican caller ID: 10 digits, or the same with 52, +52, 521 (old mobile), 044/045 or 01 first.
_MX = re.compile(r"(?:\+?521?|04[45]|01)?([2-9]\d{9})")


def index_key(caller: str | None) -> str | None:
    """The caller ID as the index's E.164 key (None: withheld or not a number). A Mexican number
    becomes `+52` and its 10 digits at once; phonenumbers (0.3–0.5 ms of CPU for a number it has
    not seen, i.e. most callers) only parses the rest. The quick form skips phonenumbers' validity
    check, which changes no answer: the index's keys are phonenumbers' E.164 forms of valid
    numbers, so an invalid number matches nothing either way."""
    if is_withheld(caller):
        return None
    mexican = _MX.fullmatch(_NOT_DIGITS.sub("", caller or ""))
    return "+52" + mexican.group(1) if mexican else to_e164(caller)


def match_variables(match: IndexMatch | None) -> list[tuple[str, str]]:
    """The variables to set for a match (None: the index did not answer in time). What the
    dialplan already holds by default (SP_MATCH=unknown) is not sent again."""
    if match is None:
        return []
    variables = [("SP_MATCH", match.status)]
    if match.status == "one":
        record = match.records[0]
        variables.append(("SP_PREINST_ID", record.id))
        name = " ".join(record.name.split())[:DISPLAY_NAME_CHARS]
        if name:
            variables.append(("CALLERID(name)", name))
    elif match.status == "many":
        variables.append(("SP_MATCH_COUNT", str(len(match.records))))
    return variables


async def within(seconds: float, work: Awaitable[T]) -> T:
    """`work`'s result, or TimeoutError after `seconds`. A late Redis call is left to finish on
    its own rather than cancelled: redis-py drops a connection whose command was cancelled, and
    under load the reconnections would make the next look-ups late too."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not task.done():
        task.add_done_callback(_forget)
        raise TimeoutError
    return task.result()


def _forget(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


def create_lookup(reader: IndexReader, *, budget: float, outcomes: Counter[str] | None = None
                  ) -> Callable[[AgiSession], Awaitable[None]]:
    counts = outcomes if outcomes is not None else Counter()

    async def lookup(session: AgiSession) -> None:
        caller = session.env.get("agi_callerid")
        number = index_key(caller)
        match: IndexMatch | None
        if number is None:
            match = IndexMatch("none", ())  # withheld, `unknown` or no caller ID at all
        else:
            try:
                # the reader's batch goes on without this look-up (no Redis command is cancelled)
                async with asyncio.timeout(budget):
                    match = await reader.match(number)
            except TimeoutError:
                match = None
                log.warning("agi lookup over its %.0f ms budget channel=%s: the call goes on "
                            "with defaults", budget * 1000, session.channel)
            except (RedisError, OSError) as exc:
                match = None
                log.warning("agi lookup failed channel=%s: %s: %s", session.channel,
                            type(exc).__name__, exc)
        counts[match.status if match else "unknown"] += 1
        # one line per call at DEBUG only: at INFO it would be the look-up's costliest step after
        # the socket writes (the outcomes are counted in telephony_agi_lookups)
        log.debug("agi lookup channel=%s did=%s caller=%r match=%s", session.channel,
                  session.script.query.get("did", ""), caller, match.status if match else "unknown")
        for name, value in match_variables(match):
            await session.set_variable(name, value)

    return lookup
