"""Retention: call records (with their channels, agents, events and QA scores) and recording
files older than N days are written to gzip-compressed JSON Lines, then removed.

Each batch is archived to its own file, flushed and fsynced before its rows are deleted in the
same transaction, so a crash loses nothing: at worst a batch is archived twice. Recordings are
copied gzip-compressed into the archive's `recordings/` folder before the original is removed.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg

from screenpop.qa.recordings import resolve_recording

log = logging.getLogger(__name__)

BATCH = 500
RELATED = (("channels", "call_channels", "uniqueid"), ("agents", "call_agents", "position"),
           ("events", "call_events", "at, event_key"),
           ("evaluations", "qa_evaluations", "created_at"))


@dataclass(frozen=True)
class RetentionResult:
    records: int
    recordings: int
    files: list[Path]


async def archive_expired(pool: asyncpg.Pool, *, days: int, now: datetime, recordings_dir: Path,
                          archive_dir: Path, batch: int = BATCH) -> RetentionResult:
    cutoff = now - timedelta(days=days)
    await asyncio.to_thread(_prepare, archive_dir)
    records = recordings = 0
    files: list[Path] = []
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch("""
                SELECT * FROM call_records WHERE started_at < $1
                ORDER BY started_at, call_id LIMIT $2 FOR UPDATE SKIP LOCKED""", cutoff, batch)
            if not rows:
                break
            ids = [r["call_id"] for r in rows]
            lines = await _lines(conn, rows, ids)
            path = archive_dir / f"calls-{now:%Y%m%dT%H%M%S}-{len(files) + 1:05d}.jsonl.gz"
            sources = await asyncio.to_thread(_write_batch, path, lines, rows, recordings_dir,
                                              archive_dir)
            await conn.execute("DELETE FROM call_records WHERE call_id = ANY($1::text[])", ids)
        await asyncio.to_thread(_remove, sources)
        records, recordings = records + len(ids), recordings + len(sources)
        files.append(path)
        log.info("retention archived %d records to %s", len(ids), path)
    return RetentionResult(records, recordings, files)


async def _lines(conn: asyncpg.Connection, rows, ids: list[str]) -> dict[str, dict]:
    lines = {r["call_id"]: {"record": _plain(dict(r))} for r in rows}
    for name, table, order in RELATED:
        for related in await conn.fetch(f"SELECT * FROM {table} WHERE call_id = ANY($1::text[]) "
                                        f"ORDER BY call_id, {order}", ids):
            lines[related["call_id"]].setdefault(name, []).append(_plain(dict(related)))
    items = await conn.fetch("""
        SELECT e.call_id, i.*, d.reason AS dispute_reason, d.resolution AS dispute_resolution
        FROM qa_evaluation_items i JOIN qa_evaluations e ON e.id = i.evaluation_id
        LEFT JOIN qa_disputes d USING (evaluation_id, item_id)
        WHERE e.call_id = ANY($1::text[]) ORDER BY i.evaluation_id, i.position""", ids)
    for item in items:
        lines[item["call_id"]].setdefault("evaluation_items", []).append(_plain(dict(item)))
    return lines


def _plain(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, str) and key in ("ivr_path", "guided", "detail"):
            value = json.loads(value)
        elif value is not None and not isinstance(value, bool | int | float | str | list):
            value = str(value)
        out[key] = value
    return out


def _prepare(archive_dir: Path) -> None:
    (archive_dir / "recordings").mkdir(parents=True, exist_ok=True)


def _write_batch(path: Path, lines: dict[str, dict], rows, recordings_dir: Path,
                 archive_dir: Path) -> list[Path]:
    """Archives the batch's recordings and its lines; returns the recordings to remove."""
    sources = []
    for row in rows:
        source = resolve_recording(recordings_dir, row["recording_file"])
        if source is not None:
            name = f"recordings/{row['call_id']}{source.suffix}.gz"
            _archive_file(source, archive_dir / name)
            lines[row["call_id"]]["recording_archive"] = name
            sources.append(source)
    _write_lines(path, list(lines.values()))
    return sources


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _write_lines(path: Path, lines: list[dict]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    _fsync(path)


def _archive_file(source: Path, target: Path) -> None:
    with source.open("rb") as raw, gzip.open(target, "wb") as packed:
        shutil.copyfileobj(raw, packed)
    _fsync(target)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
