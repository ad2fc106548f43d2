"""Addons: the security and audit behaviour every protocol shares, in one explicit order."""

from __future__ import annotations

from dataplane.addons.access import AccessAddon
from dataplane.addons.audit import AuditAddon
from dataplane.addons.guardrails import GuardrailsAddon
from dataplane.addons.masking import MaskingAddon
from dataplane.core.addons import Addon
from dataplane.core.config import ConfigStore
from dataplane.core.consumed_grants import ConsumedGrants
from dataplane.core.holds import HoldDesk
from dataplane.core.session import SessionRegistry
from dataplane.link.spool import Spool
from dataplane.masking.audit_text import mask_sample_rows, mask_statement_text
from dataplane.masking.profile import PROFILES
from dataplane.masking.session import masker_for


def default_addons(
    *,
    config: ConfigStore,
    sessions: SessionRegistry,
    spool: Spool,
    consumed: ConsumedGrants,
    holds: HoldDesk,
) -> list[Addon]:
    """The chain, in order: access decides first; masking gives the session the masker its
    grant asks for; guardrails give it the statement judge of its grant's profile; audit
    records what happened (statement texts redacted)."""
    return [
        AccessAddon(config, sessions, consumed),
        MaskingAddon(config, sessions, masker_for, PROFILES.warm),
        GuardrailsAddon(config, sessions, holds),
        AuditAddon(spool, mask_statement_text, redact_rows=mask_sample_rows),
    ]
