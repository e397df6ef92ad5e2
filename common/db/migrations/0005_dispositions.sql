-- The agent's result of a call (disposition and notes exist since 0001): who set it and when, and
-- the callback it asked for (local date and time chosen by the agent, stored in UTC), for whom.
-- A later change overwrites; every change is also a `disposition` event of the call.
ALTER TABLE call_records
    ADD COLUMN disposition_effect text CHECK (disposition_effect IN ('final', 'retry', 'callback')),
    ADD COLUMN disposition_by     text,
    ADD COLUMN disposition_at     timestamptz,
    ADD COLUMN callback_at        timestamptz,
    -- NULL: any agent; otherwise the username the callback is for
    ADD COLUMN callback_for       text,
    ADD COLUMN callback_zone      text,
    -- a callback of a plain call (not a dialer attempt) the agent marked as done
    ADD COLUMN callback_done_at   timestamptz,
    ADD COLUMN callback_done_by   text;

-- "Mis devoluciones": the callbacks of calls that are not dialer attempts, by agent and time.
CREATE INDEX call_records_callbacks ON call_records (callback_for, callback_at)
    WHERE callback_at IS NOT NULL AND callback_done_at IS NULL;
