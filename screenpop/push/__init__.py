"""Pop fan-out to browsers: the WebSocket protocol, the node's sockets, the Redis bus, pop routing and acks."""
