"""Prometheus metrics of one web app, in a registry of its own (several apps per process in tests)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.pops_sent = Counter("screenpop_pops_sent", "Pop messages written to browser sockets",
                                 registry=self.registry)
        self.sockets = Gauge("screenpop_sockets", "Browser WebSockets connected to this node",
                             registry=self.registry)
        self.slow_dropped = Counter("screenpop_slow_sockets_dropped",
                                    "Sockets closed because the browser did not keep up",
                                    registry=self.registry)
        self.bus_messages = Counter("screenpop_bus_messages", "Messages read from Redis pub/sub",
                                    ["channel"], registry=self.registry)
        self.errors = Counter("screenpop_errors", "Errors by where they happened", ["where"],
                              registry=self.registry)

        self.ack_latency = Histogram(
            "screenpop_pop_ack_seconds", "From the telephony event to the first browser ack of a pop",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0), registry=self.registry)
        self.unacked = Counter("screenpop_pops_unacknowledged",
                               "Pops no tab of the agent acknowledged within the ack deadline",
                               registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
