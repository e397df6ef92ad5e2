"""The contract shared by `telephony` and `screenpop`: Redis key names, the call envelope,
phone-number normalisation and small pure helpers. Neither service imports the other."""
