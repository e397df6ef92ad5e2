-- The dialer's durable state: campaigns, their leads (one row per pending preinstallation in a
-- campaign), every attempt, callbacks and the do-not-call list. Times are UTC.
CREATE TABLE dialer_campaigns (
    campaign_id  text PRIMARY KEY,
    name         text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('preview', 'progressive', 'predictive')),
    call_order   text NOT NULL DEFAULT 'agent_first'
                 CHECK (call_order IN ('agent_first', 'customer_first')),
    state        text NOT NULL DEFAULT 'draft'
                 CHECK (state IN ('draft', 'running', 'paused', 'stopped')),
    caller_id    text,
    queue        text,
    agents       text[] NOT NULL DEFAULT '{}',
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    -- windows, retry delays per outcome, abandonment cap, answering-machine detection
    settings     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- A lead is claimed by one dialer at a time: state 'dialing' with a claim_token (the attempt's
-- id) and a lease the claimer renews; a lease that runs out means the claimer died.
CREATE TABLE dialer_leads (
    lead_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id          text NOT NULL REFERENCES dialer_campaigns ON DELETE CASCADE,
    preinstallation_id   text NOT NULL,
    phone                text NOT NULL,             -- E.164
    time_zone            text NOT NULL,             -- IANA name
    consent              boolean NOT NULL DEFAULT true,
    state                text NOT NULL DEFAULT 'ready'
                         CHECK (state IN ('ready', 'dialing', 'done', 'exhausted', 'blocked',
                                          'removed')),
    priority             smallint NOT NULL DEFAULT 0,   -- 1: a callback is due at next_at
    callback_agent       text,                          -- the callback is for this agent only
    next_at              timestamptz,                   -- NULL: no window ever opens
    attempts             integer NOT NULL DEFAULT 0,
    last_outcome         text,
    last_attempt_at      timestamptz,
    last_conversation_at timestamptz,
    claim_token          uuid,
    claimed_by           text,
    lease_until          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, preinstallation_id),
    CHECK ((state = 'dialing') = (claim_token IS NOT NULL))
);
CREATE INDEX dialer_leads_due ON dialer_leads (campaign_id, priority DESC, next_at, lead_id)
    WHERE state = 'ready';
-- Never the same number twice at once, whatever campaign or record it belongs to.
CREATE UNIQUE INDEX dialer_leads_one_call_per_number ON dialer_leads (phone)
    WHERE state = 'dialing';
CREATE INDEX dialer_leads_leases ON dialer_leads (lease_until) WHERE state = 'dialing';
CREATE INDEX dialer_leads_phone ON dialer_leads (phone);

CREATE TABLE dialer_attempts (
    attempt_id         uuid PRIMARY KEY,            -- the claim token
    lead_id            bigint NOT NULL REFERENCES dialer_leads ON DELETE CASCADE,
    campaign_id        text NOT NULL,
    phone              text NOT NULL,
    claimed_by         text NOT NULL,
    agent              text,
    call_id            text,                        -- call_records.call_id once the call exists
    started_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at           timestamptz,
    outcome            text CHECK (outcome IN ('connected', 'no_answer', 'busy', 'failed',
                                               'invalid_number', 'machine', 'abandoned',
                                               'agent_rejected', 'skipped', 'interrupted')),
    answered           boolean NOT NULL DEFAULT false,   -- a person answered
    abandoned          boolean NOT NULL DEFAULT false,   -- …and no agent within 2 s
    answered_at        timestamptz,
    agent_connected_at timestamptz,
    disposition        text,
    detail             text
);
CREATE INDEX dialer_attempts_lead ON dialer_attempts (lead_id, started_at);
CREATE INDEX dialer_attempts_campaign ON dialer_attempts (campaign_id, started_at DESC);

CREATE TABLE dialer_callbacks (
    callback_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id     bigint NOT NULL REFERENCES dialer_leads ON DELETE CASCADE,
    due_at      timestamptz NOT NULL,
    for_agent   text,                               -- NULL: anyone in the campaign
    created_by  text,
    attempt_id  uuid,                               -- the call that asked for it
    created_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz,
    done_by     uuid                                -- the attempt that honoured it
);
CREATE UNIQUE INDEX dialer_callbacks_one_open ON dialer_callbacks (lead_id) WHERE done_at IS NULL;

CREATE TABLE dialer_dnc (
    phone    text PRIMARY KEY,                      -- E.164
    source   text NOT NULL,                         -- manual, agent, repep, import:<file>
    note     text,
    added_by text,
    added_at timestamptz NOT NULL DEFAULT now()
);
