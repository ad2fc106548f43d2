"""Agents: the data-plane registry, config snapshots and the agent websocket."""
