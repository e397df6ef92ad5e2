-- The QA desk: what reviewers need on top of the call records (0001), and the scores they give.

-- When the call started for every list and chart: the ring time, else when the record was made
-- (a record written before its ring time is known still sorts and pages).
ALTER TABLE call_records
    ADD COLUMN started_at timestamptz GENERATED ALWAYS AS (coalesce(ring_at, created_at)) STORED,
    -- The agent QA scores: the last agent who answered (a transfer's second agent), else the
    -- last one rung. Kept by the trigger below from call_agents, so writers need not know it.
    ADD COLUMN agent_username text,
    -- Set by the writer of WispHub actions when the preinstallation's activation succeeded.
    ADD COLUMN activated_at timestamptz;

CREATE FUNCTION qa_set_call_agent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE call_records r SET agent_username = (
        SELECT a.username FROM call_agents a
        WHERE a.call_id = NEW.call_id AND a.username IS NOT NULL
        ORDER BY (a.answered_at IS NOT NULL) DESC, a.position DESC LIMIT 1)
    WHERE r.call_id = NEW.call_id;
    RETURN NULL;
END $$;
CREATE TRIGGER call_agents_qa_agent AFTER INSERT OR UPDATE ON call_agents
    FOR EACH ROW EXECUTE FUNCTION qa_set_call_agent();

-- Records written before this migration get their agent the same way.
UPDATE call_records r SET agent_username = (
    SELECT a.username FROM call_agents a
    WHERE a.call_id = r.call_id AND a.username IS NOT NULL
    ORDER BY (a.answered_at IS NOT NULL) DESC, a.position DESC LIMIT 1);

-- Keyset paging (started_at DESC, call_id DESC) under the filters reviewers use most.
CREATE INDEX call_records_qa_started ON call_records (started_at DESC, call_id DESC);
CREATE INDEX call_records_qa_agent ON call_records (agent_username, started_at DESC, call_id DESC);
CREATE INDEX call_records_qa_disposition
    ON call_records (disposition, campaign_id, started_at DESC, call_id DESC);
CREATE INDEX call_records_qa_number ON call_records (customer_number, started_at DESC);

-- A calibration session: several reviewers score the same call; the desk shows their spread.
CREATE TABLE qa_calibrations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id    text NOT NULL REFERENCES call_records ON DELETE CASCADE,
    title      text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX qa_calibrations_call ON qa_calibrations (call_id);

-- One reviewer's score of one call. Items keep a copy of the scorecard they were scored with
-- (weights, critical, fatal), so a later configuration change does not rewrite history.
CREATE TABLE qa_evaluations (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id        text NOT NULL REFERENCES call_records ON DELETE CASCADE,
    agent_username text,
    reviewer       text NOT NULL,
    calibration_id bigint REFERENCES qa_calibrations ON DELETE CASCADE,
    scorecard      text NOT NULL,
    pass_score     numeric(5, 2) NOT NULL,
    score          numeric(5, 2) NOT NULL CHECK (score BETWEEN 0 AND 100),
    passed         boolean NOT NULL,
    fatal          boolean NOT NULL,
    comment        text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX qa_evaluations_one_per_reviewer ON qa_evaluations (call_id, reviewer)
    WHERE calibration_id IS NULL;
CREATE UNIQUE INDEX qa_evaluations_calibration ON qa_evaluations (calibration_id, reviewer)
    WHERE calibration_id IS NOT NULL;
CREATE INDEX qa_evaluations_agent ON qa_evaluations (agent_username, created_at DESC);

CREATE TABLE qa_evaluation_items (
    evaluation_id     bigint NOT NULL REFERENCES qa_evaluations ON DELETE CASCADE,
    item_id           text NOT NULL,
    position          integer NOT NULL,
    section_id        text NOT NULL,
    section_title     text NOT NULL,
    label             text NOT NULL,
    weight            numeric(8, 2) NOT NULL CHECK (weight > 0),
    critical          boolean NOT NULL DEFAULT false,
    fatal             boolean NOT NULL DEFAULT false,
    result            text NOT NULL CHECK (result IN ('pass', 'fail', 'na')),
    comment           text NOT NULL DEFAULT '',
    recording_seconds numeric(10, 3) CHECK (recording_seconds >= 0),
    PRIMARY KEY (evaluation_id, item_id)
);
CREATE INDEX qa_evaluation_items_failed ON qa_evaluation_items (item_id) WHERE result = 'fail';

-- An agent's dispute of one item, and the resolution by a reviewer other than the one who scored.
CREATE TABLE qa_disputes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    evaluation_id   bigint NOT NULL,
    item_id         text NOT NULL,
    agent_username  text NOT NULL,
    reason          text NOT NULL CHECK (length(reason) > 0),
    opened_at       timestamptz NOT NULL DEFAULT now(),
    resolver        text,
    resolution      text CHECK (resolution IN ('upheld', 'overturned')),
    resolution_note text NOT NULL DEFAULT '',
    resolved_at     timestamptz,
    UNIQUE (evaluation_id, item_id),
    FOREIGN KEY (evaluation_id, item_id) REFERENCES qa_evaluation_items ON DELETE CASCADE,
    CHECK ((resolution IS NULL) = (resolved_at IS NULL))
);
CREATE INDEX qa_disputes_open ON qa_disputes (opened_at) WHERE resolution IS NULL;

-- The day's sample of calls to score. Reviewers claim from it; `claimed_by` is set once, by one
-- UPDATE … WHERE claimed_by IS NULL, so two reviewers never take the same call.
CREATE TABLE qa_sample (
    sample_date    date NOT NULL,
    call_id        text NOT NULL REFERENCES call_records ON DELETE CASCADE,
    agent_username text,
    reason         text NOT NULL CHECK (reason IN ('share', 'new_agent', 'activation', 'short_call')),
    priority       integer NOT NULL,
    claimed_by     text,
    claimed_at     timestamptz,
    PRIMARY KEY (sample_date, call_id),
    CHECK ((claimed_by IS NULL) = (claimed_at IS NULL))
);
CREATE INDEX qa_sample_unclaimed ON qa_sample (sample_date, priority, call_id)
    WHERE claimed_by IS NULL;
CREATE INDEX qa_sample_claimed ON qa_sample (claimed_by, sample_date);
