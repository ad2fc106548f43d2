"""The agent's link to the control plane: the durable audit spool and the websocket client."""

from dataplane.link.client import Backoff, ControlPlaneLink, Disconnect, LinkState
from dataplane.link.spool import Spool, SpoolError, SpoolState

__all__ = [
    "Backoff",
    "ControlPlaneLink",
    "Disconnect",
    "LinkState",
    "Spool",
    "SpoolError",
    "SpoolState",
]
