"""Preview offers of the dialer on the agent's screen: the record before it is dialled, and the
agent's *llamar* / *saltar* sent back to the engine that made the offer."""
