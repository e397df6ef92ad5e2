"""Call records in PostgreSQL (tables of migration 0001), written as the call happens.

Layout, one responsibility each:
- common.records.facts   what can be said about a call (a `Fact`: one idempotent upsert) and the
                         SQL of each kind: pure, shared by every writer.
- common.records.writer  the per-process queue that batches facts into PostgreSQL (bounded, never
                         blocks, retries while the database is away) and its /metrics.
- telephony.records      the facts telephony knows (channels, agents, times, hang-up), read
                         from the AMI stream and the call updates it publishes.
- screenpop.records      the facts screenpop knows (the preinstallation, the agent's choice, the
                         guided call, WispHub actions).

Each process writes only what it knows; every upsert merges so a replayed fact leaves the same
row, and facts of the two processes may land in any order (whoever comes first creates the row).
"""
