"""CSV of the filtered list, as byte chunks: rows come from a server-side cursor and leave in
chunks, so memory stays flat however many rows match. Times in TZ_NAME (with their offset)."""
from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import asyncpg

from screenpop.qa.filters import CallFilter
from screenpop.qa.records import EXPORT_COLUMNS, export_rows

CHUNK_ROWS = 2000


async def csv_chunks(pool: asyncpg.Pool, flt: CallFilter, tz_name: str,
                     chunk_rows: int = CHUNK_ROWS) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    rows = 0
    async for row in export_rows(pool, flt, tz_name):
        writer.writerow(row)  # PostgreSQL formatted every value as text; NULL is written empty
        rows += 1
        if rows % chunk_rows == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
