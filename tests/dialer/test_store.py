"""The dialer store on real PostgreSQL: the claim never hands one lead (or one number) to two
dialers at once, never past max attempts, never a do-not-call number or outside the window, also
with two dialer processes and many connections racing; a dialer that dies mid-call has its leads
reclaimed once; callbacks come first at their time; the do-not-call list imports from CSV."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from common.db.pool import create_pool
from common.dialer.outcomes import AttemptResult, Order, Outcome
from common.dialer.store import Campaign, DialerStore, Disposition, Mode, NewLead

ROOT = Path(__file__).resolve().parents[2]
CDMX = ZoneInfo("America/Mexico_City")
NOW = datetime(2026, 7, 15, 11, tzinfo=CDMX)  # a Wednesday, inside the default window
LEASE = timedelta(minutes=5)


def phone(n: int) -> str:
    return f"55{n:08d}"


def e164(n: int) -> str:
    return f"+52{phone(n)}"


@pytest.fixture
async def pool(database):
    pool = await create_pool(database, min_size=1, max_size=20)
    yield pool
    await pool.close()


@pytest.fixture
async def store(pool):
    return DialerStore(pool, default_zone="America/Mexico_City")


async def campaign(store: DialerStore, campaign_id: str = "c1", *, max_attempts: int = 3,
                   leads: int = 0, **settings) -> str:
    await store.create_campaign(Campaign(campaign_id, f"Campaña {campaign_id}", Mode.PROGRESSIVE,
                                         Order.AGENT_FIRST, max_attempts, settings))
    if leads:
        await store.add_leads(campaign_id, [NewLead(f"p{i}", phone(i)) for i in range(leads)],
                              NOW)
    return campaign_id


async def claim(store: DialerStore, campaign_id: str = "c1", *, now: datetime = NOW,
                worker: str = "w1", limit: int = 1, agent: str | None = None):
    zones = await store.open_zones(campaign_id, now)
    return await store.claim(campaign_id, worker=worker, now=now, lease=LEASE, open_zones=zones,
                             limit=limit, agent=agent)


async def test_adding_leads_normalises_phones_reports_bad_ones_and_skips_repeats(store, pool):
    await campaign(store)
    report = await store.add_leads("c1", [
        NewLead("p1", "044 55 1234 5678"), NewLead("p2", "sin teléfono"),
        NewLead("p3", "(664) 123 4567", state="Baja California"),
        NewLead("p4", "9981234567", zone="America/Cancun")], NOW)
    assert (report.added, report.bad_phones) == (3, [("p2", "sin teléfono")])
    again = await store.add_leads("c1", [NewLead("p1", "5512345678")], NOW)
    assert (again.added, again.already_there) == (0, 1)
    rows = await pool.fetch("SELECT preinstallation_id, phone, time_zone FROM dialer_leads "
                            "ORDER BY preinstallation_id")
    assert [tuple(r) for r in rows] == [("p1", "+525512345678", "America/Mexico_City"),
                                        ("p3", "+526641234567", "America/Tijuana"),
                                        ("p4", "+529981234567", "America/Cancun")]


async def test_a_claimed_lead_is_not_claimed_again_until_its_attempt_ends(store):
    await campaign(store, leads=2)
    first = await claim(store, limit=5)
    assert [c.phone for c in first] == [e164(0), e164(1)]
    assert await claim(store, worker="w2") == []
    assert await store.finish(first[0], Outcome.BUSY, NOW)
    assert await claim(store, now=NOW + timedelta(minutes=19)) == []
    again = await claim(store, now=NOW + timedelta(minutes=20))
    assert [(c.phone, c.attempts) for c in again] == [(e164(0), 1)]
    assert again[0].attempt_id != first[0].attempt_id
    assert len({c.channel_id for c in [*first, *again]}) == 3


async def test_one_number_is_never_dialled_twice_at_once_across_records_and_campaigns(store):
    await campaign(store, "a")
    await campaign(store, "b")
    await store.add_leads("a", [NewLead("p1", phone(7))], NOW)
    await store.add_leads("b", [NewLead("p9", phone(7))], NOW)
    taken = await claim(store, "a")
    assert len(taken) == 1
    assert await claim(store, "b") == []
    await store.finish(taken[0], Outcome.NO_ANSWER, NOW)
    assert [c.preinstallation_id for c in await claim(store, "b")] == ["p9"]


async def test_never_past_max_attempts(store, pool):
    await campaign(store, max_attempts=3, leads=1)
    now = NOW
    for _ in range(3):
        [taken] = await claim(store, now=now)
        await store.finish(taken, Outcome.BUSY, now)
        now += timedelta(minutes=21)
    assert await claim(store, now=now + timedelta(days=3)) == []
    assert await pool.fetchval("SELECT state FROM dialer_leads") == "exhausted"
    assert await pool.fetchval("SELECT count(*) FROM dialer_attempts") == 3


async def test_an_agent_that_rejects_does_not_use_up_the_customers_attempts(store):
    await campaign(store, max_attempts=1, leads=1)
    [taken] = await claim(store)
    await store.finish(taken, Outcome.AGENT_REJECTED, NOW)
    [again] = await claim(store, now=NOW + timedelta(minutes=2))
    assert again.attempts == 0


async def test_never_outside_the_customers_window(store):
    await campaign(store)
    early = datetime(2026, 7, 15, 8, 30, tzinfo=ZoneInfo("America/Tijuana"))
    await store.add_leads("c1", [NewLead("tj", "6641234567", state="Baja California"),
                                 NewLead("mx", phone(1))], early)
    assert [c.preinstallation_id for c in await claim(store, now=early, limit=5)] == ["mx"]
    opening = early + timedelta(minutes=30)
    assert [c.preinstallation_id for c in await claim(store, now=opening, limit=5)] == ["tj"]


async def test_do_not_call_numbers_are_never_claimed(store, pool):
    await campaign(store, leads=3)
    report = await store.add_to_dnc([e164(1)], source="manual", added_by="supervisor1")
    assert (report.added, report.leads_blocked) == (1, 1)
    later = await store.add_leads("c1", [NewLead("late", phone(1))], NOW)
    assert later.blocked_by_dnc == 1
    await store.add_leads("c1", [NewLead("no-consent", phone(50), consent=False)], NOW)
    taken = await claim(store, limit=10)
    assert sorted(c.phone for c in taken) == [e164(0), e164(2)]
    # added while a call was up: the number is blocked when that attempt ends
    await store.add_to_dnc([e164(2)], source="agent")
    for c in taken:
        await store.finish(c, Outcome.NO_ANSWER, NOW)
    again = await claim(store, now=NOW + timedelta(hours=3), limit=10)
    assert [c.phone for c in again] == [e164(0)]
    assert await pool.fetchval("SELECT count(*) FROM dialer_leads WHERE state = 'blocked'") == 4


async def test_a_number_taken_off_the_list_is_due_again(store):
    await campaign(store, leads=1)
    await store.add_to_dnc([e164(0)], source="manual")
    assert await claim(store) == []
    assert await store.remove_from_dnc(e164(0), NOW)
    assert [c.phone for c in await claim(store)] == [e164(0)]


async def test_dnc_import_from_a_repep_style_csv_reports_bad_rows(store, pool):
    await campaign(store, leads=3)
    csv_text = ("\ufeffTeléfono;Fecha de inscripción\n"
                "55 0000 0001;2026-01-10\n"
                "044 55 0000 0002;2026-01-11\n"
                "no disponible;2026-01-12\n"
                "\n"
                "5500000001;2026-01-13\n"
                "12;2026-01-14\n")
    report = await store.import_dnc_csv(csv_text, source="repep", added_by="admin")
    assert (report.added, report.repeated_in_file, report.leads_blocked) == (2, 1, 2)
    assert [(b.line, b.value) for b in report.bad_rows] == [(4, "no disponible"), (7, "12")]
    rows = await pool.fetch("SELECT phone, source FROM dialer_dnc ORDER BY phone")
    assert [tuple(r) for r in rows] == [(e164(1), "repep"), (e164(2), "repep")]
    assert [c.phone for c in await claim(store, limit=5)] == [e164(0)]
    plain = await store.import_dnc_csv("5500000003\n5500000001\n", source="import:lista.csv")
    assert (plain.added, plain.already_there, plain.bad_rows) == (1, 1, [])


async def test_a_callback_comes_first_at_its_time_and_only_for_its_agent(store):
    await campaign(store, leads=3)
    [talked] = await claim(store)
    await store.finish(talked, AttemptResult(Outcome.CONNECTED, False, NOW.timestamp(),
                                             NOW.timestamp(), None, ""), NOW)
    at = datetime(2026, 7, 15, 16, 30, tzinfo=CDMX)
    assert await store.set_disposition(talked.attempt_id, "volver a llamar",
                                       Disposition.CALLBACK, NOW, callback_at=at,
                                       callback_agent="ana", by="ana")
    before = await claim(store, now=at - timedelta(minutes=1), limit=1, agent="ana")
    assert [c.phone for c in before] == [e164(1)]
    others = await claim(store, now=at, agent="beto", limit=5)
    assert [c.phone for c in others] == [e164(2)]
    [callback] = await claim(store, now=at, agent="ana")
    assert (callback.phone, callback.callback_at) == (e164(0), at.astimezone(UTC))


async def test_after_a_conversation_the_number_rests_until_tomorrow_and_a_final_disposition_ends_it(
        store, pool):
    await campaign(store, leads=1)
    [talked] = await claim(store)
    await store.finish(talked, Outcome.CONNECTED, NOW)
    assert await claim(store, now=NOW + timedelta(hours=7)) == []
    [tomorrow] = await claim(store, now=datetime(2026, 7, 16, 9, tzinfo=CDMX))
    await store.finish(tomorrow, Outcome.CONNECTED, datetime(2026, 7, 16, 9, tzinfo=CDMX))
    assert await store.set_disposition(tomorrow.attempt_id, "activado", Disposition.FINAL, NOW)
    assert await claim(store, now=NOW + timedelta(days=5)) == []
    assert await pool.fetchval("SELECT state FROM dialer_leads") == "done"
    assert await pool.fetchval("SELECT disposition FROM dialer_attempts WHERE attempt_id = $1",
                               tomorrow.attempt_id) == "activado"


async def test_abandonment_is_counted_over_the_last_30_days(store):
    await campaign(store, leads=3)
    now = datetime.now(UTC)
    outcomes = [AttemptResult(Outcome.CONNECTED, False, 1.0, 1.5, 9.0, ""),
                AttemptResult(Outcome.ABANDONED, True, 1.0, None, 9.0, ""),
                AttemptResult(Outcome.NO_ANSWER, False, None, None, 9.0, "")]
    for taken, result in zip(await claim(store, now=NOW, limit=3), outcomes):
        await store.finish(taken, result, NOW)
    stats = await store.abandon_stats("c1", now)
    assert (stats.answered, stats.abandoned, stats.rate) == (2, 1, 0.5)
    assert (await store.abandon_stats("c1", now + timedelta(days=31))).answered == 0


async def test_many_connections_racing_over_thousands_of_leads_never_double_claim(store, pool):
    await campaign(store, max_attempts=1)
    # a few numbers shared by several records, as family phones are
    await store.add_leads("c1", [NewLead(f"p{i}", phone(i if i % 10 else i // 10 % 40))
                                 for i in range(3000)], NOW)
    zones = await store.open_zones("c1", NOW)
    dialing: set[int] = set()
    numbers: set[str] = set()
    claimed: list[int] = []
    doubles: list[str] = []

    async def worker(name: str) -> None:
        idle = 0
        while idle < 20:
            taken = await store.claim("c1", worker=name, now=NOW, lease=LEASE,
                                      open_zones=zones, limit=3)
            if not taken:
                idle += 1
                await asyncio.sleep(0.01)
                continue
            idle = 0
            for c in taken:
                if c.lead_id in dialing or c.phone in numbers:
                    doubles.append(c.phone)
                dialing.add(c.lead_id)
                numbers.add(c.phone)
            await asyncio.sleep(0)
            for c in taken:
                dialing.discard(c.lead_id)
                numbers.discard(c.phone)
                assert await store.finish(c, Outcome.NO_ANSWER, NOW)
                claimed.append(c.lead_id)

    await asyncio.gather(*(worker(f"w{i}") for i in range(16)))
    assert doubles == []
    assert len(claimed) == len(set(claimed)) == 3000
    assert await pool.fetchval("SELECT count(*) FROM dialer_leads WHERE state <> 'exhausted'") == 0


async def run_worker(database: str, name: str, mode: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.dialer.race_worker", database, "c1", NOW.isoformat(), name,
        mode, cwd=ROOT, stdout=asyncio.subprocess.PIPE, env={**os.environ})


async def overlapping_attempts(pool) -> int:
    """Attempts on one number whose intervals overlap (by the database's clock)."""
    return await pool.fetchval("""
        SELECT count(*) FROM (
            SELECT started_at, lag(ended_at) OVER (PARTITION BY phone ORDER BY started_at) AS prev
            FROM dialer_attempts) t
        WHERE started_at < prev""")


@pytest.mark.timeout(300)  # two processes on a shared 2-core machine
async def test_two_dialer_processes_racing_never_dial_one_lead_or_number_twice(
        store, pool, database):
    await campaign(store, max_attempts=1)
    await store.add_leads("c1", [NewLead(f"p{i}", phone(i if i % 10 else i // 10 % 40))
                                 for i in range(2000)], NOW)
    procs = [await run_worker(database, f"proc{i}", "race") for i in range(2)]
    outputs = [await asyncio.wait_for(p.communicate(), 280) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    counts = [int(out.decode()) for out, _ in outputs]
    assert sum(counts) == 2000 and min(counts) > 0  # both really raced
    assert await pool.fetchval("SELECT count(*) FROM dialer_attempts") == 2000
    assert await pool.fetchval("SELECT count(DISTINCT lead_id) FROM dialer_attempts") == 2000
    assert await overlapping_attempts(pool) == 0


async def test_a_dialer_killed_mid_call_has_its_leads_reclaimed_once_and_not_lost(
        store, pool, database):
    await campaign(store, max_attempts=3, leads=30)
    proc = await run_worker(database, "doomed", "hang")
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    held = sorted(int(x) for x in line.split())
    assert len(held) == 20
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert await store.reclaim_expired(NOW + LEASE - timedelta(seconds=1)) == []
    later = NOW + LEASE + timedelta(seconds=1)
    reclaimers = await asyncio.gather(*(store.reclaim_expired(later) for _ in range(4)))
    assert sorted(x for batch in reclaimers for x in batch) == held
    rows = await pool.fetch("SELECT outcome, count(*) FROM dialer_attempts GROUP BY outcome")
    assert {r["outcome"]: r["count"] for r in rows} == {"interrupted": 20}
    # the ten it did not hold are due now; the twenty come back after the interrupted delay
    assert len(await claim(store, now=later, limit=50)) == 10
    back = await claim(store, now=later + timedelta(minutes=10), limit=50, worker="w2")
    assert sorted(c.lead_id for c in back) == held
    assert {c.attempts for c in back} == {1}


async def test_a_renewed_lease_is_kept_and_a_reclaimed_claim_cannot_write_its_outcome(store, pool):
    await campaign(store, leads=2)
    kept, lost = await claim(store, limit=2)
    assert await store.renew([kept], NOW + timedelta(minutes=30)) == 1
    assert await store.reclaim_expired(NOW + LEASE + timedelta(seconds=1)) == [lost.lead_id]
    assert await store.renew([lost], NOW + timedelta(minutes=30)) == 0
    assert not await store.finish(lost, Outcome.CONNECTED, NOW)
    assert await store.finish(kept, Outcome.BUSY, NOW)
    rows = await pool.fetch("SELECT lead_id, outcome FROM dialer_attempts ORDER BY lead_id")
    assert [tuple(r) for r in rows] == [(kept.lead_id, "busy"), (lost.lead_id, "interrupted")]


async def test_after_a_conversation_the_number_rests_in_every_campaign_until_tomorrow(store):
    await campaign(store, "a")
    await campaign(store, "b")
    await store.add_leads("a", [NewLead("p1", phone(7))], NOW)
    await store.add_leads("b", [NewLead("p9", phone(7)), NewLead("p10", phone(8))], NOW)
    [talked] = await claim(store, "a")
    await store.finish(talked, Outcome.CONNECTED, NOW)
    later_today = NOW + timedelta(hours=2)
    assert [c.preinstallation_id for c in await claim(store, "b", now=later_today, limit=5)] \
        == ["p10"]
    tomorrow = datetime(2026, 7, 16, 9, tzinfo=CDMX)
    assert [c.preinstallation_id for c in await claim(store, "b", now=tomorrow)] == ["p9"]


async def test_finishing_several_attempts_at_once_records_each_and_refuses_a_reclaimed_one(
        store, pool):
    await campaign(store)
    await store.add_leads("c1", [NewLead("p0", phone(0)), NewLead("p1", phone(1)),
                                 NewLead("p2", phone(2)), NewLead("p3", phone(0))], NOW)
    talked, busy = await claim(store, limit=2)
    [stale] = await store.claim("c1", worker="w1", now=NOW, lease=timedelta(seconds=1),
                                open_zones=await store.open_zones("c1", NOW))
    assert await store.reclaim_expired(NOW + timedelta(seconds=2)) == [stale.lead_id]
    answers = await store.finish_many([(talked, Outcome.CONNECTED), (busy, Outcome.BUSY),
                                       (stale, Outcome.NO_ANSWER)], NOW)
    assert answers == [True, True, False]
    assert await store.finish_many([], NOW) == []
    rows = await pool.fetch("SELECT l.preinstallation_id, l.state, l.attempts, a.outcome "
                            "FROM dialer_attempts a JOIN dialer_leads l USING (lead_id) "
                            "ORDER BY l.preinstallation_id")
    assert [tuple(r) for r in rows] == [("p0", "ready", 1, "connected"),
                                        ("p1", "ready", 1, "busy"),
                                        ("p2", "ready", 1, "interrupted")]
    # p3 shares p0's number: after p0's conversation it rests until tomorrow like p0
    later_today = NOW + timedelta(hours=2)
    assert sorted(c.preinstallation_id for c in await claim(store, now=later_today, limit=5)) \
        == ["p1", "p2"]


async def test_a_claim_of_any_size_takes_that_many_and_none_for_zero(store):
    await campaign(store, leads=12)
    assert await claim(store, limit=0) == []
    sizes = [len(await claim(store, limit=n)) for n in (1, 3, 1, 7)]
    assert sizes == [1, 3, 1, 7]
    assert await claim(store, limit=5) == []


async def test_a_claim_takes_the_oldest_due_leads_whatever_their_zone_callbacks_first(
        store, pool):
    await campaign(store)
    await store.add_leads("c1", [
        NewLead("mx-old", phone(1)), NewLead("mx-new", phone(2)),
        NewLead("cun-mid", phone(3), zone="America/Cancun"),
        NewLead("tj-oldest", phone(4), state="Baja California"),
        NewLead("tj-callback", phone(5), state="Baja California")], NOW)
    for preinstallation, minutes_ago in (("mx-old", 50), ("mx-new", 10), ("cun-mid", 30),
                                         ("tj-oldest", 60), ("tj-callback", 1)):
        await pool.execute("UPDATE dialer_leads SET next_at = $2, priority = $3 "
                           "WHERE preinstallation_id = $1", preinstallation,
                           NOW - timedelta(minutes=minutes_ago),
                           1 if preinstallation == "tj-callback" else 0)
    taken = [c.preinstallation_id for c in await claim(store, limit=3)]
    assert taken == ["tj-callback", "tj-oldest", "mx-old"]
    assert [c.preinstallation_id for c in await claim(store, limit=5)] == ["cun-mid", "mx-new"]


async def test_while_a_zone_is_closed_the_others_are_still_taken_oldest_first_callbacks_first(
        store, pool):
    await campaign(store)
    await store.add_leads("c1", [
        NewLead("mx-old", phone(1)), NewLead("mx-new", phone(2)),
        NewLead("cun-callback", phone(3), zone="America/Cancun"),
        NewLead("cun-mid", phone(4), zone="America/Cancun"),
        NewLead("tj-oldest", phone(5), state="Baja California")], NOW)
    early = datetime(2026, 7, 15, 9, 30, tzinfo=CDMX)  # 08:30 in Tijuana: closed there
    for preinstallation, minutes_ago in (("mx-old", 50), ("mx-new", 10), ("cun-callback", 1),
                                         ("cun-mid", 30), ("tj-oldest", 60)):
        await pool.execute("UPDATE dialer_leads SET next_at = $2, priority = $3 "
                           "WHERE preinstallation_id = $1", preinstallation,
                           early - timedelta(minutes=minutes_ago),
                           1 if preinstallation == "cun-callback" else 0)
    assert await store.open_zones("c1", early) == ["America/Cancun", "America/Mexico_City"]
    taken = [c.preinstallation_id for c in await claim(store, now=early, limit=3)]
    assert taken == ["cun-callback", "mx-old", "cun-mid"]
    assert [c.preinstallation_id for c in await claim(store, now=early, limit=5)] == ["mx-new"]
    assert [c.preinstallation_id for c in await claim(store, limit=5)] == ["tj-oldest"]


async def test_two_records_of_one_number_side_by_side_do_not_stall_a_claim_of_several(store):
    await campaign(store)
    await store.add_leads("c1", [NewLead("casa-a", phone(1)), NewLead("casa-b", phone(1)),
                                 NewLead("otra", phone(2))], NOW)
    taken = [c.preinstallation_id for c in await claim(store, limit=3)]
    assert taken == ["casa-a", "otra"]
    assert await claim(store, limit=3) == []  # casa-b waits while its number is being dialled
