"""Evaluations, disputes, calibration, the daily sample and retention on real PostgreSQL."""
from __future__ import annotations

import asyncio
import gzip
import json
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from screenpop.qa.calibration import calibration_spread, create_calibration
from screenpop.qa.evaluations import (
    EvaluationError,
    evaluations_of,
    open_dispute,
    resolve_dispute,
    save_evaluation,
)
from screenpop.qa.forms import parse_scores
from screenpop.qa.generated_calls import insert_call
from screenpop.qa.retention import archive_expired
from screenpop.qa.sampling import (
    Candidate,
    build_daily_sample,
    claim_call,
    claim_next,
    sample_reason,
)
from screenpop.qa.scorecard import Sampling

from .conftest import NOW, all_pass

TZ = ZoneInfo("America/Mexico_City")


async def scored(pool, scorecard, call_id="c1", reviewer="rita", **results):
    answers, comment = parse_scores(scorecard, all_pass(scorecard, **results))
    return await save_evaluation(pool, scorecard, call_id=call_id, reviewer=reviewer,
                                 answers=answers, comment=comment)


async def test_evaluation_stores_score_and_items(pool, scorecard):
    async with pool.acquire() as conn:
        await insert_call(conn, "c1", started_at=NOW, agents=("ana",))
    await scored(pool, scorecard, cobertura="fail")
    [evaluation] = await evaluations_of(pool, "c1")
    # coverage is critical: the script section (70 of 100 points) scores 0
    assert float(evaluation.row["score"]) == 30.0 and not evaluation.row["passed"]
    assert evaluation.row["agent_username"] == "ana"
    assert [i["item_id"] for i in evaluation.items][:2] == ["saludo", "cobertura"]
    await scored(pool, scorecard)  # the reviewer corrects it: same evaluation, new score
    [evaluation] = await evaluations_of(pool, "c1")
    assert float(evaluation.row["score"]) == 100.0 and evaluation.row["passed"]


async def test_dispute_overturned_by_a_second_reviewer_rescores(pool, scorecard):
    async with pool.acquire() as conn:
        await insert_call(conn, "c1", started_at=NOW, agents=("ana",))
    evaluation_id = await scored(pool, scorecard, datos_protegidos="fail")
    assert float((await evaluations_of(pool, "c1"))[0].row["score"]) == 0.0  # fatal
    with pytest.raises(EvaluationError, match="no es suya"):
        await open_dispute(pool, evaluation_id=evaluation_id, item_id="datos_protegidos",
                           agent="beto", reason="No fui yo")
    with pytest.raises(EvaluationError, match="no cumple"):
        await open_dispute(pool, evaluation_id=evaluation_id, item_id="saludo", agent="ana",
                           reason="Sí saludé")
    dispute = await open_dispute(pool, evaluation_id=evaluation_id, item_id="datos_protegidos",
                                 agent="ana", reason="Solo pedí el correo")
    with pytest.raises(EvaluationError, match="ya está en disputa"):
        await open_dispute(pool, evaluation_id=evaluation_id, item_id="datos_protegidos",
                           agent="ana", reason="otra vez")
    with pytest.raises(EvaluationError, match="distinto"):
        await resolve_dispute(pool, dispute_id=dispute, resolver="rita", overturned=True, note="")
    await resolve_dispute(pool, dispute_id=dispute, resolver="sofia", overturned=True,
                          note="Escuché el minuto 2:10: no pidió datos bancarios")
    [evaluation] = await evaluations_of(pool, "c1")
    assert float(evaluation.row["score"]) == 100.0 and evaluation.row["passed"]
    item = next(i for i in evaluation.items if i["item_id"] == "datos_protegidos")
    assert item["result"] == "pass" and item["resolution"] == "overturned"
    assert item["resolver"] == "sofia"
    with pytest.raises(EvaluationError, match="ya fue resuelta"):
        await resolve_dispute(pool, dispute_id=dispute, resolver="sofia", overturned=False,
                              note="")


async def test_upheld_dispute_keeps_the_score(pool, scorecard):
    async with pool.acquire() as conn:
        await insert_call(conn, "c1", started_at=NOW, agents=("ana",))
    evaluation_id = await scored(pool, scorecard, tono="fail")
    dispute = await open_dispute(pool, evaluation_id=evaluation_id, item_id="tono", agent="ana",
                                 reason="Fui amable")
    await resolve_dispute(pool, dispute_id=dispute, resolver="sofia", overturned=False,
                          note="Interrumpió dos veces")
    [evaluation] = await evaluations_of(pool, "c1")
    assert float(evaluation.row["score"]) == 90.0


async def test_calibration_shows_the_spread(pool, scorecard):
    async with pool.acquire() as conn:
        await insert_call(conn, "c1", started_at=NOW, agents=("ana",))
    session = await create_calibration(pool, call_id="c1", title="Semana 47", created_by="rita")
    for reviewer, results in (("rita", {}), ("sofia", {"tono": "fail"}),
                              ("tomas", {"tono": "fail", "cierre": "fail"})):
        answers, _ = parse_scores(scorecard, all_pass(scorecard, **results))
        await save_evaluation(pool, scorecard, call_id="c1", reviewer=reviewer, answers=answers,
                              comment="", calibration_id=session)
    spread = await calibration_spread(pool, session)
    assert spread.scores == {"rita": 100.0, "sofia": 90.0, "tomas": 85.0}
    assert spread.score_range == 15.0 and round(spread.score_stdev, 2) == 6.24
    disagreed = [i.item_id for i in spread.items if not i.agreed]
    assert disagreed == ["cierre", "tono"] or set(disagreed) == {"cierre", "tono"}
    assert await evaluations_of(pool, "c1") == []  # calibration scores are not the agent's
    assert await create_calibration(pool, call_id="nope", title="x", created_by="rita") is None


RULES = Sampling(share=0.1, new_agent_days=30, new_agent_share=0.5, activation_share=0.6,
                 short_call_seconds=60, short_call_share=0.4, agents=(("vigilada", 1.0),))


def test_sampling_takes_the_largest_share_that_applies():
    day = date(2026, 11, 20)
    old = date(2026, 1, 1)
    calls = [Candidate(f"c{n}", "ana", 300.0, False, old) for n in range(4000)]
    share = sum(sample_reason(c, RULES, day) == "share" for c in calls) / len(calls)
    assert 0.08 < share < 0.12
    new = [Candidate(f"n{n}", "nuevo", 300.0, False, day - timedelta(days=3)) for n in range(4000)]
    assert 0.45 < sum(sample_reason(c, RULES, day) == "new_agent" for c in new) / 4000 < 0.55
    act = [Candidate(f"a{n}", "ana", 300.0, True, old) for n in range(4000)]
    assert 0.55 < sum(sample_reason(c, RULES, day) == "activation" for c in act) / 4000 < 0.65
    short = [Candidate(f"s{n}", "ana", 20.0, False, old) for n in range(4000)]
    assert 0.35 < sum(sample_reason(c, RULES, day) == "short_call" for c in short) / 4000 < 0.45
    assert all(sample_reason(Candidate(f"v{n}", "vigilada", 300.0, False, old), RULES, day)
               for n in range(200))
    assert [sample_reason(c, RULES, day) for c in calls] == \
        [sample_reason(c, RULES, day) for c in calls]  # stable: a rebuild takes the same calls


async def day_of_calls(pool, count, day=date(2026, 11, 20)):
    async with pool.acquire() as conn:
        for n in range(count):
            await insert_call(conn, f"d{n:04d}", started_at=NOW - timedelta(minutes=n),
                              agents=(f"agente{n % 5}",), activated=n % 3 == 0)
    return day


async def test_daily_sample_is_idempotent_and_keeps_claims(pool):
    day = await day_of_calls(pool, 60)
    everything = Sampling(share=1.0)
    assert await build_daily_sample(pool, day, TZ, everything) == 60
    mine = await claim_next(pool, day, "rita", 5)
    assert len(mine) == 5
    assert await build_daily_sample(pool, day, TZ, everything) == 60
    assert await claim_call(pool, day, mine[0], "sofia") is False
    assert await claim_call(pool, day, mine[0], "rita") is True


async def test_concurrent_claims_never_share_a_call(pool, database):
    day = await day_of_calls(pool, 120)
    await build_daily_sample(pool, day, TZ, Sampling(share=1.0))
    reviewers = [f"revisor{n}" for n in range(8)]
    conns = [await asyncpg.connect(database) for _ in reviewers]
    try:
        claims = await asyncio.gather(*[
            _claim_until_empty(conn, day, reviewer) for conn, reviewer in zip(conns, reviewers)])
        single = await asyncio.gather(*[conn.fetchval(
            "UPDATE qa_sample SET claimed_by = $2, claimed_at = now() WHERE sample_date = $1 "
            "AND call_id = 'd0000' AND claimed_by IS NULL RETURNING claimed_by", day, r)
            for conn, r in zip(conns, reviewers)])
    finally:
        for conn in conns:
            await conn.close()
    taken = [call for calls in claims for call in calls]
    assert len(taken) == 120 and len(set(taken)) == 120
    assert sum(len(c) > 0 for c in claims) > 1  # they really raced
    assert single == [None] * 8  # already claimed: nobody takes it again
    holders = await pool.fetch("SELECT claimed_by, count(*) FROM qa_sample GROUP BY 1")
    assert sum(r["count"] for r in holders) == 120 and None not in {r["claimed_by"] for r in holders}


async def _claim_until_empty(conn, day, reviewer):
    taken = []
    while batch := await claim_next(conn, day, reviewer, 3):
        taken += batch
        await asyncio.sleep(0)
    return taken


async def test_retention_archives_then_removes(pool, scorecard, tmp_path):
    recordings, archive = tmp_path / "rec", tmp_path / "archive"
    recordings.mkdir()
    (recordings / "old1.wav").write_bytes(b"RIFF-old-audio")
    (recordings / "new1.wav").write_bytes(b"RIFF-new-audio")
    (tmp_path / "outside.wav").write_bytes(b"not ours")
    async with pool.acquire() as conn:
        await insert_call(conn, "old1", started_at=NOW - timedelta(days=40),
                          recording_file="old1.wav", events=[(timedelta(0), "started", {"a": 1})])
        await insert_call(conn, "old2", started_at=NOW - timedelta(days=31),
                          recording_file="../outside.wav")
        await insert_call(conn, "new1", started_at=NOW - timedelta(days=29),
                          recording_file="new1.wav")
    await scored(pool, scorecard, call_id="old1", tono="fail")
    result = await archive_expired(pool, days=30, now=NOW, recordings_dir=recordings,
                                   archive_dir=archive, batch=1)
    assert (result.records, result.recordings, len(result.files)) == (2, 1, 2)
    lines = [json.loads(line) for f in result.files
             for line in gzip.open(f, "rt", encoding="utf-8")]
    assert [line["record"]["call_id"] for line in lines] == ["old1", "old2"]
    assert lines[0]["events"][0]["kind"] == "started" and lines[0]["agents"][0]["username"] == "ana"
    assert float(lines[0]["evaluations"][0]["score"]) == 90.0
    assert {i["item_id"]: i["result"] for i in lines[0]["evaluation_items"]}["tono"] == "fail"
    assert gzip.open(archive / lines[0]["recording_archive"]).read() == b"RIFF-old-audio"
    assert not (recordings / "old1.wav").exists() and (recordings / "new1.wav").exists()
    assert (tmp_path / "outside.wav").exists()  # outside RECORDINGS_DIR: never touched
    left = await pool.fetch("SELECT call_id FROM call_records")
    assert [r["call_id"] for r in left] == ["new1"]
    assert await pool.fetchval("SELECT count(*) FROM qa_evaluations") == 0
