"""The audit log: append-only events from agents and from the control plane itself."""
