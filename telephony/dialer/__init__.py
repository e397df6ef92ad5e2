"""The dialer's executor side: pacing (how many calls to place now), the outcome of each attempt
from its AMI events, the Originate executor (`originate`), the engine that runs the campaigns
(`engine`, `campaign`, `floor`, `reservations`) and its place in the telephony process
(`runtime`). The durable store and scheduling rules are in `common.dialer`."""
