"""The end of a call on the agent's side: the disposition, notes and callback the agent sets."""
