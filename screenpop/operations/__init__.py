"""Idempotent writes to WispHub for a call: state machine, outbox worker, audit."""
