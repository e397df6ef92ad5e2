-- One row per call the product tracked, written as the call happens by the process that knows
-- each fact (telephony: channels, agents, times, hang-up; screenpop: the record chosen, the guided
-- call, WispHub actions). Times are UTC; `complete` stays false until the call's end was seen,
-- and `gaps` says what a writer knows it missed (a restart, a database outage).
CREATE TABLE call_records (
    call_id            text PRIMARY KEY,
    direction          text NOT NULL DEFAULT 'unknown'
                       CHECK (direction IN ('inbound', 'outbound', 'unknown')),
    customer_number    text,
    campaign_id        text,
    queue              text,
    ivr_path           jsonb NOT NULL DEFAULT '[]',
    preinstallation_id text,
    match_status       text CHECK (match_status IN ('single', 'several', 'none', 'linked')),
    ring_at            timestamptz,
    answered_at        timestamptz,
    ended_at           timestamptz,
    wait_seconds       numeric(10, 3),
    talk_seconds       numeric(10, 3),
    hold_seconds       numeric(10, 3),
    hangup_by          text CHECK (hangup_by IN ('customer', 'agent', 'system')),
    hangup_cause       integer,
    disposition        text,
    notes              text,
    guided             jsonb NOT NULL DEFAULT '{}',
    recording_file     text,
    complete           boolean NOT NULL DEFAULT false,
    gaps               text[] NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_records_started ON call_records (ring_at DESC);
CREATE INDEX call_records_preinstallation ON call_records (preinstallation_id);
CREATE INDEX call_records_campaign ON call_records (campaign_id, disposition, ring_at DESC);

-- The Asterisk Uniqueids of the call's channels, so any AMI or CDR fact can be joined to it.
CREATE TABLE call_channels (
    call_id  text NOT NULL REFERENCES call_records ON DELETE CASCADE,
    uniqueid text NOT NULL,
    channel  text NOT NULL,
    PRIMARY KEY (call_id, uniqueid)
);
CREATE INDEX call_channels_uniqueid ON call_channels (uniqueid);

-- Every agent the call reached, in order (a transfer adds a row; ring-only agents are kept too).
CREATE TABLE call_agents (
    call_id     text NOT NULL REFERENCES call_records ON DELETE CASCADE,
    position    integer NOT NULL,
    username    text,
    endpoint    text NOT NULL,
    rang_at     timestamptz,
    answered_at timestamptz,
    left_at     timestamptz,
    PRIMARY KEY (call_id, position)
);
CREATE INDEX call_agents_username ON call_agents (username, answered_at DESC);

-- The call's timeline; `event_key` makes every write idempotent (a replayed fact is one row).
CREATE TABLE call_events (
    call_id   text NOT NULL REFERENCES call_records ON DELETE CASCADE,
    event_key text NOT NULL,
    at        timestamptz NOT NULL,
    kind      text NOT NULL,
    actor     text,
    detail    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (call_id, event_key)
);
CREATE INDEX call_events_at ON call_events (call_id, at);
