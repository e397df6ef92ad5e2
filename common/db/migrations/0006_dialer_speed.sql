-- The dialer's claim at 1,000,000 leads (scripts/bench_dialer.py measures it).

-- While some of a campaign's zones are closed the claim reads the due leads of each open zone in
-- order (common/dialer/store.py, CLAIM_BY_ZONE), never those of a closed zone; with all open it
-- reads dialer_leads_due as before.
CREATE INDEX dialer_leads_due_by_zone
    ON dialer_leads (campaign_id, time_zone, priority DESC, next_at, lead_id)
    WHERE state = 'ready';

-- The leases index is not needed: reclaim and renew read the one-call-per-number index, which
-- holds exactly the rows in 'dialing' (a few hundred at most). Without it a claim writes one
-- index entry less, and a renew, which changes only lease_until, can be a HOT update.
DROP INDEX dialer_leads_leases;

-- Room on each page for the new version of a lead (claim, finish, renew all rewrite the row),
-- so it stays on its page. It applies to pages written from now on; rows already stored move
-- as they are updated (or at once with VACUUM FULL dialer_leads, which locks the table).
--
-- The claim reads the due index from its heads, and every lead taken leaves a dead entry there
-- that only VACUUM removes: the default trigger (20 % of the table dead, i.e. 200,000 updates
-- at 1,000,000 leads) lets the heads grow to over a thousand index pages, each claim walking them.
-- Vacuum after a fixed number of dead rows instead, without throttling (a vacuum of a 1,000,000
-- lead table takes about half a second). common.dialer.upkeep does the same from the dialer
-- where autovacuum is off or its naptime too long.
ALTER TABLE dialer_leads SET (
    fillfactor = 85,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 20000,
    autovacuum_vacuum_cost_delay = 0,
    vacuum_index_cleanup = on  -- never skip the indexes: the dead entries that slow claims are there
);
