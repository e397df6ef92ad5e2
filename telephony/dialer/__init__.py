"""The dialer's executor side: pacing (how many calls to place now) and the outcome of each
attempt from its AMI events. The durable store and scheduling rules are in `common.dialer`."""
