"""The session index: one row per agent session, projected from the agents' audit events."""
