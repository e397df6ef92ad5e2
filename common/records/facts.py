"""Facts about a call, each one idempotent upsert into the call-record tables (pure: no I/O).

Merge rules, so a replayed fact changes nothing and two processes' facts may arrive in any order:
first times (ring, answer, end) keep the earliest, `complete` only ever turns true, text facts
keep the latest known value, gaps and guided steps are sets, events are keyed by `event_key`.
A batch writes a stub row for each of its calls first, so a fact about a call whose first fact
was dropped or not written yet still has its row (`direction` 'unknown' until telephony says).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple


class Fact(NamedTuple):
    kind: str  # a key of STATEMENTS
    call_id: str  # "" for facts about several calls (resync_end)
    args: tuple
    # Facts of one batch with the same kind and non-empty `latest` are written once, as the
    # last of them: their producer promises that each carries everything the earlier ones did
    # (telephony's recorder rewrites a call's whole state and an agent's times each time).
    latest: str = ""


# json.dumps builds a new encoder for every call made with options; facts are built by the
# thousand a second
_to_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


def utc(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


STUB = "INSERT INTO call_records (call_id) VALUES ($1) ON CONFLICT DO NOTHING"
# A transaction-long lock per call, taken in the order of its key (two call ids may share a
# key: ordering by call id would then not be one order), in a key space of its own.
LOCK_CALLS = """
    SELECT count(pg_advisory_xact_lock(1701, key))
    FROM (SELECT DISTINCT hashtext(call_id) AS key FROM unnest($1::text[]) AS call_id
          ORDER BY key) AS keys"""

STATEMENTS: dict[str, str] = {
    # telephony: the call itself
    "call": """
        INSERT INTO call_records AS r (call_id, direction, customer_number, campaign_id,
            preinstallation_id, queue, ring_at, answered_at, ended_at, wait_seconds,
            talk_seconds, hangup_by, hangup_cause, recording_file, complete, hold_seconds,
            hold_count, ivr_path, ivr_started_at, queue_entered_at, ivr_seconds,
            queue_wait_seconds, lookup_match, lookup_preinstallation_id, unreached)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                $18::jsonb, $19, $20, $21, $22, $23, $24, $25)
        ON CONFLICT (call_id) DO UPDATE SET
            direction = excluded.direction,
            customer_number = coalesce(excluded.customer_number, r.customer_number),
            campaign_id = coalesce(excluded.campaign_id, r.campaign_id),
            preinstallation_id = coalesce(r.preinstallation_id, excluded.preinstallation_id),
            queue = coalesce(excluded.queue, r.queue),
            ring_at = least(r.ring_at, excluded.ring_at),
            answered_at = least(r.answered_at, excluded.answered_at),
            ended_at = least(r.ended_at, excluded.ended_at),
            wait_seconds = coalesce(r.wait_seconds, excluded.wait_seconds),
            -- a recorder that started mid-call (its worker was replaced) knows the end, not
            -- the answer: the talk time comes from the answer already on the record
            talk_seconds = coalesce(r.talk_seconds, excluded.talk_seconds, round(extract(epoch
                FROM least(r.ended_at, excluded.ended_at)
                     - least(r.answered_at, excluded.answered_at))::numeric, 3)),
            hangup_by = coalesce(r.hangup_by, excluded.hangup_by),
            hangup_cause = coalesce(r.hangup_cause, excluded.hangup_cause),
            recording_file = coalesce(r.recording_file, excluded.recording_file),
            complete = r.complete OR excluded.complete,
            hold_seconds = greatest(r.hold_seconds, excluded.hold_seconds),
            hold_count = greatest(r.hold_count, excluded.hold_count),
            ivr_path = CASE WHEN excluded.ivr_path = '[]' THEN r.ivr_path
                            ELSE excluded.ivr_path END,
            ivr_started_at = coalesce(r.ivr_started_at, excluded.ivr_started_at),
            queue_entered_at = coalesce(r.queue_entered_at, excluded.queue_entered_at),
            ivr_seconds = coalesce(excluded.ivr_seconds, r.ivr_seconds),
            queue_wait_seconds = coalesce(r.queue_wait_seconds, excluded.queue_wait_seconds),
            lookup_match = coalesce(excluded.lookup_match, r.lookup_match),
            lookup_preinstallation_id = coalesce(excluded.lookup_preinstallation_id,
                                                 r.lookup_preinstallation_id),
            unreached = coalesce(r.unreached, excluded.unreached),
            updated_at = now()""",
    # screenpop: which preinstallation the call is about; an agent's link is never undone by a
    # later automatic match
    "match": """
        UPDATE call_records SET
            preinstallation_id = CASE WHEN match_status = 'linked' AND $3 <> 'linked'
                                      THEN preinstallation_id
                                      ELSE coalesce($2, preinstallation_id) END,
            match_status = CASE WHEN match_status = 'linked' THEN 'linked' ELSE $3 END,
            updated_at = now()
        WHERE call_id = $1""",
    # screenpop: the guided call (steps reached in order, latest answers, objections raised)
    "guided": """
        UPDATE call_records SET
            guided = guided || jsonb_build_object(
                'step', $2::text,
                'steps', CASE WHEN coalesce(guided->'steps', '[]') ? $2::text
                              THEN guided->'steps'
                              ELSE coalesce(guided->'steps', '[]') || to_jsonb($2::text) END,
                'answers', coalesce(guided->'answers', '{}') || $3::jsonb,
                'objections', $4::jsonb),
            updated_at = now()
        WHERE call_id = $1""",
    # screenpop: the preinstallation was activated from this call (the QA desk filters on it)
    "activated": """
        UPDATE call_records SET activated_at = coalesce(activated_at, $2), updated_at = now()
        WHERE call_id = $1""",
    # screenpop: the agent's result of the call; a later choice overwrites, an older one that
    # arrives late (a replay) does not; a new callback time is a new callback (not done)
    "disposition": """
        UPDATE call_records SET disposition = $2, disposition_effect = $3, notes = $4,
            callback_at = $5, callback_for = $6, callback_zone = $7, disposition_by = $8,
            disposition_at = $9, updated_at = now(),
            callback_done_at = CASE WHEN callback_at IS DISTINCT FROM $5 THEN NULL
                                    ELSE callback_done_at END,
            callback_done_by = CASE WHEN callback_at IS DISTINCT FROM $5 THEN NULL
                                    ELSE callback_done_by END
        WHERE call_id = $1 AND (disposition_at IS NULL OR disposition_at <= $9)""",
    "channel": """
        INSERT INTO call_channels (call_id, uniqueid, channel) VALUES ($1, $2, $3)
        ON CONFLICT DO NOTHING""",
    # telephony: one row per endpoint, numbered in the order the endpoints first reached the
    # call. Its account is the one signed in there (agent_name, from screenpop, before or
    # after), else the endpoint's only account: a call answered on a desk phone while nobody
    # had the screen open is still that desk's agent's call.
    "agent": """
        WITH updated AS (
            UPDATE call_agents SET
                username = coalesce($3, username, (SELECT actor FROM call_events
                    WHERE call_id = $1 AND event_key = 'user:' || $2)),
                rang_at = least(rang_at, $4),
                answered_at = least(answered_at, $5),
                left_at = greatest(left_at, $6)
            WHERE call_id = $1 AND endpoint = $2
            RETURNING 1)
        INSERT INTO call_agents (call_id, position, endpoint, username, rang_at, answered_at,
                                 left_at)
        SELECT $1, (SELECT coalesce(max(position) + 1, 0) FROM call_agents WHERE call_id = $1),
               $2, coalesce($3, (SELECT actor FROM call_events
                                 WHERE call_id = $1 AND event_key = 'user:' || $2),
                            (SELECT min(username) FROM account_endpoints
                             WHERE endpoint = $2 HAVING count(*) = 1)), $4, $5, $6
        WHERE NOT EXISTS (SELECT 1 FROM updated)""",
    # screenpop: the account at an endpoint that answered; kept as an event too, so telephony's
    # row for that endpoint picks it up whichever lands first
    "agent_name": """
        WITH named AS (
            INSERT INTO call_events (call_id, event_key, at, kind, actor, detail)
            VALUES ($1, 'user:' || $2, now(), 'agent_account', $3, jsonb_build_object('endpoint', $2))
            ON CONFLICT DO NOTHING)
        UPDATE call_agents SET username = $3 WHERE call_id = $1 AND endpoint = $2""",
    "event": """
        INSERT INTO call_events (call_id, event_key, at, kind, actor, detail)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb)
        ON CONFLICT DO NOTHING""",
    "gap": """
        UPDATE call_records SET gaps = array_append(gaps, $2), updated_at = now()
        WHERE call_id = $1 AND NOT ($2 = ANY(gaps))""",
    # telephony after a resync: the incomplete calls this node started that Asterisk no longer
    # has ended while nobody watched; their end is when that was noticed
    "resync_end": """
        WITH ended AS (
            UPDATE call_records r SET
                complete = true,
                ended_at = coalesce(r.ended_at, $3),
                talk_seconds = coalesce(r.talk_seconds,
                                        extract(epoch FROM $3 - r.answered_at)::numeric(10, 3)),
                wait_seconds = coalesce(r.wait_seconds, extract(
                    epoch FROM coalesce(r.answered_at, $3) - r.ring_at)::numeric(10, 3)),
                gaps = CASE WHEN $4 = ANY(r.gaps) THEN r.gaps ELSE array_append(r.gaps, $4) END,
                updated_at = now()
            WHERE NOT r.complete AND NOT (r.call_id = ANY($2::text[]))
              AND EXISTS (SELECT 1 FROM call_events e WHERE e.call_id = r.call_id
                          AND e.event_key = 'started' AND e.actor = $1)
            RETURNING r.call_id)
        UPDATE call_agents SET left_at = $3
        WHERE call_id IN (SELECT call_id FROM ended) AND left_at IS NULL""",
}
# written in this order within a batch: rows before the facts that refer to them
ORDER = ("call", "match", "guided", "activated", "disposition", "channel", "agent", "agent_name",
         "event", "gap", "resync_end")
NEEDS_ROW = frozenset(ORDER) - {"call", "resync_end"}

DROPPED_GAP = "escrituras perdidas: la cola de registros se llenó mientras la base de datos no respondía"
RESYNC_GAP = "fin no observado: la llamada terminó mientras telefonía no estaba conectada"
RESYNC_START_GAP = "inicio no observado: la llamada ya estaba en curso cuando telefonía se conectó"


class Hold(NamedTuple):
    seconds: float = 0.0  # total, the hold still running counted up to now
    count: int = 0  # times the customer was put on hold


CLOSED = "cerrado"  # extensions.conf [ivr-closed]: the first IVR_PATH step after hours


class Ivr(NamedTuple):
    """What the IVR left in the call's channel variables (telephony/ivr, extensions.conf)."""
    path: tuple[str, ...] = ()  # the menu keys in order ("1", "t" timeout, "cerrado" …)
    started_at: float | None = None  # IVR_STARTED
    queue_entered_at: float | None = None  # QUEUE_ENTERED
    lookup_match: str | None = None  # SP_MATCH: one | many | none | unknown
    lookup_preinstallation_id: str | None = None  # SP_PREINST_ID

    @classmethod
    def from_variables(cls, variables: dict[str, str]) -> Ivr:
        raw = variables.get("IVR_PATH", "")
        # one key a step, after `cerrado` (called after hours) when the path starts with it
        path = (CLOSED, *raw.removeprefix(CLOSED)) if raw.startswith(CLOSED) else tuple(raw)
        match = variables.get("SP_MATCH")
        return cls(path, _epoch(variables.get("IVR_STARTED")),
                   _epoch(variables.get("QUEUE_ENTERED")),
                   match if match in LOOKUP_MATCHES else None,
                   variables.get("SP_PREINST_ID") or None)


LOOKUP_MATCHES = frozenset({"one", "many", "none", "unknown"})
NO_HOLD, NO_IVR = Hold(), Ivr()


def _epoch(value: str | None) -> float | None:
    try:
        epoch = float(value or "")
    except ValueError:
        return None
    return epoch if epoch > 0 else None


def call_fact(call_id: str, *, direction: str, customer_number: str | None,
              campaign_id: str | None, preinstallation_id: str | None, queue: str | None,
              ring_at: float, answered_at: float | None, ended_at: float | None,
              hangup_by: str | None, hangup_cause: int | None, recording_file: str | None,
              complete: bool, hold: Hold = NO_HOLD, ivr: Ivr = NO_IVR,
              unreached: str | None = None, latest: str = "") -> Fact:
    """`unreached`: why a call ended without an agent taking it (migration 0007's values);
    `latest`: see Fact."""
    wait = talk = None
    if ended_at or answered_at:
        wait = round((answered_at or ended_at or ring_at) - ring_at, 3)
    if ended_at and answered_at:
        talk = round(ended_at - answered_at, 3)
    # time in the IVR: until the caller reached the queue, else until the call ended there;
    # queue wait: from reaching the queue until an agent answered (or the caller gave up)
    ivr_seconds = queue_wait = None
    if ivr.started_at is not None:
        left_ivr = ivr.queue_entered_at or (ended_at if not answered_at else None)
        if left_ivr is not None:
            ivr_seconds = round(max(0.0, left_ivr - ivr.started_at), 3)
    if ivr.queue_entered_at is not None and (answered_at or ended_at):
        queue_wait = round(max(0.0, (answered_at or ended_at or 0.0) - ivr.queue_entered_at), 3)
    return Fact("call", call_id, (
        call_id, direction, customer_number, campaign_id, preinstallation_id, queue,
        utc(ring_at), utc(answered_at), utc(ended_at), wait, talk,
        hangup_by if complete else None, hangup_cause if complete else None, recording_file,
        complete, round(hold.seconds, 3), hold.count, json.dumps(list(ivr.path)),
        utc(ivr.started_at), utc(ivr.queue_entered_at), ivr_seconds, queue_wait,
        ivr.lookup_match, ivr.lookup_preinstallation_id, unreached), latest)


def channel_fact(call_id: str, uniqueid: str, channel: str) -> Fact:
    return Fact("channel", call_id, (call_id, uniqueid, channel))


def agent_fact(call_id: str, endpoint: str, *, rang_at: float | None = None, answered_at: float | None = None,
               left_at: float | None = None, latest: str = "") -> Fact:
    return Fact("agent", call_id, (call_id, endpoint, None, utc(rang_at), utc(answered_at),
                                   utc(left_at)), latest)


def agent_name_fact(call_id: str, endpoint: str, username: str) -> Fact:
    return Fact("agent_name", call_id, (call_id, endpoint, username))


def event_fact(call_id: str, event_key: str, at: float, kind: str, actor: str | None,
               detail: dict[str, Any]) -> Fact:
    return Fact("event", call_id, (call_id, event_key, utc(at), kind, actor,
                                   _to_json(detail)))


def activated_fact(call_id: str, at: float) -> Fact:
    return Fact("activated", call_id, (call_id, utc(at)))


def disposition_fact(call_id: str, *, disposition: str, effect: str, notes: str,
                     callback_at: datetime | None, callback_for: str | None,
                     callback_zone: str | None, by: str, at: float) -> Fact:
    return Fact("disposition", call_id, (call_id, disposition, effect, notes or None,
                                         callback_at, callback_for, callback_zone, by, utc(at)))


def match_fact(call_id: str, preinstallation_id: str | None, status: str) -> Fact:
    return Fact("match", call_id, (call_id, preinstallation_id, status))


def guided_fact(call_id: str, step: str, answers: dict[str, Any]) -> Fact:
    objections = answers.get("objections_raised") or []
    return Fact("guided", call_id, (call_id, step, _to_json(answers), _to_json(objections)))


def gap_fact(call_id: str, note: str) -> Fact:
    return Fact("gap", call_id, (call_id, note))


def resync_end_fact(node: str, live_call_ids: list[str], at: float) -> Fact:
    return Fact("resync_end", "", (node, sorted(live_call_ids), utc(at), RESYNC_GAP))
