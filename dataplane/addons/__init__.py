"""Addons: the security and audit behaviour every protocol shares, in one explicit order."""

from __future__ import annotations

from dataplane.addons.access import AccessAddon
from dataplane.addons.audit import AuditAddon
from dataplane.core.addons import Addon
from dataplane.core.config import ConfigStore
from dataplane.core.consumed_grants import ConsumedGrants
from dataplane.core.session import SessionRegistry
from dataplane.link.spool import Spool


def default_addons(
    *, config: ConfigStore, sessions: SessionRegistry, spool: Spool, consumed: ConsumedGrants
) -> list[Addon]:
    """The chain, in order: access decides first; audit records what happened."""
    return [
        AccessAddon(config, sessions, consumed),
        AuditAddon(spool),
    ]
