"""CSV of the filtered list, as byte chunks: rows come from a server-side cursor and leave in
chunks, so memory stays flat however many rows match. Times in TZ_NAME (with their offset)."""
from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import asyncpg

from screenpop.qa.filters import CallFilter
from screenpop.qa.records import EXPORT_COLUMNS, export_batches


async def csv_chunks(pool: asyncpg.Pool, flt: CallFilter, tz_name: str) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    async for rows in export_batches(pool, flt, tz_name):
        writer.writerows(rows)  # PostgreSQL formatted every value as text; NULL is written empty
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()
