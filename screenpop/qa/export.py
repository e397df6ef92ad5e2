"""CSV of the filtered list, as byte chunks: rows come from a server-side cursor and leave in
chunks, so memory stays flat however many rows match. Times in TZ_NAME (with their offset)."""
from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from screenpop.qa.filters import CallFilter
from screenpop.qa.records import EXPORT_COLUMNS, export_lines


async def csv_chunks(pool: asyncpg.Pool, flt: CallFilter, tz_name: str) -> AsyncIterator[bytes]:
    yield (",".join(EXPORT_COLUMNS) + "\r\n").encode()
    async for lines in export_lines(pool, flt, tz_name):
        yield ("\r\n".join(lines) + "\r\n").encode()
