"""What both services know of the dialer: campaigns, leads, attempts, callbacks and the
do-not-call list in PostgreSQL (`store`), and the pure rules they follow — time zones, calling
windows and holidays, retries, the outcome of an attempt. `telephony.dialer` places the calls;
`screenpop` runs the campaign pages."""
