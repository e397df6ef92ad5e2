"""The filtered list, keyset paging, a call's timeline and the export rows, on real PostgreSQL."""
from __future__ import annotations

import csv
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from screenpop.qa.filters import CallFilter, Cursor, FilterError, parse_filter
from screenpop.qa.generated_calls import generate_calls, insert_call
from screenpop.qa.records import call_detail, export_lines, list_calls, took_part

from .conftest import NOW

TZ = ZoneInfo("America/Mexico_City")


async def all_pages(pool, flt, limit):
    seen, cursor = [], None
    while True:
        page = await list_calls(pool, flt, Cursor.decode(cursor) if cursor else None, limit)
        seen += [r["call_id"] for r in page.rows]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


async def test_paging_walks_every_match_once_newest_first(pool):
    async with pool.acquire() as conn:
        await generate_calls(conn, 230, end=NOW, days=10)
    ids = await all_pages(pool, CallFilter(), limit=50)
    assert len(ids) == 230 and len(set(ids)) == 230
    async with pool.acquire() as conn:
        expected = [r["call_id"] for r in await conn.fetch(
            "SELECT call_id FROM call_records ORDER BY started_at DESC, call_id DESC")]
    assert ids == expected


async def test_paging_is_stable_when_calls_share_a_start_time(pool):
    async with pool.acquire() as conn:
        for n in range(7):
            await insert_call(conn, f"same-{n}", started_at=NOW)
    assert await all_pages(pool, CallFilter(), limit=3) == [f"same-{n}" for n in range(6, -1, -1)]


@pytest.mark.parametrize(("query", "sql"), [
    ({"agent": "agente03"}, "agent_username = 'agente03'"),
    ({"direction": "outbound"}, "direction = 'outbound'"),
    ({"campaign": "fibra-nov", "disposition": "venta"},
     "campaign_id = 'fibra-nov' AND disposition = 'venta'"),
    ({"matched": "no"}, "preinstallation_id IS NULL"),
    ({"matched": "si"}, "preinstallation_id IS NOT NULL"),
    ({"activated": "si"}, "activated_at IS NOT NULL"),
    ({"activated": "no"}, "activated_at IS NULL"),
    ({"preinstallation": "pre-13"}, "preinstallation_id = 'pre-13'"),
    ({"from": "2026-11-15", "to": "2026-11-16"},
     "started_at >= '2026-11-15 00:00-06' AND started_at < '2026-11-17 00:00-06'"),
    ({"agent": "agente07", "from": "2026-11-12", "to": "2026-11-12", "activated": "no"},
     "agent_username = 'agente07' AND started_at >= '2026-11-12 00:00-06' "
     "AND started_at < '2026-11-13 00:00-06' AND activated_at IS NULL"),
])
async def test_each_filter_returns_exactly_its_calls(pool, query, sql):
    async with pool.acquire() as conn:
        await generate_calls(conn, 600, end=NOW, days=14)
        expected = [r["call_id"] for r in await conn.fetch(
            f"SELECT call_id FROM call_records WHERE {sql} ORDER BY started_at DESC, call_id DESC")]
    assert expected, "the generated data must contain matches"
    assert await all_pages(pool, parse_filter(query, TZ), limit=40) == expected


async def test_number_filter_and_participant_restriction(pool):
    async with pool.acquire() as conn:
        await insert_call(conn, "c1", started_at=NOW, agents=("ana", "beto"), number="5511112222")
        await insert_call(conn, "c2", started_at=NOW - timedelta(hours=1), agents=("beto",))
        await insert_call(conn, "c3", started_at=NOW - timedelta(hours=2), agents=("carla",),
                          number="5511112222")
    assert await all_pages(pool, parse_filter({"number": "5511112222"}, TZ), 10) == ["c1", "c3"]
    assert await all_pages(pool, CallFilter().for_participant("beto"), 10) == ["c1", "c2"]
    assert await all_pages(pool, CallFilter().for_participant("ana"), 10) == ["c1"]
    assert await took_part(pool, "c1", "ana") and not await took_part(pool, "c3", "ana")


async def test_transfer_makes_the_second_agent_the_scored_one(pool):
    async with pool.acquire() as conn:
        await insert_call(conn, "t1", started_at=NOW, agents=("ana", "beto"))
        # a third agent rung but never answering does not take the call over
        await conn.execute("INSERT INTO call_agents (call_id, position, username, endpoint) "
                           "VALUES ('t1', 3, 'carla', 'PJSIP/6003')")
    detail = await call_detail(pool, "t1")
    assert detail.record["agent_username"] == "beto"
    assert [a["username"] for a in detail.agents] == ["ana", "beto", "carla"]


async def test_call_detail_has_the_timeline_in_order(pool):
    async with pool.acquire() as conn:
        await insert_call(conn, "tl", started_at=NOW, events=[
            (timedelta(seconds=40), "guided_step", {"step": "cobertura"}),
            (timedelta(seconds=0), "started", {"direction": "inbound"}),
            (timedelta(seconds=5), "agent_answered", {})])
    detail = await call_detail(pool, "tl")
    assert [e["kind"] for e in detail.events] == ["started", "agent_answered", "guided_step"]
    assert await call_detail(pool, "missing") is None


async def test_export_rows_match_the_filter(pool):
    async with pool.acquire() as conn:
        await generate_calls(conn, 3000, end=NOW, days=30)
        expected = [r["call_id"] for r in await conn.fetch(
            "SELECT call_id FROM call_records WHERE disposition = 'venta' AND "
            "campaign_id = 'reactivacion' ORDER BY started_at DESC, call_id DESC")]
    flt = parse_filter({"disposition": "venta", "campaign": "reactivacion"}, TZ)
    got = [next(csv.reader([line]))[0]
           async for lines in export_lines(pool, flt, "America/Mexico_City", batch=50)
           for line in lines]
    assert got == expected and len(got) > 50


@pytest.mark.parametrize(("query", "message"), [
    ({"from": "20-11-2026"}, "AAAA-MM-DD"),
    ({"from": "2026-11-20", "to": "2026-11-19"}, "anterior"),
    ({"direction": "sideways"}, "Dirección"),
    ({"matched": "maybe"}, "vinculada"),
])
def test_bad_filters_say_what_to_fix(query, message):
    with pytest.raises(FilterError, match=message):
        parse_filter(query, TZ)


def test_a_tampered_cursor_is_refused():
    with pytest.raises(FilterError):
        Cursor.decode("not-a-cursor!")
