"""Evaluations, disputes and calibration sessions in PostgreSQL."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from screenpop.qa.forms import ItemAnswer
from screenpop.qa.records import name_of
from screenpop.qa.scorecard import Scorecard
from screenpop.qa.scoring import ScoredItem, score

NO_AGENT = "Ningún asesor atendió esta llamada: no hay a quién calificar."


class EvaluationError(Exception):
    """A request the desk refuses; `code` for the HTTP status, message in Spanish."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def save_evaluation(pool: asyncpg.Pool, scorecard: Scorecard, *, call_id: str,
                          reviewer: str, answers: Sequence[ItemAnswer], comment: str,
                          calibration_id: int | None = None) -> int:
    """Creates the reviewer's evaluation of the call (or of the calibration session), or updates
    it in place: items keep their ids, so disputes on them survive a correction."""
    answered = {a.item_id: a for a in answers}
    items = [(section, item, answered[item.id]) for section, item in scorecard.items()]
    outcome = score([ScoredItem(i.id, s.id, i.weight, i.critical, i.fatal, a.result)
                     for s, i, a in items], scorecard.pass_score)
    async with pool.acquire() as conn, conn.transaction():
        agent = await conn.fetchval("SELECT agent_username FROM call_records WHERE call_id = $1",
                                    call_id)
        if agent is None:
            if not await conn.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM call_records WHERE call_id = $1)", call_id):
                raise EvaluationError("not_found", "La llamada ya no existe.")
            raise EvaluationError("no_agent", NO_AGENT)
        if calibration_id is not None and await conn.fetchval(
                "SELECT call_id FROM qa_calibrations WHERE id = $1", calibration_id) != call_id:
            raise EvaluationError("not_found", "La sesión de calibración no es de esta llamada.")
        evaluation_id = await conn.fetchval("""
            SELECT id FROM qa_evaluations WHERE call_id = $1 AND reviewer = $2
              AND calibration_id IS NOT DISTINCT FROM $3 FOR UPDATE""",
            call_id, reviewer, calibration_id)
        if evaluation_id is None:
            evaluation_id = await conn.fetchval("""
                INSERT INTO qa_evaluations (call_id, agent_username, reviewer, calibration_id,
                    scorecard, pass_score, score, passed, fatal, comment)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id""",
                call_id, agent, reviewer, calibration_id, f"{scorecard.name} {scorecard.version}",
                scorecard.pass_score, outcome.score, outcome.passed, outcome.fatal, comment)
        else:
            await conn.execute("""
                UPDATE qa_evaluations SET score = $2, passed = $3, fatal = $4, comment = $5,
                    updated_at = now() WHERE id = $1""",
                evaluation_id, outcome.score, outcome.passed, outcome.fatal, comment)
        await conn.executemany("""
            INSERT INTO qa_evaluation_items (evaluation_id, item_id, position, section_id,
                section_title, label, weight, critical, fatal, result, comment, recording_seconds)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (evaluation_id, item_id) DO UPDATE SET result = EXCLUDED.result,
                comment = EXCLUDED.comment, recording_seconds = EXCLUDED.recording_seconds""",
            [(evaluation_id, item.id, position, section.id, section.title, item.label, item.weight,
              item.critical, item.fatal, answer.result, answer.comment, answer.recording_seconds)
             for position, (section, item, answer) in enumerate(items)])
    return evaluation_id


@dataclass(frozen=True)
class Evaluation:
    row: asyncpg.Record
    items: list[asyncpg.Record]  # each with its dispute's columns (NULL when none)


async def evaluations_of(pool: asyncpg.Pool, call_id: str, *,
                         calibration_id: int | None = None) -> list[Evaluation]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(f"""
            SELECT e.*, {name_of("e.reviewer")} AS reviewer_name,
                   {name_of("e.agent_username")} AS agent_name
            FROM qa_evaluations e WHERE call_id = $1
              AND calibration_id IS NOT DISTINCT FROM $2 ORDER BY created_at""",
            call_id, calibration_id)
        items = await conn.fetch(f"""
            SELECT i.*, d.id AS dispute_id, d.reason AS dispute_reason, d.resolver,
                   {name_of("d.resolver")} AS resolver_name,
                   d.resolution, d.resolution_note, d.opened_at AS dispute_opened_at
            FROM qa_evaluation_items i
            LEFT JOIN qa_disputes d USING (evaluation_id, item_id)
            WHERE i.evaluation_id = ANY($1::bigint[]) ORDER BY i.evaluation_id, i.position""",
            [r["id"] for r in rows])
    return [Evaluation(r, [i for i in items if i["evaluation_id"] == r["id"]]) for r in rows]


async def open_dispute(pool: asyncpg.Pool, *, evaluation_id: int, item_id: str, agent: str,
                       reason: str) -> int:
    """Only the scored agent disputes, only an item marked as failed, once per item."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("""
            SELECT e.agent_username, e.calibration_id, i.result
            FROM qa_evaluations e JOIN qa_evaluation_items i ON i.evaluation_id = e.id
            WHERE e.id = $1 AND i.item_id = $2""", evaluation_id, item_id)
        if row is None or row["agent_username"] != agent or row["calibration_id"] is not None:
            raise EvaluationError("not_found", "Esa calificación no existe o no es suya.")
        if row["result"] != "fail":
            raise EvaluationError("bad_request", "Solo puede disputar un criterio marcado como "
                                                 "«no cumple».")
        dispute_id = await conn.fetchval("""
            INSERT INTO qa_disputes (evaluation_id, item_id, agent_username, reason)
            VALUES ($1, $2, $3, $4) ON CONFLICT (evaluation_id, item_id) DO NOTHING
            RETURNING id""", evaluation_id, item_id, agent, reason)
        if dispute_id is None:
            raise EvaluationError("conflict", "Ese criterio ya está en disputa.")
        return dispute_id


async def resolve_dispute(pool: asyncpg.Pool, *, dispute_id: int, resolver: str,
                          overturned: bool, note: str) -> None:
    """A reviewer other than the one who scored decides; an overturned item becomes «cumple»
    and the evaluation is scored again from its stored items."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("""
            SELECT d.evaluation_id, d.item_id, d.resolution, e.reviewer, e.agent_username
            FROM qa_disputes d JOIN qa_evaluations e ON e.id = d.evaluation_id
            WHERE d.id = $1 FOR UPDATE OF d, e""", dispute_id)
        if row is None:
            raise EvaluationError("not_found", "La disputa no existe.")
        if row["resolution"] is not None:
            raise EvaluationError("conflict", "La disputa ya fue resuelta.")
        if resolver in (row["reviewer"], row["agent_username"]):
            raise EvaluationError("forbidden", "La disputa la resuelve un revisor distinto de "
                                               "quien calificó.")
        await conn.execute("""
            UPDATE qa_disputes SET resolver = $2, resolution = $3, resolution_note = $4,
                resolved_at = now() WHERE id = $1""",
            dispute_id, resolver, "overturned" if overturned else "upheld", note)
        if overturned:
            await conn.execute("UPDATE qa_evaluation_items SET result = 'pass' "
                               "WHERE evaluation_id = $1 AND item_id = $2",
                               row["evaluation_id"], row["item_id"])
            await _rescore(conn, row["evaluation_id"])


async def _rescore(conn: asyncpg.Connection, evaluation_id: int) -> None:
    items = await conn.fetch("SELECT * FROM qa_evaluation_items WHERE evaluation_id = $1",
                             evaluation_id)
    pass_score = await conn.fetchval("SELECT pass_score FROM qa_evaluations WHERE id = $1",
                                     evaluation_id)
    outcome = score([ScoredItem(i["item_id"], i["section_id"], float(i["weight"]), i["critical"],
                                i["fatal"], i["result"]) for i in items], float(pass_score))
    await conn.execute("UPDATE qa_evaluations SET score = $2, passed = $3, fatal = $4, "
                       "updated_at = now() WHERE id = $1",
                       evaluation_id, outcome.score, outcome.passed, outcome.fatal)
