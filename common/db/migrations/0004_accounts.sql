-- Agent accounts move from Redis to PostgreSQL (`python -m screenpop users migrate-from-redis`
-- copies the old ones). Passwords only as argon2 hashes. An inactive account cannot sign in and
-- no endpoint rings for it, but its name stays for the records of the calls it took.
CREATE TABLE accounts (
    username      text PRIMARY KEY CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    display_name  text NOT NULL,
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2%'),
    role          text NOT NULL CHECK (role IN ('agent', 'supervisor', 'qa', 'admin')),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The phone endpoints that ring for each account (`PJSIP/6001`), in the order given.
CREATE TABLE account_endpoints (
    username text NOT NULL REFERENCES accounts ON DELETE CASCADE ON UPDATE CASCADE,
    endpoint text NOT NULL CHECK (endpoint ~ '^[A-Za-z][A-Za-z0-9]*/[^\s,]{1,80}$'),
    position smallint NOT NULL,
    PRIMARY KEY (username, endpoint)
);
CREATE INDEX account_endpoints_endpoint ON account_endpoints (endpoint);

-- The call record's hold time and IVR path (written by telephony's recorder). `hold_seconds`
-- (0001) is the total; `hold_count` how many times the customer was put on hold. `ivr_path`
-- (0001) holds the menu keys in order; the IVR's times and its look-up's result come from the
-- channel variables IVR_STARTED, QUEUE_ENTERED, SP_MATCH and SP_PREINST_ID.
ALTER TABLE call_records
    ADD COLUMN hold_count                integer NOT NULL DEFAULT 0,
    ADD COLUMN ivr_started_at            timestamptz,
    ADD COLUMN queue_entered_at          timestamptz,
    ADD COLUMN ivr_seconds               numeric(10, 3),
    ADD COLUMN queue_wait_seconds        numeric(10, 3),
    ADD COLUMN lookup_match              text
               CHECK (lookup_match IN ('one', 'many', 'none', 'unknown')),
    ADD COLUMN lookup_preinstallation_id text;
