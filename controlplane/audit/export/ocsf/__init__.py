"""The audit log as OCSF 1.3.0 events: one pure function from a leaf document to an event.

Modules: ``event`` (``ocsf_event`` and the action -> mapper table), ``common`` (what every
event carries), one per class family (``authentication``, ``datastore``, ``http``, ``api``,
``findings``, ``entities``).

Classes (requirements checked against the OCSF 1.3.0 schema, see the tests):

| entries | OCSF class |
|---|---|
| sign-ins/outs, token minting and exchange, agent logins, refused connections | Auth. 3002 |
| database statements and cancel requests | Datastore Activity 6005 |
| requests on http resources (``http.request``) | HTTP Activity 4002 |
| model and tool calls (``llm.call``, ``tool.call``, MCP ``mcp.tool_call``) | API Activity 6003 |
| masking (``masking.applied``, ``masking.failed``) | Data Security Finding 2006 |
| blocked/held commands and tool calls, missing agent events | Detection Finding 2004 |
| accounts and ephemeral database roles created or dropped | Account Change 3001 |
| grants, access requests, resources, policies, keys, agents, issuers | Entity Management 3004 |
| anything else | Base Event 0 (the schema's generic event: no guessed class) |

Every event carries ``metadata.uid`` = the log seq (``metadata.sequence`` too) and
``metadata.original_time`` = the entry's own time string; ``unmapped`` holds the entry's
fields OCSF has no place for (actor and on_behalf_of as logged, the payload whole).

The on-behalf-of chain: OCSF 1.3 has no delegation object, and ``actor.invoked_by`` is
deprecated since 1.2.0 in favour of ``actor.app_name``/``app_uid`` ("the client application
or service that initiated the activity ... in conjunction with the user"). So when an AI
agent acts for a person, ``actor.user`` is that person (the user context the activity was
initiated from) and ``actor.app_name``/``app_uid`` name the agent's identity that acted;
otherwise ``actor.user`` is the identity that acted. Authentication events keep the
authenticating identity itself in ``user``.
"""

from __future__ import annotations

from controlplane.audit.export.ocsf.common import OCSF_VERSION, epoch_milliseconds
from controlplane.audit.export.ocsf.event import ocsf_event

__all__ = ["OCSF_VERSION", "epoch_milliseconds", "ocsf_event"]
