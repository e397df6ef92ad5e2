"""Asterisk side: AMI listener, call tracker, publisher of call envelopes, PBX simulator."""
