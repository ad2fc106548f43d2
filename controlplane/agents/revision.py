"""The config revision and the push that tells agents it moved.

Every service that changes what a snapshot contains calls :func:`config_revision_bump`
inside its transaction. After commit, connected agents' websockets are told through the
channel layer; websockets also poll the revision, which covers changes made by another
process when the channel layer is in-memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from controlplane.agents.models import ConfigRevision
from controlplane.audit.sequencer import log_lock
from controlplane.transactions import require_transaction

if TYPE_CHECKING:
    from controlplane.agents.models import Agent


ALL_AGENTS_GROUP = "agents"
CONFIG_CHANGED = {"type": "config.changed"}


def agent_group(agent_id: object) -> str:
    """The channel-layer group of one agent's websocket(s)."""
    return f"agent.{agent_id}"


def config_revision_current() -> int:
    """The current revision (0 before the first change)."""
    value = (
        ConfigRevision.objects.filter(pk=ConfigRevision.SINGLETON)
        .values_list("value", flat=True)
        .first()
    )
    return int(value or 0)


def config_revision_bump(*, agents: Iterable[Agent] | None = None) -> None:
    """Move the revision on and, once the transaction commits, tell ``agents`` (all
    agents when None) to fetch a new snapshot. Call inside the service's transaction."""
    require_transaction("config_revision_bump")
    # Lock order: the audit sequencer's lock, then this row. Services bump and audit in
    # either order; taking both in one order keeps two of them from deadlocking.
    log_lock()
    ConfigRevision.objects.get_or_create(pk=ConfigRevision.SINGLETON)
    ConfigRevision.objects.filter(pk=ConfigRevision.SINGLETON).update(
        value=F("value") + 1, updated_at=timezone.now()
    )
    groups = [ALL_AGENTS_GROUP] if agents is None else sorted({agent_group(a.pk) for a in agents})
    # robust: a channel layer outage must not turn a committed change into an error;
    # the websockets' revision poll still delivers it.
    transaction.on_commit(partial(_notify, groups), robust=True)


def _notify(groups: list[str]) -> None:
    channel_layer = get_channel_layer()
    if channel_layer is None:
        return
    for group in groups:
        async_to_sync(channel_layer.group_send)(group, dict(CONFIG_CHANGED))
