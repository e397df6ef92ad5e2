"""Calibration sessions: several reviewers score one call; the spread shows how far apart they are."""
from __future__ import annotations

import statistics
from dataclasses import dataclass

import asyncpg


async def create_calibration(pool: asyncpg.Pool, *, call_id: str, title: str,
                             created_by: str) -> int | None:
    """None when the call does not exist or no agent took it (nobody to score)."""
    return await pool.fetchval("""
        INSERT INTO qa_calibrations (call_id, title, created_by)
        SELECT call_id, $2, $3 FROM call_records
        WHERE call_id = $1 AND agent_username IS NOT NULL RETURNING id""",
        call_id, title, created_by)


@dataclass(frozen=True)
class ItemSpread:
    item_id: str
    label: str
    results: dict[str, str]  # reviewer → pass / fail / na

    @property
    def agreed(self) -> bool:
        return len(set(self.results.values())) <= 1


@dataclass(frozen=True)
class Spread:
    calibration: asyncpg.Record
    scores: dict[str, float]  # reviewer → score
    items: list[ItemSpread]

    @property
    def score_range(self) -> float:
        return max(self.scores.values()) - min(self.scores.values()) if self.scores else 0.0

    @property
    def score_stdev(self) -> float:
        return statistics.pstdev(self.scores.values()) if len(self.scores) > 1 else 0.0


async def calibration_spread(pool: asyncpg.Pool, calibration_id: int) -> Spread | None:
    async with pool.acquire() as conn:
        calibration = await conn.fetchrow("SELECT * FROM qa_calibrations WHERE id = $1",
                                          calibration_id)
        if calibration is None:
            return None
        rows = await conn.fetch("""
            SELECT e.reviewer, e.score, i.item_id, i.label, i.result
            FROM qa_evaluations e JOIN qa_evaluation_items i ON i.evaluation_id = e.id
            WHERE e.calibration_id = $1 ORDER BY i.position, e.reviewer""", calibration_id)
    scores = {r["reviewer"]: float(r["score"]) for r in rows}
    items: dict[str, ItemSpread] = {}
    for r in rows:
        items.setdefault(r["item_id"], ItemSpread(r["item_id"], r["label"], {})).results[
            r["reviewer"]] = r["result"]
    return Spread(calibration, scores, list(items.values()))
