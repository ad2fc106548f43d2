"""Audit actions of the sessions app (kept beside the app, like ``agents.actions``)."""

from enum import StrEnum


class SessionAction(StrEnum):
    # A person asked the agent serving a session to end it (the agent's own session.end
    # follows, with the reason "terminated by <name>").
    TERMINATE_REQUESTED = "session.terminate_requested"
