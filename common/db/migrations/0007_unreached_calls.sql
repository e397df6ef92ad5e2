-- Calls that ended without an agent taking them: why (telephony/records.py for the inbound ones,
-- the dialer for its own). NULL for every call an agent answered.
--   ivr            the caller hung up in the menu
--   after_hours    called while closed and did not ask to be called back
--   callback       asked to be called back (after hours, or leaving the queue)
--   queue          left the queue (or it gave up on them) before an agent answered
--   no_answer, busy, failed, invalid_number, machine, abandoned
--                  a dialer call: the attempt's outcome (abandoned: answered, no agent was free)
ALTER TABLE call_records
    ADD COLUMN unreached text CHECK (unreached IN ('ivr', 'after_hours', 'callback', 'queue',
        'no_answer', 'busy', 'failed', 'invalid_number', 'machine', 'abandoned'));
