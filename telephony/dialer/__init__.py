"""The dialer: pure scheduling (time zones, calling windows, retries, pacing), the outcome of each
attempt from its AMI events, and the durable campaign store (PostgreSQL) the executor claims
leads from."""
